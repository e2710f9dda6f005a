"""Booting applies the image API's visibility rules to ``imageRef``.

A project must not boot (and then snapshot into an image of its own) another project's
private or shared image; public and community images are everyone's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.functional.compute.conftest import client_for
from tests.functional.compute.helpers import ensure_flavor


@pytest.fixture
def owner(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    client = client_for(shared_cloud, "alice:vis-owner", version="2.47")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def stranger(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    client = client_for(shared_cloud, "mallory:vis-stranger", version="2.47")
    try:
        yield client
    finally:
        client.close()


def _image(client: CloudClient, visibility: str | None) -> str:
    body = {"name": f"img-{visibility}", "disk_format": "raw", "container_format": "bare"}
    if visibility is not None:
        body["visibility"] = visibility
    resp = client.http.post("/image/v2/images", json=body)
    assert resp.status_code == 201, resp.text
    image_id = str(resp.json()["id"])
    put = client.http.put(f"/image/v2/images/{image_id}/file", content=b"\0" * 512,
                          headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 204, put.text
    return image_id


def _count(client: CloudClient) -> int:
    return len(client.compute("GET", "/servers").json()["servers"])


@pytest.mark.parametrize("visibility", ["private", "shared", None])
def test_another_projects_private_image_cannot_be_booted(
        shared_client: CloudClient, owner: CloudClient, stranger: CloudClient,
        visibility: str | None) -> None:
    flavor = ensure_flavor(shared_client, "vis.tiny", ram=64)
    image = _image(owner, visibility)
    before = _count(stranger)
    resp = stranger.compute("POST", "/servers", json={"server": {
        "name": "steal", "flavorRef": flavor, "imageRef": image, "networks": "none"}})
    assert resp.status_code == 400, resp.text
    assert resp.json()["badRequest"]["message"] == "Can not find requested image"
    assert _count(stranger) == before  # nothing was written
    assert stranger.http.get(f"/image/v2/images/{image}").status_code == 404
    # The owner boots it, and so does an admin.
    mine = owner.boot(flavor, image)
    admins = shared_client.boot(flavor, image)
    for client, server in ((owner, mine), (shared_client, admins)):
        assert client.wait_status(server, {"ACTIVE", "ERROR"})["status"] == "ACTIVE"
        assert client.compute("DELETE", f"/servers/{server}").status_code == 204
    for server in (mine, admins):
        shared_client.wait_gone(server)


@pytest.mark.parametrize("visibility", ["public", "community"])
def test_public_and_community_images_boot_anywhere(
        shared_client: CloudClient, stranger: CloudClient, visibility: str) -> None:
    flavor = ensure_flavor(shared_client, "vis.tiny", ram=64)
    image = _image(shared_client, visibility)
    server = stranger.boot(flavor, image)
    assert stranger.wait_status(server, {"ACTIVE", "ERROR"})["status"] == "ACTIVE"
    assert stranger.compute("DELETE", f"/servers/{server}").status_code == 204
    stranger.wait_gone(server)


def test_image_tasks_are_listed_for_those_who_see_the_image(
        owner: CloudClient, stranger: CloudClient) -> None:
    image_id = _image(owner, None)
    resp = owner.http.get(f"/image/v2/images/{image_id}/tasks")
    assert (resp.status_code, resp.json()) == (200, {"tasks": []})
    assert stranger.http.get(f"/image/v2/images/{image_id}/tasks").status_code == 404
    assert owner.http.get(f"/image/v2/images/{uuid.uuid4()}/tasks").status_code == 404
    owner.http.delete(f"/image/v2/images/{image_id}")
