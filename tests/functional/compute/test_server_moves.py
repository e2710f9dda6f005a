"""Resize, cold and live migration: where the server runs and what placement holds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from common.states import PowerState
from tests.cloud import CloudClient
from tests.functional.compute.actions_helpers import (
    act,
    action_names,
    allocations,
    events,
    migration_of,
    provider_of,
    settled,
)
from tests.functional.compute.conftest import client_for
from tests.functional.compute.helpers import ensure_flavor, public_image, set_quota

SMALL = {"VCPU": 1, "MEMORY_MB": 64, "DISK_GB": 1}
LARGE = {"VCPU": 2, "MEMORY_MB": 128, "DISK_GB": 1}
CORES = 60


@pytest.fixture(scope="module")
def erin(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, "erin:proj-moves")
    yield c
    c.close()


@pytest.fixture(scope="module")
def boot(erin: CloudClient, admin: CloudClient) -> Iterator[Any]:
    flavor = ensure_flavor(admin, "mv.small", ram=64, vcpus=1)
    ensure_flavor(admin, "mv.large", ram=128, vcpus=2)
    image = public_image(admin, "mv-img")
    set_quota(admin, "proj-moves", instances=30, cores=CORES)
    booted: list[str] = []

    def make(**extra: Any) -> str:
        server_id = erin.boot(flavor, image, **extra)
        booted.append(server_id)
        settled(erin, server_id, "ACTIVE")
        return server_id

    yield make
    for server_id in booted:
        erin.compute("DELETE", f"/servers/{server_id}")
    for server_id in booted:
        erin.wait_gone(server_id)
    # Nothing a move held stays behind once its server is gone.
    for server_id in booted:
        assert allocations(admin, server_id) == {}


def host_of(admin: CloudClient, server_id: str) -> str:
    return str(admin.server(server_id)["OS-EXT-SRV-ATTR:host"])


def test_resize_moves_to_another_host_and_confirm_frees_the_source(
        erin: CloudClient, admin: CloudClient, boot: Any) -> None:
    server_id = boot()
    source = host_of(admin, server_id)
    resp = act(erin, server_id, {"resize": {"flavorRef": "mv.large",
                                            "OS-DCF:diskConfig": "AUTO"}})
    assert resp.status_code == 202, resp.text
    assert resp.content == b""
    server = settled(erin, server_id, "VERIFY_RESIZE")
    assert server["flavor"]["original_name"] == "mv.large"
    dest = host_of(admin, server_id)
    assert dest != source  # allow_resize_to_same_host is off
    migration = migration_of(admin, server_id)
    assert (migration["status"], migration["migration_type"]) == ("finished", "resize")
    assert (migration["source_compute"], migration["dest_compute"]) == (source, dest)
    # The instance holds the new flavor on the destination, the migration the old one
    # on the source.
    assert allocations(admin, server_id) == {provider_of(admin, dest): LARGE}
    assert allocations(admin, migration["uuid"]) == {provider_of(admin, source): SMALL}

    assert act(erin, server_id, {"confirmResize": None}).status_code == 204
    server = settled(erin, server_id, "ACTIVE")
    assert server["OS-EXT-STS:power_state"] == PowerState.RUNNING
    assert host_of(admin, server_id) == dest
    assert allocations(admin, migration["uuid"]) == {}
    assert allocations(admin, server_id) == {provider_of(admin, dest): LARGE}
    assert migration_of(admin, server_id)["status"] == "confirmed"
    assert action_names(erin, server_id) == ["create", "resize", "confirmResize"]
    assert [(e["event"], e["result"]) for e in events(erin, server_id, "resize")] == [
        ("conductor_migrate_server", "Success"), ("compute_resize_instance", "Success"),
        ("compute_finish_resize", "Success")]


def test_revert_resize_returns_to_the_source_with_the_old_flavor(
        erin: CloudClient, admin: CloudClient, boot: Any) -> None:
    server_id = boot()
    source = host_of(admin, server_id)
    assert act(erin, server_id, {"resize": {"flavorRef": "mv.large"}}).status_code == 202
    settled(erin, server_id, "VERIFY_RESIZE")
    migration = migration_of(admin, server_id)

    assert act(erin, server_id, {"revertResize": None}).status_code == 202
    server = settled(erin, server_id, "ACTIVE")
    assert server["flavor"]["original_name"] == "mv.small"
    assert host_of(admin, server_id) == source
    assert allocations(admin, server_id) == {provider_of(admin, source): SMALL}
    assert allocations(admin, migration["uuid"]) == {}
    assert migration_of(admin, server_id)["status"] == "reverted"
    assert action_names(erin, server_id)[-2:] == ["resize", "revertResize"]
    assert [e["event"] for e in events(erin, server_id, "revertResize")] == [
        "compute_revert_resize", "compute_finish_revert_resize"]


def test_a_stopped_server_stays_stopped_through_a_resize(erin: CloudClient,
                                                          admin: CloudClient,
                                                          boot: Any) -> None:
    server_id = boot()
    assert act(erin, server_id, {"os-stop": None}).status_code == 202
    settled(erin, server_id, "SHUTOFF")
    assert act(erin, server_id, {"resize": {"flavorRef": "mv.large"}}).status_code == 202
    server = settled(erin, server_id, "VERIFY_RESIZE")
    assert server["OS-EXT-STS:power_state"] == PowerState.SHUTDOWN
    assert act(erin, server_id, {"confirmResize": None}).status_code == 204
    settled(erin, server_id, "SHUTOFF")


def test_resize_beyond_the_quota_is_refused_without_side_effects(
        erin: CloudClient, admin: CloudClient, boot: Any) -> None:
    server_id = boot()
    detail = admin.compute("GET", "/os-quota-sets/proj-moves/detail").json()["quota_set"]
    # Every core the project may have is in use: growing by one more is refused.
    set_quota(admin, "proj-moves", cores=detail["cores"]["in_use"])
    try:
        before = action_names(erin, server_id)
        resp = act(erin, server_id, {"resize": {"flavorRef": "mv.large"}})
        assert resp.status_code == 403, resp.text
        assert "Quota exceeded for cores" in resp.json()["forbidden"]["message"]
        assert erin.server(server_id)["OS-EXT-STS:task_state"] is None
        assert action_names(erin, server_id) == before
    finally:
        set_quota(admin, "proj-moves", cores=CORES)


def test_a_resize_nothing_can_host_leaves_the_server_where_it_was(
        erin: CloudClient, admin: CloudClient, boot: Any) -> None:
    # More RAM than any host has (16384 MiB), less than the quota allows.
    ensure_flavor(admin, "mv.huge", ram=20000, vcpus=1)
    server_id = boot()
    source = host_of(admin, server_id)
    assert act(erin, server_id, {"resize": {"flavorRef": "mv.huge"}}).status_code == 202
    server = settled(erin, server_id, "ACTIVE")
    assert server["flavor"]["original_name"] == "mv.small"
    assert host_of(admin, server_id) == source
    assert allocations(admin, server_id) == {provider_of(admin, source): SMALL}
    assert allocations(admin, migration_of(admin, server_id)["uuid"]) == {}
    assert migration_of(admin, server_id)["status"] == "error"
    [step] = events(erin, server_id, "resize")
    assert (step["event"], step["result"]) == ("conductor_migrate_server", "Error")


def test_cold_migration_to_a_chosen_host_is_for_admins(erin: CloudClient,
                                                       admin: CloudClient,
                                                       boot: Any) -> None:
    server_id = boot()
    source = host_of(admin, server_id)
    target = next(h for h in ("fake-1", "fake-2", "fake-3", "fake-4") if h != source)
    assert act(erin, server_id, {"migrate": None}).status_code == 403
    bad = act(admin, server_id, {"migrate": {"host": "no-such-host"}})
    assert bad.status_code == 400
    assert bad.json()["badRequest"]["message"] == "Compute host no-such-host could not be found."
    assert act(admin, server_id, {"migrate": {"host": source}}).status_code == 400
    assert erin.server(server_id)["OS-EXT-STS:task_state"] is None

    assert act(admin, server_id, {"migrate": {"host": target}}).status_code == 202
    settled(erin, server_id, "VERIFY_RESIZE")
    assert host_of(admin, server_id) == target
    migration = migration_of(admin, server_id)
    assert migration["migration_type"] == "migration"
    assert allocations(admin, server_id) == {provider_of(admin, target): SMALL}
    assert allocations(admin, migration["uuid"]) == {provider_of(admin, source): SMALL}
    assert act(erin, server_id, {"confirmResize": None}).status_code == 204
    settled(erin, server_id, "ACTIVE")
    assert allocations(admin, migration["uuid"]) == {}
    assert action_names(erin, server_id)[-2:] == ["migrate", "confirmResize"]


def test_migrate_takes_no_host_before_2_56(shared_cloud: EmbeddedCloud, idle: str) -> None:
    server_id = idle
    old = client_for(shared_cloud, "admin:admin", version="2.55")
    try:
        resp = act(old, server_id, {"migrate": {"host": "fake-1"}})
        assert resp.status_code == 400, resp.text
    finally:
        old.close()


def test_live_migration_moves_the_running_server_and_its_allocations(
        erin: CloudClient, admin: CloudClient, boot: Any) -> None:
    server_id = boot()
    source = host_of(admin, server_id)
    body = {"os-migrateLive": {"host": None, "block_migration": "auto"}}
    assert act(erin, server_id, body).status_code == 403
    assert act(admin, server_id, body).status_code == 202
    server = settled(erin, server_id, "ACTIVE")
    dest = host_of(admin, server_id)
    assert dest != source
    assert server["OS-EXT-STS:power_state"] == PowerState.RUNNING
    migration = migration_of(admin, server_id)
    assert (migration["status"], migration["migration_type"]) == (
        "completed", "live-migration")
    assert allocations(admin, server_id) == {provider_of(admin, dest): SMALL}
    assert allocations(admin, migration["uuid"]) == {}
    assert action_names(erin, server_id) == ["create", "live-migration"]
    assert [(e["event"], e["result"]) for e in events(erin, server_id, "live-migration")] == [
        ("conductor_live_migrate_instance", "Success"),
        ("compute_pre_live_migration", "Success"), ("compute_live_migration", "Success"),
        ("compute_post_live_migration_at_destination", "Success")]
    # The guest really is on the destination: the agent there answers for it.
    console = act(erin, server_id, {"os-getConsoleOutput": {}})
    assert console.json() == {"output": f"fake guest {server_id} arrived\nlogin: "}


def test_a_paused_server_can_be_forced_to_a_host(shared_cloud: EmbeddedCloud,
                                                  erin: CloudClient, admin: CloudClient,
                                                  boot: Any) -> None:
    server_id = boot()
    source = host_of(admin, server_id)
    target = next(h for h in ("fake-1", "fake-2", "fake-3", "fake-4") if h != source)
    assert act(erin, server_id, {"pause": None}).status_code == 202
    settled(erin, server_id, "PAUSED")
    forcing = client_for(shared_cloud, "admin:admin", version="2.30")
    try:
        resp = act(forcing, server_id, {"os-migrateLive": {
            "host": target, "block_migration": False, "force": True}})
        assert resp.status_code == 202, resp.text
    finally:
        forcing.close()
    server = settled(erin, server_id, "PAUSED")
    assert server["OS-EXT-STS:power_state"] == PowerState.PAUSED
    assert host_of(admin, server_id) == target
    assert allocations(admin, server_id) == {provider_of(admin, target): SMALL}


def test_a_failed_live_migration_leaves_the_server_active_on_its_source(
        erin: CloudClient, admin: CloudClient, boot: Any) -> None:
    server_id = boot(metadata={"fake:fail_live_migration": "*"})
    source = host_of(admin, server_id)
    body = {"os-migrateLive": {"host": None, "block_migration": True}}
    assert act(admin, server_id, body).status_code == 202
    server = settled(erin, server_id, "ACTIVE")
    assert [(e["event"], e["result"]) for e in events(erin, server_id, "live-migration")] == [
        ("conductor_live_migrate_instance", "Success"),
        ("compute_pre_live_migration", "Error")]
    assert host_of(admin, server_id) == source
    migration = migration_of(admin, server_id)
    assert migration["status"] == "error"
    assert allocations(admin, server_id) == {provider_of(admin, source): SMALL}
    assert allocations(admin, migration["uuid"]) == {}
    assert server["OS-EXT-STS:power_state"] == PowerState.RUNNING


LIVE_BAD = [
    ({"os-migrateLive": {"host": None}}, "2.73"),
    ({"os-migrateLive": {"host": None, "block_migration": "sometimes"}}, "2.73"),
    ({"os-migrateLive": {"host": None, "block_migration": "auto", "force": True}}, "2.73"),
    ({"os-migrateLive": {"host": None, "block_migration": "auto"}}, "2.24"),
    ({"os-migrateLive": {"host": "no-such-host", "block_migration": "auto"}}, "2.73"),
]


@pytest.fixture(scope="module")
def idle(boot: Any) -> str:
    """A server the tests leave as it is."""
    return str(boot())


@pytest.mark.parametrize(("body", "version"), LIVE_BAD, ids=[str(b) for b, _ in LIVE_BAD])
def test_bad_live_migration_requests_change_nothing(shared_cloud: EmbeddedCloud,
                                                    erin: CloudClient, idle: str,
                                                    body: dict[str, Any],
                                                    version: str) -> None:
    server_id = idle
    client = client_for(shared_cloud, "admin:admin", version=version)
    try:
        resp = act(client, server_id, body)
        assert resp.status_code == 400, resp.text
    finally:
        client.close()
    assert erin.server(server_id)["OS-EXT-STS:task_state"] is None
    assert action_names(erin, server_id) == ["create"]


def test_server_migrations_lists_no_live_migration_in_progress(
        admin: CloudClient, erin: CloudClient, idle: str) -> None:
    server_id = idle
    resp = admin.compute("GET", f"/servers/{server_id}/migrations")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"migrations": []}
    assert erin.compute("GET", f"/servers/{server_id}/migrations").status_code == 403
    assert erin.compute("GET", "/os-migrations").status_code == 403


def _seen(client: CloudClient, server_id: str) -> tuple[str, str | None]:
    server = client.server(server_id)
    return server["status"], server["OS-EXT-STS:task_state"]


def test_moves_show_their_status_while_they_run(erin: CloudClient, admin: CloudClient,
                                                boot: Any) -> None:
    # Every power operation of this guest takes a second on the fake hypervisor.
    server_id = boot(metadata={"fake:power_seconds": "1"})
    assert act(erin, server_id, {"resize": {"flavorRef": "mv.large"}}).status_code == 202
    assert _seen(erin, server_id) in {("RESIZE", "resize_prep"),
                                      ("RESIZE", "resize_migrating")}
    settled(erin, server_id, "VERIFY_RESIZE")
    assert act(erin, server_id, {"revertResize": None}).status_code == 202
    assert _seen(erin, server_id) == ("REVERT_RESIZE", "resize_reverting")
    settled(erin, server_id, "ACTIVE")
    body = {"os-migrateLive": {"host": None, "block_migration": "auto"}}
    assert act(admin, server_id, body).status_code == 202
    assert _seen(erin, server_id) == ("MIGRATING", "migrating")
    settled(erin, server_id, "ACTIVE")


def test_deleting_a_server_awaiting_confirmation_releases_both_hosts(
        erin: CloudClient, admin: CloudClient, boot: Any) -> None:
    server_id = boot()
    assert act(erin, server_id, {"resize": {"flavorRef": "mv.large"}}).status_code == 202
    settled(erin, server_id, "VERIFY_RESIZE")
    migration = migration_of(admin, server_id)
    assert allocations(admin, migration["uuid"]) != {}
    assert erin.compute("DELETE", f"/servers/{server_id}").status_code == 204
    erin.wait_gone(server_id)
    assert allocations(admin, server_id) == {}
    # The conductor's sweep releases what the migration held on the source.
    deadline = time.monotonic() + 10
    while allocations(admin, migration["uuid"]):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert migration_of(admin, server_id)["status"] == "confirmed"
