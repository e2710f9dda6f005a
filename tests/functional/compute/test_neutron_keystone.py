"""``[network] backend = neutron`` as deployed: the compute cloud's own identity API is
the Keystone of both, and the "Neutron" (another cloud's network API) validates every
token with it (``[auth] strategy = keystone``).

The API checks a member's network with the member's token; the conductor makes the port
with the compute cloud's service token, which Neutron accepts as an admin's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from cli.embedded import EmbeddedCloud
from tests.conftest import cloud_settings, running_cloud
from tests.functional.compute.conftest import ADMIN_PASSWORD, password_token
from tests.functional.compute.two_clouds import free_port, identity_user, validated_by


@dataclass
class Clouds:
    neutron: EmbeddedCloud
    nova: EmbeddedCloud
    admin: str
    member: str
    outsider: str


@pytest.fixture(scope="module")
def clouds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clouds]:
    neutron_port, nova_port = free_port(), free_port()
    two = cloud_settings(tmp_path_factory.mktemp("nova"), "sqlite-memory", fake_hosts=1)
    two.api = two.api.model_copy(update={"port": nova_port})
    two.auth = two.auth.model_copy(update={"strategy": "builtin"})
    two.identity = two.identity.model_copy(update={"admin_password": ADMIN_PASSWORD})
    two.network = two.network.model_copy(update={
        "backend": "neutron", "neutron_url": f"http://127.0.0.1:{neutron_port}/networking",
        # The conductor's own user at Neutron (made below, before the first build).
        "neutron_username": "nt-nova", "neutron_password": "pw-nt-nova",
        "neutron_auth_url": f"http://127.0.0.1:{nova_port}/identity/v3"})
    with running_cloud(two) as nova:
        issued = password_token(nova.base_url, "admin", ADMIN_PASSWORD, "admin")
        assert issued.status_code == 201, issued.text
        admin = issued.headers["X-Subject-Token"]
        identity_user(nova, admin, "nt-service", "service", "admin")
        identity_user(nova, admin, "nt-nova", "service", "admin")
        one = cloud_settings(tmp_path_factory.mktemp("neutron"), "sqlite-memory",
                             fake_hosts=1, host="neutron-host")
        validated_by(one, nova, "nt-service", neutron_port)
        with running_cloud(one) as neutron:
            yield Clouds(neutron, nova, admin, identity_user(nova, admin, "nt-m", "nt-p", "member"),
                         identity_user(nova, admin, "nt-o", "nt-q", "member"))


def _net(clouds: Clouds, token: str, method: str, path: str, body: object = None
         ) -> httpx.Response:
    return httpx.request(method, f"{clouds.neutron.base_url}/networking/v2.0{path}",
                         json=body, headers={"X-Auth-Token": token}, timeout=30)


def _compute(clouds: Clouds, token: str, method: str, path: str, body: object = None
             ) -> httpx.Response:
    return httpx.request(method, f"{clouds.nova.compute_url}{path}", json=body, timeout=30,
                         headers={"X-Auth-Token": token,
                                  "OpenStack-API-Version": "compute 2.73"})


def test_a_members_server_gets_its_port_from_the_external_neutron(clouds: Clouds) -> None:
    made = _net(clouds, clouds.member, "POST", "/networks", {"network": {"name": "ks"}})
    assert made.status_code == 201, made.text
    net = made.json()["network"]
    sub = _net(clouds, clouds.member, "POST", "/subnets", {"subnet": {
        "network_id": net["id"], "cidr": "10.60.0.0/24", "ip_version": 4}})
    assert sub.status_code == 201, sub.text
    flavor = _compute(clouds, clouds.admin, "POST", "/flavors", {"flavor": {
        "name": "ks", "ram": 64, "vcpus": 1, "disk": 0, "id": "ks"}})
    assert flavor.status_code == 200, flavor.text
    body = {"server": {"name": "ks-vm", "flavorRef": "ks", "networks": [{"uuid": net["id"]}],
                       "imageRef": _image(clouds)}}
    # Another project cannot name the member's network: Neutron hides it from its token.
    refused = _compute(clouds, clouds.outsider, "POST", "/servers", body)
    assert refused.status_code == 400, refused.text
    boot = _compute(clouds, clouds.member, "POST", "/servers", body)
    assert boot.status_code == 202, boot.text
    server_id = boot.json()["server"]["id"]
    deadline = time.monotonic() + 60
    while True:
        server = _compute(clouds, clouds.member, "GET", f"/servers/{server_id}").json()[
            "server"]
        if server["status"] in ("ACTIVE", "ERROR") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert server["status"] == "ACTIVE", server
    ports = _net(clouds, clouds.member, "GET", f"/ports?device_id={server_id}").json()[
        "ports"]
    assert len(ports) == 1 and ports[0]["network_id"] == net["id"]
    assert server["addresses"]["ks"][0]["addr"] == ports[0]["fixed_ips"][0]["ip_address"]
    assert _compute(clouds, clouds.member, "DELETE", f"/servers/{server_id}"
                    ).status_code == 204
    deadline = time.monotonic() + 30
    while _net(clouds, clouds.member, "GET", f"/ports?device_id={server_id}").json()[
            "ports"]:
        assert time.monotonic() < deadline, "the server's port was not released"
        time.sleep(0.1)


def _image(clouds: Clouds) -> str:
    headers = {"X-Auth-Token": clouds.admin}
    made = httpx.post(f"{clouds.nova.image_url}/v2/images", headers=headers, timeout=30,
                      json={"name": "ks-img", "disk_format": "raw",
                            "container_format": "bare", "visibility": "public"})
    assert made.status_code == 201, made.text
    image_id = str(made.json()["id"])
    put = httpx.put(f"{clouds.nova.image_url}/v2/images/{image_id}/file", content=b"\0" * 64,
                    headers={**headers, "Content-Type": "application/octet-stream"},
                    timeout=30)
    assert put.status_code == 204, put.text
    return image_id
