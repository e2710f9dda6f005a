"""Moves of a real guest between two libvirt hosts of one cloud, through the API.

One server goes live to host B, cold back to host A (confirmed), cold to B again and is
reverted, then fails to go live to B and stays on A. Host B's agent drives the second
libvirtd (see the ``two_hosts`` fixture); A's libvirtd reaches B's through a socket named
after the host, which the last step removes: B's libvirtd is unreachable, as behind a
broken migration network.

That the guest kept running through a live migration is read from its kernel: Alt+SysRq+H
on its keyboard makes it print a line stamped with the kernel's uptime, which must have
grown, with no new boot on the console.
"""

from __future__ import annotations

import re
import time
from typing import Any

import libvirt
import pytest

from cli.main import main
from common.states import PowerState
from tests.cloud import ADMIN, CloudClient
from tests.functional.compute.actions_helpers import (
    allocations,
    events,
    migration_of,
    provider_of,
)
from tests.integration.libvirt.conftest import TwoHosts
from tests.integration.libvirt.guest import READY_MARKER, UP_MARKER, upload_test_image
from tests.integration.libvirt.test_real_guest import act, console, settled, wait_console

RESOURCES = {"VCPU": 1, "MEMORY_MB": 128, "DISK_GB": 1}
SYSRQ_LINE = re.compile(r"\[\s*(\d+\.\d+)\] sysrq: HELP")
# Linux key codes: Alt, SysRq, H.
SYSRQ_HELP = [56, 99, 35]


def kernel_clock(hosts: TwoHosts, client: CloudClient, server_id: str) -> float:
    """The guest kernel's uptime, printed on request and read through the API's console."""
    host = client.server(server_id)["OS-EXT-SRV-ATTR:host"]
    seen = len(SYSRQ_LINE.findall(console(client, server_id)))
    conn = libvirt.open(hosts.uri(host))
    try:
        conn.lookupByUUIDString(server_id).sendKey(
            libvirt.VIR_KEYCODE_SET_LINUX, 100, SYSRQ_HELP, len(SYSRQ_HELP), 0)
    finally:
        conn.close()
    deadline = time.monotonic() + 20
    while len(stamps := SYSRQ_LINE.findall(out := console(client, server_id))) <= seen:
        assert time.monotonic() < deadline, f"no SysRq answer on {host}:\n{out[-2000:]}"
        time.sleep(0.3)
    return float(stamps[-1])


def defined_on(hosts: TwoHosts, host: str, server_id: str) -> bool:
    conn = libvirt.open(hosts.uri(host))
    try:
        return server_id in [d.UUIDString() for d in conn.listAllDomains(0)]
    finally:
        conn.close()


def step_results(client: CloudClient, server_id: str, action: str) -> list[tuple[str, str]]:
    return [(e["event"], e["result"]) for e in events(client, server_id, action)]


def held_only_on(client: CloudClient, server_id: str, host: str) -> dict[str, Any]:
    """Assert the server alone holds resources, on ``host``; its last migration's record."""
    assert allocations(client, server_id) == {provider_of(client, host): RESOURCES}
    migration = migration_of(client, server_id)
    assert allocations(client, migration["uuid"]) == {}
    return migration


def boot_on_a(hosts: TwoHosts, client: CloudClient) -> str:
    flavor = client.create_flavor("tiny", ram=128, vcpus=1, disk=1)
    image = upload_test_image(client.http, hosts.cloud.image_url)
    record = client.http.get(f"/image/v2/images/{image}").json()
    hosts.images += [image, record["kernel_id"], record["ramdisk_id"]]
    server_id = client.boot(flavor, image, host=hosts.a)
    hosts.servers.append(server_id)
    server = settled(client, server_id, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == hosts.a
    wait_console(client, server_id, READY_MARKER)
    return server_id


def live_migrate_to_b(hosts: TwoHosts, client: CloudClient, server_id: str) -> None:
    booted_for = kernel_clock(hosts, client, server_id)
    resp = act(client, server_id, {"os-migrateLive": {"host": hosts.b,
                                                      "block_migration": "auto"}})
    assert resp.status_code == 202, resp.text
    server = settled(client, server_id, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == hosts.b
    assert server["OS-EXT-STS:power_state"] == PowerState.RUNNING
    assert step_results(client, server_id, "live-migration") == [
        ("conductor_live_migrate_instance", "Success"),
        ("compute_pre_live_migration", "Success"), ("compute_live_migration", "Success"),
        ("compute_post_live_migration_at_destination", "Success")]
    assert held_only_on(client, server_id, hosts.b)["status"] == "completed"
    # The same kernel answers on B, read from B's console log: it never rebooted.
    assert kernel_clock(hosts, client, server_id) > booted_for
    assert UP_MARKER not in console(client, server_id)
    assert defined_on(hosts, hosts.b, server_id)
    assert not defined_on(hosts, hosts.a, server_id)
    assert not (hosts.paths[hosts.a] / server_id).exists()


def cold_migrate_back_to_a(hosts: TwoHosts, client: CloudClient, server_id: str) -> None:
    resp = act(client, server_id, {"migrate": {"host": hosts.a}})
    assert resp.status_code == 202, resp.text
    server = settled(client, server_id, "VERIFY_RESIZE")
    assert server["OS-EXT-SRV-ATTR:host"] == hosts.a
    assert server["OS-EXT-STS:power_state"] == PowerState.RUNNING
    wait_console(client, server_id, READY_MARKER)  # booted from the copied disk on A
    assert defined_on(hosts, hosts.b, server_id)  # kept, stopped, for a revert
    assert act(client, server_id, {"confirmResize": None}).status_code == 204
    server = settled(client, server_id, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == hosts.a
    assert held_only_on(client, server_id, hosts.a)["status"] == "confirmed"
    assert not defined_on(hosts, hosts.b, server_id)
    assert not (hosts.paths[hosts.b] / server_id).exists()


def cold_migrate_to_b_and_revert(hosts: TwoHosts, client: CloudClient,
                                 server_id: str) -> None:
    assert act(client, server_id, {"migrate": None}).status_code == 202  # B: the other
    server = settled(client, server_id, "VERIFY_RESIZE")
    assert server["OS-EXT-SRV-ATTR:host"] == hosts.b
    assert act(client, server_id, {"revertResize": None}).status_code == 202
    server = settled(client, server_id, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == hosts.a
    assert server["OS-EXT-STS:power_state"] == PowerState.RUNNING
    assert held_only_on(client, server_id, hosts.a)["status"] == "reverted"
    assert not defined_on(hosts, hosts.b, server_id)
    assert not (hosts.paths[hosts.b] / server_id).exists()
    wait_console(client, server_id, READY_MARKER, count=2)  # A's guest started again


def fail_live_migration_to_b(hosts: TwoHosts, client: CloudClient, server_id: str) -> None:
    running_for = kernel_clock(hosts, client, server_id)
    (hosts.sockets / hosts.b).unlink()  # A's libvirtd can no longer reach B's
    resp = act(client, server_id, {"os-migrateLive": {"host": hosts.b,
                                                      "block_migration": "auto"}})
    assert resp.status_code == 202, resp.text
    server = settled(client, server_id, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == hosts.a
    assert server["OS-EXT-STS:power_state"] == PowerState.RUNNING
    assert step_results(client, server_id, "live-migration") == [
        ("conductor_live_migrate_instance", "Success"),
        ("compute_pre_live_migration", "Success"), ("compute_live_migration", "Error")]
    assert held_only_on(client, server_id, hosts.a)["status"] == "error"
    assert kernel_clock(hosts, client, server_id) > running_for  # untouched on A
    assert not defined_on(hosts, hosts.b, server_id)
    assert not (hosts.paths[hosts.b] / server_id).exists()  # B's preparation undone


def test_server_moves_live_to_another_libvirt_host_back_cold_reverts_and_survives_a_failure(
        two_hosts: TwoHosts) -> None:
    client = CloudClient(two_hosts.cloud.base_url, version="2.74")
    try:
        server_id = boot_on_a(two_hosts, client)
        live_migrate_to_b(two_hosts, client, server_id)
        cold_migrate_back_to_a(two_hosts, client, server_id)
        cold_migrate_to_b_and_revert(two_hosts, client, server_id)
        fail_live_migration_to_b(two_hosts, client, server_id)
        assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
        client.wait_gone(server_id)
        assert not (two_hosts.paths[two_hosts.a] / server_id).exists()
    finally:
        client.close()


def test_host_drain_moves_a_running_guest_live_and_leaves_the_host_empty(
        two_hosts: TwoHosts, capsys: pytest.CaptureFixture[str]) -> None:
    client = CloudClient(two_hosts.cloud.base_url, version="2.74")
    try:
        server_id = boot_on_a(two_hosts, client)
        booted_for = kernel_clock(two_hosts, client, server_id)
        code = main(["host", "--os-token", ADMIN, "--os-compute-url",
                     two_hosts.cloud.compute_url, "drain", two_hosts.a, "--timeout", "300"])
        out = capsys.readouterr().out
        assert code == 0, out
        assert f"live migration to {two_hosts.b}" in out
        assert f"host {two_hosts.a}: 1 moved, 0 not moved, 0 left on the host" in out
        server = settled(client, server_id, "ACTIVE")
        assert server["OS-EXT-SRV-ATTR:host"] == two_hosts.b
        assert held_only_on(client, server_id, two_hosts.b)["status"] == "completed"
        # The same kernel, still counting: the guest ran through the drain.
        assert kernel_clock(two_hosts, client, server_id) > booted_for
        assert UP_MARKER not in console(client, server_id)
        assert not defined_on(two_hosts, two_hosts.a, server_id)
        listed = client.compute("GET", "/servers", params={"all_tenants": 1,
                                                           "host": two_hosts.a})
        assert listed.json()["servers"] == []
        assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
        client.wait_gone(server_id)
    finally:
        client.close()
