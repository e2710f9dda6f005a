"""Committed network changes are pushed to the hosts with a data plane (network_push.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from cli.embedded import EmbeddedCloud
from common.compute_db.models import ComputeNode
from common.db import transaction
from compute_agent.manager import ComputeManager
from tests.cloud import CloudClient
from tests.functional.network.conftest import Net
from tests.functional.network.test_servers_on_networks import _boot


class Told:
    """The hosts told to converge, as their agents' managers were."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.event = threading.Event()

    def record(self, manager: ComputeManager) -> None:
        self.hosts.append(manager.host)
        self.event.set()

    def wait(self, timeout: float = 10) -> list[str]:
        assert self.event.wait(timeout), "no host was told to converge"
        time.sleep(0.3)  # the casts to every host told have arrived
        hosts = sorted(self.hosts)
        self.hosts.clear()
        self.event.clear()
        return hosts

    def none_within(self, seconds: float) -> bool:
        return not self.event.wait(seconds)


@pytest.fixture
def told(monkeypatch: pytest.MonkeyPatch) -> Told:
    seen = Told()
    def refresh_network(manager: ComputeManager) -> None:
        seen.record(manager)

    monkeypatch.setattr(ComputeManager, "refresh_network", refresh_network)
    return seen


@pytest.fixture
def real_host(db: sessionmaker[Session]) -> Iterator[list[str]]:
    """Makes the host named in the list (once the test sets it) look like a real one."""
    named: list[str] = []
    yield named
    with transaction(db) as session:
        session.execute(sa.update(ComputeNode).where(ComputeNode.host.in_(named))
                        .values(hypervisor_type="fake"))


def test_changes_to_rules_groups_and_floating_ips_reach_the_hosts_of_bound_ports(
        net_cloud: EmbeddedCloud, compute: CloudClient, member: Net,
        boot_refs: tuple[str, str],
        db: sessionmaker[Session], told: Told, real_host: list[str]) -> None:
    net = member.network(name="pushed")
    member.subnet(net["id"], "10.71.0.0/24")
    booted = _boot(compute, boot_refs, [{"uuid": net["id"]}])
    assert booted["status"] == 202, booted
    server_id = booted["body"]["server"]["id"]
    compute.wait_status(server_id, {"ACTIVE"})
    admin_view = CloudClient(net_cloud.base_url)  # the host shows to admins only
    try:
        host_name = str(admin_view.server(server_id)["OS-EXT-SRV-ATTR:host"])
    finally:
        admin_view.close()
    # Simulated hosts program nothing and are never told: nothing so far.
    assert told.none_within(1.0)
    real_host.append(host_name)
    with transaction(db) as session:
        session.execute(sa.update(ComputeNode).where(ComputeNode.host == host_name)
                        .values(hypervisor_type="QEMU"))

    group = member.made("security-groups", "security_group", name="pushed-web")
    assert told.wait() == [host_name]
    rule = member.made("security-group-rules", "security_group_rule",
                       security_group_id=group["id"], direction="ingress",
                       protocol="tcp", port_range_min=80, port_range_max=80)
    assert told.wait() == [host_name]
    assert member.delete(f"/security-group-rules/{rule['id']}").status_code == 204
    assert told.wait() == [host_name]
    action = compute.compute("POST", f"/servers/{server_id}/action",
                             json={"addSecurityGroup": {"name": "pushed-web"}})
    assert action.status_code == 202, action.text
    assert told.wait() == [host_name]

    # Reads and refused writes change nothing and tell nobody.
    assert member.get("/ports").status_code == 200
    refused = member.post("/security-group-rules", {"security_group_rule": {
        "security_group_id": group["id"], "direction": "sideways"}})
    assert refused.status_code == 400, refused.text
    assert told.none_within(1.0)
