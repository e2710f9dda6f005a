"""``[images] backend = glance``: imageRef resolved by an external Glance v2.

The "Glance" is another cloud's built-in image API. As two services behind one Keystone,
the image cloud validates every token with the compute cloud's identity API
(``[auth] strategy = keystone``), so Glance sees the caller's project and roles.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from cli.embedded import EmbeddedCloud
from compute_agent.images import image_api_url
from tests.conftest import cloud_settings, running_cloud
from tests.functional.compute.conftest import ADMIN_PASSWORD, password_token
from tests.functional.compute.two_clouds import free_port, identity_user, validated_by


@dataclass
class Clouds:
    glance: EmbeddedCloud
    nova: EmbeddedCloud
    admin: str  # the compute cloud's admin token (valid at both)
    member: str  # a member of another project of the compute cloud
    catalog: list[dict[str, Any]]


@pytest.fixture(scope="module")
def clouds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clouds]:
    glance_port = free_port()
    two = cloud_settings(tmp_path_factory.mktemp("nova"), "sqlite-memory", fake_hosts=1)
    two.auth = two.auth.model_copy(update={"strategy": "builtin"})
    two.identity = two.identity.model_copy(update={"admin_password": ADMIN_PASSWORD})
    two.images = two.images.model_copy(update={
        "backend": "glance", "glance_url": f"http://127.0.0.1:{glance_port}/image"})
    with running_cloud(two) as nova:
        issued = password_token(nova.base_url, "admin", ADMIN_PASSWORD, "admin")
        assert issued.status_code == 201, issued.text
        admin = issued.headers["X-Subject-Token"]
        identity_user(nova, admin, "gl-service", "service", "admin")
        one = cloud_settings(tmp_path_factory.mktemp("glance"), "sqlite-memory",
                             fake_hosts=1, host="glance-host")
        validated_by(one, nova, "gl-service", glance_port)
        with running_cloud(one) as glance:
            yield Clouds(glance, nova, admin, _member(nova, admin),
                         issued.json()["token"]["catalog"])


def _member(nova: EmbeddedCloud, admin: str) -> str:
    return identity_user(nova, admin, "gl-m", "gl-p", "member")


def _upload(clouds: Clouds, token: str, name: str, visibility: str = "private") -> str:
    headers = {"X-Auth-Token": token}
    made = httpx.post(f"{clouds.glance.image_url}/v2/images", headers=headers, timeout=30,
                      json={"name": name, "disk_format": "raw", "container_format": "bare",
                            "visibility": visibility, "min_ram": 32, "os_distro": "test"})
    assert made.status_code == 201, made.text
    image_id = str(made.json()["id"])
    put = httpx.put(f"{clouds.glance.image_url}/v2/images/{image_id}/file", content=b"\0" * 64,
                    headers={**headers, "Content-Type": "application/octet-stream"}, timeout=30)
    assert put.status_code == 204, put.text
    return image_id


def _boot(clouds: Clouds, image_id: str, token: str | None = None) -> httpx.Response:
    headers = {"X-Auth-Token": clouds.admin, "OpenStack-API-Version": "compute 2.73"}
    base = f"{clouds.nova.compute_url}"
    if httpx.get(f"{base}/flavors/gl", headers=headers, timeout=30).status_code == 404:
        made = httpx.post(f"{base}/flavors", headers=headers, timeout=30, json={"flavor": {
            "name": "gl", "ram": 64, "vcpus": 1, "disk": 0, "id": "gl"}})
        assert made.status_code == 200, made.text
    headers["X-Auth-Token"] = token or clouds.admin
    return httpx.post(f"{base}/servers", headers=headers, timeout=30, json={"server": {
        "name": "gl-vm", "flavorRef": "gl", "imageRef": image_id, "networks": "none"}})


def test_image_ref_is_resolved_by_the_external_glance(clouds: Clouds) -> None:
    image_id = _upload(clouds, clouds.admin, "gl-img")
    boot = _boot(clouds, image_id)
    assert boot.status_code == 202, boot.text
    server_id = boot.json()["server"]["id"]
    headers = {"X-Auth-Token": clouds.admin, "OpenStack-API-Version": "compute 2.73"}
    deadline = time.monotonic() + 60
    while True:
        server = httpx.get(f"{clouds.nova.compute_url}/servers/{server_id}", headers=headers,
                           timeout=30).json()["server"]
        if server["status"] == "ACTIVE" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert server["status"] == "ACTIVE"
    assert server["image"]["id"] == image_id
    gone = httpx.delete(f"{clouds.nova.compute_url}/servers/{server_id}", headers=headers,
                        timeout=30)
    assert gone.status_code == 204


def test_images_glance_hides_or_lacks_are_refused(clouds: Clouds) -> None:
    # Private to the admin project: invisible to the caller's project.
    hidden = _upload(clouds, clouds.admin, "gl-hidden")
    for image_id in (hidden, "6b0cbd68-5bd5-4cfa-9c8c-6c5a5c1b8f8e"):
        resp = _boot(clouds, image_id, clouds.member)
        assert resp.status_code == 400, resp.text
        assert resp.json()["badRequest"]["message"] == "Can not find requested image"
    queued = httpx.post(f"{clouds.glance.image_url}/v2/images", timeout=30,
                        headers={"X-Auth-Token": clouds.member},
                        json={"name": "gl-queued", "disk_format": "raw",
                              "container_format": "bare"}).json()["id"]
    resp = _boot(clouds, queued, clouds.member)
    assert resp.status_code == 400 and "is not active" in resp.text
    # The same hidden image is visible to an admin, whom Glance shows everything.
    assert _boot(clouds, hidden).status_code == 202


def test_builtin_image_api_is_not_served_and_catalog_points_at_glance(clouds: Clouds) -> None:
    local = httpx.get(f"{clouds.nova.base_url}/image/v2/images", timeout=30,
                      headers={"X-Auth-Token": clouds.admin})
    assert local.status_code == 404
    (image,) = [s for s in clouds.catalog if s["type"] == "image"]
    assert {e["url"] for e in image["endpoints"]} == {clouds.glance.image_url}
    # Compute hosts fetch image data from the same Glance.
    assert image_api_url(clouds.nova.settings) == clouds.glance.image_url
