"""/images on the compute endpoint (until 2.35): upstream's shapes, visibility, metadata."""

from __future__ import annotations

import uuid

import jsonschema
from tempest.lib.api_schema.response.compute.v2_1 import images as schemas

from cli.embedded import EmbeddedCloud
from tests.functional.compute.conftest import client_for


def _image(client: object, name: str, visibility: str) -> str:
    http = client.http  # type: ignore[attr-defined]
    made = http.post("/image/v2/images", json={
        "name": name, "disk_format": "raw", "container_format": "bare",
        "visibility": visibility, "min_ram": 16, "os_distro": "tiny"})
    assert made.status_code == 201, made.text
    image_id = str(made.json()["id"])
    put = http.put(f"/image/v2/images/{image_id}/file", content=b"\0" * 100,
                   headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 204
    return image_id


def test_images_read_as_upstreams_proxy_until_2_35(shared_cloud: EmbeddedCloud) -> None:
    shared_client = client_for(shared_cloud, "admin:admin", "2.35")
    owner = client_for(shared_cloud, "img-owner:img-a", "2.35")
    other = client_for(shared_cloud, "img-other:img-b", "2.35")
    try:
        private = _image(owner, f"priv-{uuid.uuid4().hex[:6]}", "private")
        public = _image(shared_client, f"pub-{uuid.uuid4().hex[:6]}", "public")
        brief = owner.compute("GET", "/images")
        assert brief.status_code == 200
        jsonschema.validate(brief.json(), schemas.list_images["response_body"])
        assert {private, public} <= {i["id"] for i in brief.json()["images"]}
        detail = owner.compute("GET", "/images/detail").json()
        jsonschema.validate(detail, schemas.list_images_details["response_body"])
        shown = owner.compute("GET", f"/images/{private}")
        jsonschema.validate(shown.json(), schemas.get_image["response_body"])
        image = shown.json()["image"]
        assert (image["status"], image["progress"], image["minRam"]) == ("ACTIVE", 100, 16)
        assert image["metadata"] == {"os_distro": "tiny"}
        # Another project sees the public image only.
        theirs = {i["id"] for i in other.compute("GET", "/images").json()["images"]}
        assert public in theirs and private not in theirs
        assert other.compute("GET", f"/images/{private}").status_code == 404
        assert other.compute("DELETE", f"/images/{public}").status_code == 403
        # Metadata: set, show an item, delete an item.
        meta = owner.compute("POST", f"/images/{private}/metadata",
                             json={"metadata": {"color": "red"}})
        assert meta.status_code == 200 and meta.json()["metadata"]["color"] == "red"
        item = owner.compute("GET", f"/images/{private}/metadata/color")
        assert item.json() == {"meta": {"color": "red"}}
        assert owner.compute("DELETE", f"/images/{private}/metadata/color").status_code == 204
        assert owner.compute("GET", f"/images/{private}/metadata/color").status_code == 404
        # Filters by image type and by server (its uuid or its URL), as upstream's proxy.
        snap = owner.http.post("/image/v2/images", json={
            "name": "snap", "disk_format": "raw", "container_format": "bare",
            "visibility": "private", "image_type": "snapshot",
            "instance_uuid": "3c9d8f0a-0000-4000-8000-000000000001"}).json()["id"]
        for query in ("type=snapshot", "server=3c9d8f0a-0000-4000-8000-000000000001",
                      "server=http://x/servers/3c9d8f0a-0000-4000-8000-000000000001"):
            found = {i["id"] for i in owner.compute("GET", f"/images?{query}").json()["images"]}
            assert found == {snap}, query
        assert owner.compute("DELETE", "/images/").status_code == 404
        assert owner.compute("DELETE", f"/images/{snap}").status_code == 204
        # Paging with a marker, and gone from 2.36.
        first = owner.compute("GET", "/images?limit=1").json()["images"]
        assert len(first) == 1
        after = owner.compute("GET", f"/images?marker={first[0]['id']}").json()["images"]
        assert first[0]["id"] not in {i["id"] for i in after}
        later = client_for(shared_cloud, "img-owner:img-a", "2.36")
        assert later.compute("GET", "/images").status_code == 404
        later.close()
        for client, image_id in ((owner, private), (shared_client, public)):
            assert client.compute("DELETE", f"/images/{image_id}").status_code == 204
            assert client.http.get(f"/image/v2/images/{image_id}").status_code == 404
    finally:
        for client in (owner, other, shared_client):
            client.close()
