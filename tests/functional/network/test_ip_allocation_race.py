"""Concurrent port creates on a small subnet: each address once, then clean 409s.

The unique (subnet_id, ip_address) constraint is the guarantee: requests from many
projects on one shared /26 race for its 61 free addresses (62 usable minus the gateway).
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy.orm import Session, sessionmaker

from cli.embedded import EmbeddedCloud
from common.compute_db.network_models import Port, Subnet
from common.db import transaction
from compute_api.network import ipam
from compute_api.network.common import as_uuid
from compute_api.network.faults import IpAddressGenerationFailure
from tests.functional.network.conftest import Net

REQUESTS = 100
PROJECTS = 10


def test_100_concurrent_port_creates_on_a_26(net_cloud: EmbeddedCloud, admin: Net) -> None:
    net = admin.network(shared=True)
    sub = admin.subnet(net["id"], "10.200.0.0/26")
    start = threading.Barrier(REQUESTS)

    def create(i: int) -> httpx.Response:
        with httpx.Client(base_url=f"{net_cloud.base_url}/networking", timeout=120,
                          headers={"X-Auth-Token": f"u{i}:race-{i % PROJECTS}"}) as http:
            start.wait()
            return http.post("/v2.0/ports", json={"port": {"network_id": net["id"]}})

    with ThreadPoolExecutor(REQUESTS) as pool:
        answers = list(pool.map(create, range(REQUESTS)))
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {201: 61, 409: 39}, statuses
    ips = [r.json()["port"]["fixed_ips"][0]["ip_address"] for r in answers
           if r.status_code == 201]
    assert len(set(ips)) == 61 and "10.200.0.1" not in ips
    assert {r.json()["NeutronError"]["type"] for r in answers if r.status_code == 409} == {
        "IpAddressGenerationFailure"}
    listed = admin.get("/ports", params={"network_id": net["id"]}).json()["ports"]
    assert len(listed) == 61
    for port in listed:
        assert admin.delete(f"/ports/{port['id']}").status_code == 204
    assert admin.delete(f"/subnets/{sub['id']}").status_code == 204
    assert admin.delete(f"/networks/{net['id']}").status_code == 204


def test_concurrent_sessions_allocate_each_address_once(db: sessionmaker[Session],
                                                        admin: Net) -> None:
    """The domain allocator itself, in concurrent transactions without any lock."""
    net = admin.network()
    sub = admin.subnet(net["id"], "10.201.0.0/28")  # 13 free addresses
    ports = [admin.port(net["id"], fixed_ips=[]) for _ in range(20)]
    start = threading.Barrier(len(ports))

    def allocate(port_id: str) -> str | None:
        start.wait()
        try:
            with transaction(db) as session:
                port = session.get(Port, as_uuid(port_id))
                subnet = session.get(Subnet, as_uuid(sub["id"]))
                assert port is not None and subnet is not None
                return ipam.allocate(session, port, subnet)
        except IpAddressGenerationFailure:
            return None

    with ThreadPoolExecutor(len(ports)) as pool:
        got = list(pool.map(allocate, [p["id"] for p in ports]))
    given = [ip for ip in got if ip is not None]
    assert len(given) == 13 and len(set(given)) == 13
