"""The osc-placement commands operators use, against our placement."""

from __future__ import annotations

import uuid

from .conftest import OpenStackCLI


def _provider(cli: OpenStackCLI, name: str, *options: str) -> str:
    created = cli.json("resource", "provider", "create", *options, name)
    return str(created["uuid"])


def test_provider_create_list_show_set_delete(cli: OpenStackCLI) -> None:
    root = _provider(cli, "osc-root")
    child = cli.json("resource", "provider", "create", "--parent-provider", root, "osc-child")
    assert child["root_provider_uuid"] == root
    assert child["parent_provider_uuid"] == root

    listed = cli.json("resource", "provider", "list", "--in-tree", root)
    assert sorted(p["name"] for p in listed) == ["osc-child", "osc-root"]

    renamed = cli.json("resource", "provider", "set", "--name", "osc-renamed", root)
    assert renamed["name"] == "osc-renamed"
    shown = cli.json("resource", "provider", "show", root)
    assert shown["name"] == "osc-renamed"
    assert shown["generation"] == renamed["generation"]

    cli.run("resource", "provider", "delete", child["uuid"])
    cli.run("resource", "provider", "delete", root)
    assert cli.json("resource", "provider", "list", "--name", "osc-renamed") == []


def test_inventory_set_list_delete(cli: OpenStackCLI) -> None:
    rp = _provider(cli, "osc-inventory")
    cli.run("resource", "provider", "inventory", "set", rp, "--resource", "VCPU=16",
            "--resource", "VCPU:allocation_ratio=2.0", "--resource", "MEMORY_MB=4096")
    listed = {row["resource_class"]: row for row in cli.json(
        "resource", "provider", "inventory", "list", rp)}
    assert set(listed) == {"VCPU", "MEMORY_MB"}
    assert listed["VCPU"]["total"] == 16
    assert listed["VCPU"]["allocation_ratio"] == 2.0
    assert listed["MEMORY_MB"]["total"] == 4096

    cli.run("resource", "provider", "inventory", "delete", rp, "--resource-class", "VCPU")
    remaining = cli.json("resource", "provider", "inventory", "list", rp)
    assert [row["resource_class"] for row in remaining] == ["MEMORY_MB"]


def test_traits_and_resource_classes(cli: OpenStackCLI) -> None:
    trait = f"CUSTOM_OSC_{uuid.uuid4().hex[:8].upper()}"
    cli.run("trait", "create", trait)
    assert {"name": trait} in cli.json("trait", "list")

    rp = _provider(cli, "osc-traits")
    cli.run("resource", "provider", "trait", "set", rp, "--trait", trait,
            "--trait", "HW_CPU_X86_AVX2")
    on_rp = cli.json("resource", "provider", "trait", "list", rp)
    assert sorted(row["name"] for row in on_rp) == sorted([trait, "HW_CPU_X86_AVX2"])

    cli.run("resource", "provider", "delete", rp)
    cli.run("trait", "delete", trait)
    assert {"name": trait} not in cli.json("trait", "list")

    rc = f"CUSTOM_OSC_{uuid.uuid4().hex[:8].upper()}"
    cli.run("resource", "class", "create", rc)
    assert {"name": rc} in cli.json("resource", "class", "list")
    cli.run("resource", "class", "delete", rc)
    assert {"name": rc} not in cli.json("resource", "class", "list")


def test_aggregates(cli: OpenStackCLI) -> None:
    rp = _provider(cli, "osc-aggregates")
    aggs = sorted(str(uuid.uuid4()) for _ in range(2))
    set_out = cli.json("resource", "provider", "aggregate", "set", rp, "--aggregate", aggs[0],
                       "--aggregate", aggs[1], "--generation", "0")
    assert sorted(row["uuid"] for row in set_out) == aggs
    listed = cli.json("resource", "provider", "aggregate", "list", rp)
    assert sorted(row["uuid"] for row in listed) == aggs


def test_candidates_allocations_and_usages(cli: OpenStackCLI) -> None:
    rp = _provider(cli, "osc-host")
    cli.run("resource", "provider", "inventory", "set", rp, "--resource", "VCPU=8",
            "--resource", "MEMORY_MB=2048", "--resource", "DISK_GB=100")
    cli.run("resource", "provider", "trait", "set", rp, "--trait", "STORAGE_DISK_SSD")

    candidates = cli.json("allocation", "candidate", "list", "--resource", "VCPU=2",
                          "--resource", "MEMORY_MB=512", "--required", "STORAGE_DISK_SSD")
    mine = [row for row in candidates if row["resource provider"] == rp]
    assert len(mine) == 1
    assert "VCPU=2" in mine[0]["allocation"]

    consumer = str(uuid.uuid4())
    project, user = str(uuid.uuid4()), str(uuid.uuid4())
    cli.run("resource", "provider", "allocation", "set", consumer,
            "--allocation", f"rp={rp},VCPU=2,MEMORY_MB=512",
            "--project-id", project, "--user-id", user, "--consumer-type", "INSTANCE")
    shown = cli.json("resource", "provider", "allocation", "show", consumer)
    assert len(shown) == 1
    assert shown[0]["resource_provider"] == rp
    assert shown[0]["resources"] == {"VCPU": 2, "MEMORY_MB": 512}
    usage = {row["resource_class"]: row["usage"] for row in cli.json(
        "resource", "provider", "usage", "show", rp)}
    assert usage == {"VCPU": 2, "MEMORY_MB": 512, "DISK_GB": 0}

    cli.run("resource", "provider", "allocation", "delete", consumer)
    assert cli.json("resource", "provider", "allocation", "show", consumer) == []
    usage = {row["resource_class"]: row["usage"] for row in cli.json(
        "resource", "provider", "usage", "show", rp)}
    assert usage == {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}
