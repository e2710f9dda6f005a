"""``[auth] strategy = keystone`` against a real Keystone v3: another cloud's /identity.

Cloud one runs the builtin identity; cloud two validates every token (compute, image,
placement, and its own services' calls to placement) with cloud one's Keystone API,
as a service user with the admin role on the ``service`` project.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from cli.embedded import EmbeddedCloud
from common.auth import TokenSigner, key_path, load_key
from tests.conftest import cloud_settings, running_cloud
from tests.functional.compute.conftest import ADMIN_PASSWORD, password_token


@dataclass
class Pair:
    keystone: EmbeddedCloud
    cloud: EmbeddedCloud
    tokens: dict[str, str]

    def call(self, who: str | None, method: str, path: str, body: Any = None,
             token: str | None = None) -> httpx.Response:
        headers = {"OpenStack-API-Version": "compute 2.73"}
        if path.startswith("/placement"):
            headers = {"OpenStack-API-Version": "placement 1.39"}
        if token or who:
            headers["X-Auth-Token"] = token or self.tokens[str(who)]
        return httpx.request(method, f"{self.cloud.base_url}{path}", json=body,
                             headers=headers, timeout=30)


def _grant(ks: EmbeddedCloud, admin: str, user: str, project: str, role: str) -> None:
    base, headers = f"{ks.base_url}/identity/v3", {"X-Auth-Token": admin}
    found = httpx.get(f"{base}/projects?name={project}", headers=headers, timeout=30)
    projects = found.json()["projects"]
    if projects:
        project_id = projects[0]["id"]
    else:
        made = httpx.post(f"{base}/projects", json={"project": {"name": project}},
                          headers=headers, timeout=30)
        assert made.status_code == 201, made.text
        project_id = made.json()["project"]["id"]
    created = httpx.post(f"{base}/users", json={"user": {"name": user,
                                                         "password": f"pw-{user}"}},
                         headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    user_id = created.json()["user"]["id"]
    grant = httpx.put(f"{base}/projects/{project_id}/users/{user_id}/roles/{role}",
                      headers=headers, timeout=30)
    assert grant.status_code == 204, grant.text


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    one = cloud_settings(tmp_path_factory.mktemp("keystone"), "sqlite-memory", fake_hosts=1)
    one.auth = one.auth.model_copy(update={"strategy": "builtin"})
    one.identity = one.identity.model_copy(update={"admin_password": ADMIN_PASSWORD})
    with running_cloud(one) as keystone:
        admin = password_token(keystone.base_url, "admin", ADMIN_PASSWORD, "admin")
        admin_token = admin.headers["X-Subject-Token"]
        _grant(keystone, admin_token, "ks-service", "service", "admin")
        _grant(keystone, admin_token, "ks-reader", "ks-a", "reader")
        _grant(keystone, admin_token, "ks-member", "ks-a", "member")
        tokens = {"admin": admin_token}
        for who in ("reader", "member"):
            issued = password_token(keystone.base_url, f"ks-{who}", f"pw-ks-{who}", "ks-a")
            assert issued.status_code == 201, issued.text
            tokens[who] = issued.headers["X-Subject-Token"]
        two = cloud_settings(tmp_path_factory.mktemp("keystone-user"), "sqlite-memory",
                             fake_hosts=1)
        two.auth = two.auth.model_copy(update={"strategy": "keystone"})
        two.keystone = two.keystone.model_copy(update={
            "auth_url": f"{keystone.identity_url}/v3", "username": "ks-service",
            "password": "pw-ks-service", "project_name": "service", "cache_ttl": 60.0})
        with running_cloud(two) as cloud:
            yield Pair(keystone, cloud, tokens)


def test_password_tokens_of_the_keystone_work_and_roles_flow_into_policy(pair: Pair) -> None:
    assert pair.call("reader", "GET", "/compute/v2.1/servers").status_code == 200
    refused = pair.call("reader", "POST", "/compute/v2.1/servers", {"server": {"name": "x"}})
    assert refused.status_code == 403
    assert "os_compute_api:servers:create" in refused.json()["forbidden"]["message"]
    assert pair.call("member", "POST", "/compute/v2.1/flavors", {"flavor": {
        "name": "ks", "ram": 64, "vcpus": 1, "disk": 0, "id": "ks"}}).status_code == 403
    made = pair.call("admin", "POST", "/compute/v2.1/flavors", {"flavor": {
        "name": "ks", "ram": 64, "vcpus": 1, "disk": 0, "id": "ks"}})
    assert made.status_code == 200, made.text
    assert pair.call("member", "GET", "/placement/resource_providers").status_code == 403
    assert pair.call("admin", "GET", "/placement/resource_providers").status_code == 200


def test_a_member_boots_a_server_and_services_reach_placement(pair: Pair) -> None:
    image = pair.call("member", "POST", "/image/v2/images", {
        "name": "ks-img", "disk_format": "raw", "container_format": "bare"})
    assert image.status_code == 201, image.text
    image_id = image.json()["id"]
    upload = httpx.put(f"{pair.cloud.base_url}/image/v2/images/{image_id}/file",
                       content=b"\0" * 512, timeout=30, headers={
                           "X-Auth-Token": pair.tokens["member"],
                           "Content-Type": "application/octet-stream"})
    assert upload.status_code == 204, upload.text
    flavor = pair.call("admin", "GET", "/compute/v2.1/flavors/ks-boot")
    if flavor.status_code == 404:
        assert pair.call("admin", "POST", "/compute/v2.1/flavors", {"flavor": {
            "name": "ks-boot", "ram": 64, "vcpus": 1, "disk": 0,
            "id": "ks-boot"}}).status_code == 200
    boot = pair.call("member", "POST", "/compute/v2.1/servers", {"server": {
        "name": "ks-vm", "flavorRef": "ks-boot", "imageRef": image_id, "networks": "none"}})
    assert boot.status_code == 202, boot.text
    server_id = boot.json()["server"]["id"]
    server = _wait_active(pair, server_id)
    # The scheduler claimed in placement with the service user's Keystone token.
    assert server["status"] == "ACTIVE"
    usages = pair.call("admin", "GET", f"/placement/allocations/{server_id}").json()
    assert sum(a["resources"]["MEMORY_MB"] for a in usages["allocations"].values()) == 64
    assert [s["id"] for s in pair.call("reader", "GET", "/compute/v2.1/servers").json()[
        "servers"]] == [server_id]
    assert pair.call("member", "DELETE", f"/compute/v2.1/servers/{server_id}"
                     ).status_code == 204


def _wait_active(pair: Pair, server_id: str) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + 60
    while True:
        server: dict[str, Any] = pair.call("member", "GET",
                                           f"/compute/v2.1/servers/{server_id}").json()["server"]
        if server["status"] in ("ACTIVE", "ERROR") or time.monotonic() > deadline:
            return server
        time.sleep(0.1)


@pytest.mark.parametrize("path", ["/compute/v2.1/servers", "/image/v2/images",
                                  "/placement/resource_providers"])
def test_bad_and_expired_tokens_get_401_pointing_at_the_keystone(pair: Pair, path: str
                                                                 ) -> None:
    signer = TokenSigner(load_key(key_path(pair.keystone.settings)))
    expired, _ = signer.issue("someone", "ks-a", ("admin",), ttl=-1)
    for token in ("not-a-token", expired, pair.tokens["admin"][:-4] + "AAAA"):
        resp = pair.call(None, "GET", path, token=token)
        assert resp.status_code == 401, (token, resp.text)
        assert resp.headers["WWW-Authenticate"] == \
            f'Keystone uri="{pair.keystone.identity_url}/v3"'
    assert pair.call(None, "GET", path).status_code == 401


def test_the_keystone_user_serves_no_identity_api(pair: Pair) -> None:
    assert httpx.get(f"{pair.cloud.base_url}/identity/v3", timeout=30).status_code == 404
