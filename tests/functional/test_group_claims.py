"""A hard group member's claim is pending until checked, then final (scheduler/manager.py).

Two decisions of one build (a conductor asking again while its first ask still runs)
may check the same claim; neither may take away a claim the other answered with.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from common.compute_db import queries
from common.context import admin_context
from common.db import create_engine, session_factory, transaction
from common.messages import RequestSpec
from conductor.instances import to_request_spec
from placement.client import PlacementClient
from scheduler import manager
from scheduler.rpc.client import SchedulerClient
from tests.cloud import CloudClient


def _spec(cloud: EmbeddedCloud, server_id: str) -> RequestSpec:
    engine = create_engine(cloud.settings.compute_db_url)
    try:
        with transaction(session_factory(engine)) as session:
            return to_request_spec(session, queries.get_instance(session,
                                                                 uuid.UUID(server_id)))
    finally:
        engine.dispose()


def _held(client: CloudClient, server_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.placement("GET", f"/allocations/{server_id}").json()
    return body


def _claim_pending(client: CloudClient, server_id: str, rp: str, spec: RequestSpec) -> None:
    """Replace the server's claim by a new one on ``rp``, as a decision just made it."""
    assert client.placement("DELETE", f"/allocations/{server_id}").status_code == 204
    resp = client.placement("PUT", f"/allocations/{server_id}", json={
        "allocations": {rp: {"resources": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}}},
        "project_id": spec.project_id, "user_id": spec.user_id,
        "consumer_generation": None, "consumer_type": "INSTANCE"})
    assert resp.status_code == 204, resp.text


def test_a_pending_member_claim_is_checked_settled_and_never_taken_back_late(
        cloud: EmbeddedCloud, client: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # A claim pending this long is taken for abandoned by its maker (30 s in service).
    monkeypatch.setattr(manager, "PENDING_WAIT", 1.0)
    flavor, image = client.create_flavor(), client.create_image()
    group = client.compute("POST", "/os-server-groups", json={"server_group": {
        "name": "spread", "policies": ["anti-affinity"]}}).json()["server_group"]["id"]

    def member(name: str) -> dict[str, Any]:
        resp = client.compute("POST", "/servers", json={
            "server": {"name": name, "flavorRef": flavor, "imageRef": image,
                       "networks": "none"}, "os:scheduler_hints": {"group": group}})
        assert resp.status_code == 202, resp.text
        return client.wait_status(resp.json()["server"]["id"], {"ACTIVE"})

    first, second = member("a"), member("b")
    assert first["OS-EXT-SRV-ATTR:host"] != second["OS-EXT-SRV-ATTR:host"]
    # Settled when it was scheduled: written again after its check.
    assert _held(client, second["id"])["consumer_generation"] == 2
    first_rp = next(iter(_held(client, first["id"])["allocations"]))
    spec = _spec(cloud, second["id"])
    assert cloud._messaging is not None
    scheduler = SchedulerClient(cloud._messaging)

    # A decision's pending claim on the first member's host, abandoned: asked again, the
    # scheduler waits for its maker, then checks it, gives it back and settles a claim
    # elsewhere.
    _claim_pending(client, second["id"], first_rp, spec)
    again = scheduler.select_destination(admin_context(), spec)
    held = _held(client, second["id"])
    assert again.host != first["OS-EXT-SRV-ATTR:host"]
    assert list(held["allocations"]) == [str(again.compute_node_uuid)]
    assert held["consumer_generation"] == 2

    # The decision that made the pending claim comes back late from its own check and
    # would give its claim back: refused, the settled claim stays.
    placement = PlacementClient(cloud.settings.placement.url or cloud.placement_url)
    try:
        assert not placement.release(uuid.UUID(second["id"]), 1, spec.project_id,
                                     spec.user_id)
    finally:
        placement.close()
    assert _held(client, second["id"]) == held

    # A pending claim that keeps the policy is settled where it is.
    _claim_pending(client, second["id"], str(again.compute_node_uuid), spec)
    kept = scheduler.select_destination(admin_context(), spec)
    assert kept.host == again.host
    assert _held(client, second["id"])["consumer_generation"] == 2
    assert client.total_usage() == {"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 2}

    # A pending claim is its maker's to settle: asked again meanwhile, the scheduler
    # waits for it (it writes nothing) and answers the settled claim.
    rp = str(again.compute_node_uuid)
    _claim_pending(client, second["id"], rp, spec)
    with ThreadPoolExecutor(1) as pool:
        asked = pool.submit(scheduler.select_destination, admin_context(), spec)
        time.sleep(0.3)
        settled = client.placement("PUT", f"/allocations/{second['id']}", json={
            "allocations": {rp: {"resources": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}}},
            "project_id": spec.project_id, "user_id": spec.user_id,
            "consumer_generation": 1, "consumer_type": "INSTANCE"})
        assert settled.status_code == 204, settled.text
        assert asked.result(timeout=30).host == again.host
    assert _held(client, second["id"])["consumer_generation"] == 2
