"""Small helpers shared by the compute API tests."""

from __future__ import annotations

from tests.cloud import CloudClient


def public_image(admin: CloudClient, name: str = "public-image") -> str:
    resp = admin.http.post("/image/v2/images", json={
        "name": name, "disk_format": "raw", "container_format": "bare",
        "visibility": "public"})
    assert resp.status_code == 201, resp.text
    image_id = str(resp.json()["id"])
    put = admin.http.put(f"/image/v2/images/{image_id}/file", content=b"\0" * 512,
                         headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 204, put.text
    return image_id


def ensure_flavor(admin: CloudClient, name: str, ram: int = 256, vcpus: int = 1) -> str:
    resp = admin.compute("GET", f"/flavors/{name}")
    if resp.status_code == 200:
        return name
    return admin.create_flavor(name, ram=ram, vcpus=vcpus, disk=1)


def set_quota(admin: CloudClient, project: str, **limits: int) -> None:
    resp = admin.compute("PUT", f"/os-quota-sets/{project}", json={"quota_set": limits})
    assert resp.status_code == 200, resp.text
