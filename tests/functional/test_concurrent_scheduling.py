"""Concurrent decisions of one scheduler see each other's claims: a burst spreads."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.cloud import CloudClient


def test_a_burst_of_concurrent_boots_spreads_evenly_over_the_hosts(
        client: CloudClient) -> None:
    # Four simulated hosts with room for many: nothing but the spreading keeps a burst
    # of same-sized builds from piling onto the host that looked emptiest to each.
    flavor = client.create_flavor()
    image = client.create_image()
    resp = client.compute("PUT", "/os-quota-sets/admin", json={"quota_set": {
        "instances": -1, "cores": -1, "ram": -1}})
    assert resp.status_code == 200, resp.text

    def one(i: int) -> str:
        resp = client.compute("POST", "/servers", json={"server": {
            "name": f"b{i}", "flavorRef": flavor, "imageRef": image, "networks": "none"}})
        assert resp.status_code == 202, resp.text
        server = client.wait_status(resp.json()["server"]["id"], {"ACTIVE", "ERROR"})
        assert server["status"] == "ACTIVE", server.get("fault")
        return str(server["OS-EXT-SRV-ATTR:host"])

    with ThreadPoolExecutor(10) as pool:
        hosts = Counter(pool.map(one, range(20)))
    assert len(hosts) == 4
    # Fair share is 5; within 20% of it.
    assert max(hosts.values()) <= 6, hosts
