"""Server groups are honoured by the scheduler, also under concurrent builds."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.cloud import CloudClient


def _group(client: CloudClient, policy: str) -> str:
    resp = client.compute("POST", "/os-server-groups", json={
        "server_group": {"name": f"g-{policy}", "policies": [policy]}})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["server_group"]["id"])


def _boot_in(client: CloudClient, flavor: str, image: str, group: str, n: int
             ) -> list[dict[str, Any]]:
    def one(i: int) -> dict[str, Any]:
        resp = client.compute("POST", "/servers", json={
            "server": {"name": f"m{i}", "flavorRef": flavor, "imageRef": image,
                       "networks": "none"},
            "os:scheduler_hints": {"group": group}})
        assert resp.status_code == 202, resp.text
        return client.wait_status(resp.json()["server"]["id"], {"ACTIVE", "ERROR"})

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_concurrent_anti_affinity_members_land_on_distinct_hosts(client: CloudClient) -> None:
    flavor = client.create_flavor()
    image = client.create_image()
    group = _group(client, "anti-affinity")

    servers = _boot_in(client, flavor, image, group, 4)

    assert {s["status"] for s in servers} == {"ACTIVE"}
    assert len({s["OS-EXT-SRV-ATTR:host"] for s in servers}) == 4
    fifth = _boot_in(client, flavor, image, group, 1)[0]
    assert fifth["status"] == "ERROR"
    assert "4 hosts removed by ServerGroupAntiAffinityFilter" in fifth["fault"]["message"]


def test_concurrent_affinity_members_share_one_host(client: CloudClient) -> None:
    flavor = client.create_flavor()
    image = client.create_image()
    group = _group(client, "affinity")

    servers = _boot_in(client, flavor, image, group, 4)

    assert {s["status"] for s in servers} == {"ACTIVE"}
    assert len({s["OS-EXT-SRV-ATTR:host"] for s in servers}) == 1
