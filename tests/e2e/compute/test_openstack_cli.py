"""The `openstack` command against a cloud with builtin password auth."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.compute.conftest import OpenStackCLI


def test_token_issue_returns_a_project_scoped_token(osc: OpenStackCLI) -> None:
    token = osc.json("token", "issue")
    assert token["id"].startswith("kn1.")
    assert token["project_id"] and token["user_id"]


def test_flavor_create_list_show_delete(osc: OpenStackCLI) -> None:
    created = osc.json("flavor", "create", "--ram", "256", "--vcpus", "1", "--disk", "1",
                       "--description", "tiny one", "e2e.tiny")
    assert created["name"] == "e2e.tiny"
    assert created["description"] == "tiny one"
    assert "e2e.tiny" in [f["Name"] for f in osc.json("flavor", "list")]
    shown = osc.json("flavor", "show", "e2e.tiny")
    assert (shown["ram"], shown["vcpus"], shown["disk"]) == (256, 1, 1)
    osc.run("flavor", "delete", "e2e.tiny")
    assert "e2e.tiny" not in [f["Name"] for f in osc.json("flavor", "list")]


def test_image_create_from_file_and_list(osc: OpenStackCLI, tmp_path: Path) -> None:
    disk = tmp_path / "disk.raw"
    disk.write_bytes(b"\0" * 4096)
    image = osc.json("image", "create", "--file", str(disk), "--disk-format", "raw",
                     "--container-format", "bare", "e2e-image")
    assert image["status"] == "active"
    assert image["size"] == 4096
    listed = osc.json("image", "list")
    assert [i["Status"] for i in listed if i["Name"] == "e2e-image"] == ["active"]


def test_server_create_wait_list_show_delete(osc: OpenStackCLI, tmp_path: Path) -> None:
    osc.run("flavor", "create", "--ram", "512", "--vcpus", "1", "--disk", "1", "e2e.small")
    disk = tmp_path / "boot.raw"
    disk.write_bytes(b"\0" * 1024)
    osc.run("image", "create", "--file", str(disk), "--disk-format", "raw",
            "--container-format", "bare", "e2e-boot")

    server = osc.json("server", "create", "--flavor", "e2e.small", "--image", "e2e-boot",
                      "--nic", "none", "--wait", "e2e-vm")
    assert server["status"] == "ACTIVE"
    listed = osc.json("server", "list")
    assert [(s["Name"], s["Status"]) for s in listed] == [("e2e-vm", "ACTIVE")]
    shown = osc.json("server", "show", "e2e-vm")
    assert shown["id"] == server["id"]
    assert shown["flavor"]["original_name"] == "e2e.small"
    assert shown["status"] == "ACTIVE"

    osc.run("server", "delete", "--wait", "e2e-vm")
    assert osc.json("server", "list") == []
    osc.run("flavor", "delete", "e2e.small")


def test_keypair_create_list_delete(osc: OpenStackCLI) -> None:
    generated = osc.run("keypair", "create", "e2e-key").stdout
    assert "PRIVATE KEY" in generated
    names = [k["Name"] for k in osc.json("keypair", "list")]
    assert names == ["e2e-key"]
    osc.run("keypair", "delete", "e2e-key")
    assert osc.json("keypair", "list") == []


def test_server_group_create_with_anti_affinity(osc: OpenStackCLI) -> None:
    group = osc.json("server", "group", "create", "--policy", "anti-affinity", "e2e-group")
    assert group["policy"] == "anti-affinity"
    assert group["name"] == "e2e-group"
    osc.run("server", "group", "delete", "e2e-group")


def test_availability_zones_quota_and_limits(osc: OpenStackCLI) -> None:
    zones = osc.json("availability", "zone", "list", "--compute")
    assert {"Zone Name": "nova", "Zone Status": "available"} in [
        {k: z[k] for k in ("Zone Name", "Zone Status")} for z in zones]
    quota = {q["Resource"]: q["Limit"] for q in osc.json("quota", "show")}
    assert quota["instances"] == 10
    assert quota["cores"] == 20
    limits = {row["Name"]: row["Value"] for row in osc.json("limits", "show", "--absolute")}
    assert limits["max_total_instances"] == 10
    assert limits["total_instances_used"] == 0


def test_private_flavor_hostname_and_hints_at_the_negotiated_version(
        osc: OpenStackCLI, tmp_path: Path) -> None:
    project = osc.json("token", "issue")["project_id"]
    osc.run("flavor", "create", "--ram", "256", "--vcpus", "1", "--disk", "1", "--private",
            "--project", project, "e2e.private")
    disk = tmp_path / "boot.raw"
    disk.write_bytes(b"\0" * 1024)
    osc.run("image", "create", "--file", str(disk), "--disk-format", "raw",
            "--container-format", "bare", "e2e-hint-img")
    first = osc.json("server", "create", "--flavor", "e2e.private", "--image", "e2e-hint-img",
                     "--nic", "none", "--hostname", "first-host", "--wait", "e2e-first")
    second = osc.json("server", "create", "--flavor", "e2e.private", "--image",
                      "e2e-hint-img", "--nic", "none", "--hint", f"same_host={first['id']}",
                      "--wait", "e2e-second")
    try:
        shown = osc.json("server", "show", "e2e-second")
        assert shown["scheduler_hints"] == {"same_host": [first["id"]]}
        assert shown["hostId"] == osc.json("server", "show", "e2e-first")["hostId"]
        assert osc.json("server", "show", "e2e-first")["OS-EXT-SRV-ATTR:hostname"] == "first-host"
        assert second["status"] == "ACTIVE"
    finally:
        osc.run("server", "delete", "--wait", "e2e-first", "e2e-second")
        osc.run("flavor", "delete", "e2e.private")
        osc.run("image", "delete", "e2e-hint-img")
