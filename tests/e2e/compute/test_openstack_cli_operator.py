"""The operator commands of the `openstack` CLI against a cloud with password auth."""

from __future__ import annotations

import time
from pathlib import Path

from tests.e2e.compute.conftest import OpenStackCLI


def test_compute_service_list_set_delete(osc: OpenStackCLI) -> None:
    services = osc.json("compute", "service", "list")
    computes = sorted(s["Host"] for s in services if s["Binary"] == "nova-compute")
    assert computes == ["fake-1", "fake-2", "fake-3", "fake-4"]
    assert {s["State"] for s in services} == {"up"}
    assert {s["Zone"] for s in services if s["Binary"] != "nova-compute"} == {"internal"}

    osc.run("compute", "service", "set", "--disable", "--disable-reason", "maintenance",
            "fake-4", "nova-compute")
    (row,) = [s for s in osc.json("compute", "service", "list", "--long", "--host", "fake-4")]
    assert (row["Status"], row["Disabled Reason"]) == ("disabled", "maintenance")
    osc.run("compute", "service", "set", "--enable", "fake-4", "nova-compute")
    (row,) = osc.json("compute", "service", "list", "--host", "fake-4")
    assert row["Status"] == "enabled"

    (scheduler,) = osc.json("compute", "service", "list", "--service", "nova-scheduler")
    osc.run("compute", "service", "delete", str(scheduler["ID"]))
    ids = [s["ID"] for s in osc.json("compute", "service", "list")]
    assert scheduler["ID"] not in ids


def test_hypervisor_list_show_stats(osc: OpenStackCLI) -> None:
    hypervisors = osc.json("hypervisor", "list")
    assert sorted(h["Hypervisor Hostname"] for h in hypervisors) == [
        "fake-1", "fake-2", "fake-3", "fake-4"]
    assert {h["State"] for h in hypervisors} == {"up"}
    shown = osc.json("hypervisor", "show", "fake-1")
    assert shown["hypervisor_hostname"] == "fake-1"
    assert shown["hypervisor_type"] == "fake"
    stats = osc.json("hypervisor", "stats", "show")
    assert stats["count"] == 4
    assert stats["vcpus"] == 4 * 16


def test_aggregate_create_set_hosts_show_delete(osc: OpenStackCLI) -> None:
    created = osc.json("aggregate", "create", "--zone", "e2e-zone", "e2e-agg")
    assert created["availability_zone"] == "e2e-zone"
    osc.run("aggregate", "set", "--property", "ssd=true", "e2e-agg")
    added = osc.json("aggregate", "add", "host", "e2e-agg", "fake-2")
    assert added["hosts"] == ["fake-2"]
    shown = osc.json("aggregate", "show", "e2e-agg")
    assert shown["hosts"] == ["fake-2"]
    assert shown["properties"] == {"ssd": "true"}
    zones = osc.json("availability", "zone", "list", "--long")
    rows = {(z["Zone Name"], z["Host Name"], z["Service Name"]) for z in zones}
    assert ("e2e-zone", "fake-2", "nova-compute") in rows
    assert ("nova", "fake-1", "nova-compute") in rows
    assert ("internal", "fake", "nova-conductor") in rows
    removed = osc.json("aggregate", "remove", "host", "e2e-agg", "fake-2")
    assert removed["hosts"] == []
    osc.run("aggregate", "delete", "e2e-agg")
    assert "e2e-agg" not in [a["Name"] for a in osc.json("aggregate", "list")]


def test_usage_list_and_show(osc: OpenStackCLI, tmp_path: Path) -> None:
    osc.run("flavor", "create", "--ram", "128", "--vcpus", "1", "--disk", "1", "e2e.usage")
    disk = tmp_path / "usage.raw"
    disk.write_bytes(b"\0" * 1024)
    osc.run("image", "create", "--file", str(disk), "--disk-format", "raw",
            "--container-format", "bare", "e2e-usage-image")
    osc.run("server", "create", "--flavor", "e2e.usage", "--image", "e2e-usage-image",
            "--nic", "none", "--wait", "e2e-usage-vm")
    try:
        (usage,) = osc.json("usage", "list")
        # The JSON formatter shows the server usages themselves where the table counts.
        assert [s["name"] for s in usage["Servers"]] == ["e2e-usage-vm"]
        assert float(usage["RAM MB-Hours"]) > 0
        shown = osc.json("usage", "show")
        assert [s["name"] for s in shown["Servers"]] == ["e2e-usage-vm"]
        assert shown["Project"] == usage["Project"]
    finally:
        osc.run("server", "delete", "--wait", "e2e-usage-vm")
        osc.run("flavor", "delete", "e2e.usage")


def test_server_evacuate_from_a_host_forced_down(osc: OpenStackCLI, tmp_path: Path) -> None:
    osc.run("flavor", "create", "--ram", "128", "--vcpus", "1", "--disk", "1", "e2e.evac")
    disk = tmp_path / "evac.raw"
    disk.write_bytes(b"\0" * 1024)
    osc.run("image", "create", "--file", str(disk), "--disk-format", "raw",
            "--container-format", "bare", "e2e-evac-image")
    v = ["--os-compute-api-version", "2.74"]
    osc.run(*v, "server", "create", "--flavor", "e2e.evac", "--image", "e2e-evac-image",
            "--nic", "none", "--host", "fake-3", "--wait", "e2e-evac-vm")
    try:
        refused = osc.run(*v, "server", "evacuate", "e2e-evac-vm", check=False)
        assert refused.returncode != 0
        assert "still in use" in refused.stderr
        osc.run("--os-compute-api-version", "2.11", "compute", "service", "set", "--down",
                "fake-3", "nova-compute")
        # Not --wait: the client compares the lower-cased status with "ACTIVE" and so
        # waits forever against any cloud.
        osc.run(*v, "server", "evacuate", "--host", "fake-1", "e2e-evac-vm")
        deadline = time.monotonic() + 60
        while (shown := osc.json(*v, "server", "show", "e2e-evac-vm"))["status"] != "ACTIVE":
            assert time.monotonic() < deadline, shown
            time.sleep(1)
        assert shown["OS-EXT-SRV-ATTR:host"] == "fake-1"
        migrations = osc.json("--os-compute-api-version", "2.59", "server", "migration",
                              "list", "--server", "e2e-evac-vm")
        assert [(m["Type"], m["Status"]) for m in migrations] == [("evacuation", "done")]
    finally:
        osc.run("--os-compute-api-version", "2.11", "compute", "service", "set", "--up",
                "fake-3", "nova-compute")
        osc.run("server", "delete", "--wait", "e2e-evac-vm")
        osc.run("flavor", "delete", "e2e.evac")
