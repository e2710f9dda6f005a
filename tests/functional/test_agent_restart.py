"""A restarting compute agent settles its host before it takes new work (``init_host``)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from cli.wiring import build_computes
from common.compute_db import queries
from common.context import admin_context
from common.db import create_engine, session_factory, transaction
from common.messages import RequestSpec
from conductor.instances import to_request_spec
from scheduler.rpc.client import SchedulerClient
from tests.cloud import CloudClient
from tests.conftest import cloud_settings, running_cloud


def restart_agents(cloud: EmbeddedCloud) -> None:
    """Stop the process's agents and start them anew, as after a crash of the process."""
    old = cloud.services.pop()
    assert old.name == "compute"
    old.stop()
    start_agents(cloud)


def stop_agents(cloud: EmbeddedCloud) -> None:
    old = cloud.services.pop()
    assert old.name == "compute"
    old.stop()


def start_agents(cloud: EmbeddedCloud) -> None:
    s = cloud.settings
    assert cloud._messaging is not None
    agents = build_computes(s, cloud._messaging, s.placement.url or cloud.placement_url)
    agents.start()  # init_host runs here, before any queued message is consumed
    cloud.services.append(agents)


@pytest.fixture
def keeping_cloud(tmp_path: Path, backend: str) -> Iterator[tuple[EmbeddedCloud, CloudClient]]:
    """Simulated guests kept on disk, as a hypervisor keeps them across agent restarts."""
    settings = cloud_settings(tmp_path, backend, fake_hosts=2,
                              fake_state_dir=str(tmp_path / "guests"))
    with running_cloud(settings) as cloud:
        client = CloudClient(cloud.base_url)
        yield cloud, client
        client.close()


@pytest.fixture
def forgetting_cloud(tmp_path: Path, backend: str
                     ) -> Iterator[tuple[EmbeddedCloud, CloudClient]]:
    """Simulated guests in memory only: an agent restart loses every guest."""
    settings = cloud_settings(tmp_path, backend, fake_hosts=2)
    with running_cloud(settings) as cloud:
        client = CloudClient(cloud.base_url)
        yield cloud, client
        client.close()


def wait_for(client: CloudClient, server_id: str, task: str | None, timeout: float = 20
             ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        server = client.server(server_id)
        if server["OS-EXT-STS:task_state"] == task:
            return server
        assert time.monotonic() < deadline, f"{server_id} never reached task {task}"
        time.sleep(0.05)


def test_servers_whose_guests_are_gone_become_error_with_a_fault_not_active(
        forgetting_cloud: tuple[EmbeddedCloud, CloudClient]) -> None:
    cloud, client = forgetting_cloud
    flavor, image = client.create_flavor(), client.create_image()
    running, stopped = client.boot(flavor, image), client.boot(flavor, image)
    client.wait_status(running, {"ACTIVE"})
    client.wait_status(stopped, {"ACTIVE"})
    assert client.compute("POST", f"/servers/{stopped}/action",
                          json={"os-stop": None}).status_code == 202
    client.wait_status(stopped, {"SHUTOFF"})

    restart_agents(cloud)

    for server_id in (running, stopped):
        server = client.server(server_id)
        assert server["status"] == "ERROR", server
        assert server["OS-EXT-STS:power_state"] == 0
        assert server["OS-EXT-STS:task_state"] is None
        assert "gone from its host" in server["fault"]["message"]
    # An ERROR server still holds its resources until it is deleted, then nothing leaks.
    for server_id in (running, stopped):
        assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
        client.wait_gone(server_id)
    assert client.total_usage() == {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}


def test_a_restart_keeps_running_guests_and_finishes_what_was_in_flight(
        keeping_cloud: tuple[EmbeddedCloud, CloudClient]) -> None:
    cloud, client = keeping_cloud
    flavor, image = client.create_flavor(), client.create_image()
    kept, stopping, deleting = (client.boot(flavor, image) for _ in range(3))
    for server_id in (kept, stopping, deleting):
        client.wait_status(server_id, {"ACTIVE"})

    # The agents die; what the API and conductor start meanwhile waits in their queues.
    stop_agents(cloud)
    spawning = client.boot(flavor, image)
    wait_for(client, spawning, "spawning")
    assert client.compute("POST", f"/servers/{stopping}/action",
                          json={"os-stop": None}).status_code == 202
    wait_for(client, stopping, "powering-off")
    assert client.compute("DELETE", f"/servers/{deleting}").status_code == 204

    start_agents(cloud)

    # Settled before any queued message was taken: the spawn finished, the delete
    # finished, the stop nobody saw through ended (the guest still runs).
    assert client.server(spawning)["status"] == "ACTIVE"
    assert client.compute("GET", f"/servers/{deleting}").status_code == 404
    stopped = client.server(stopping)
    assert (stopped["status"], stopped["OS-EXT-STS:task_state"]) == ("ACTIVE", None)
    kept_server = client.server(kept)
    assert (kept_server["status"], kept_server["OS-EXT-STS:power_state"]) == ("ACTIVE", 1)
    # The queued stop, from before the restart, finds its task over and leaves the guest.
    time.sleep(1.0)
    stopped = client.server(stopping)
    assert (stopped["status"], stopped["OS-EXT-STS:power_state"]) == ("ACTIVE", 1)
    assert client.total_usage() == {"VCPU": 3, "MEMORY_MB": 3 * 512, "DISK_GB": 3}


def test_the_scheduler_answers_a_repeated_request_with_the_claim_it_made(
        forgetting_cloud: tuple[EmbeddedCloud, CloudClient]) -> None:
    cloud, client = forgetting_cloud
    flavor, image = client.create_flavor(), client.create_image()
    server_id = client.boot(flavor, image)
    host = client.wait_status(server_id, {"ACTIVE"})["OS-EXT-SRV-ATTR:host"]
    engine = create_engine(cloud.settings.compute_db_url)
    try:
        with transaction(session_factory(engine)) as session:
            spec = to_request_spec(session, queries.get_instance(session,
                                                                 uuid.UUID(server_id)))
    finally:
        engine.dispose()
    assert cloud._messaging is not None
    scheduler = SchedulerClient(cloud._messaging)
    ctx = admin_context()

    # Asked again (its answer lost in a broker outage): the same host, nothing claimed twice.
    again = scheduler.select_destination(ctx, spec)
    assert again.host == host
    assert client.total_usage() == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}

    # Even told it was never scheduled (two conductors drove it at once), the scheduler
    # finds the claim when its own claim of the same consumer is refused.
    raced = scheduler.select_destination(ctx, spec.model_copy(update={"first_claim": True}))
    assert raced.host == host
    assert client.total_usage() == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}

    # A claim on a host the build must now avoid is given back, the new one replaces it.
    moved = scheduler.select_destination(ctx, RequestSpec.model_validate(
        {**spec.model_dump(mode="json"), "ignore_hosts": [host]}))
    assert moved.host != host
    assert client.total_usage() == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    allocations = client.placement("GET", f"/allocations/{server_id}").json()["allocations"]
    assert list(allocations) == [str(moved.compute_node_uuid)]


def test_a_spawn_on_a_host_that_stays_down_ends_in_error_and_gives_its_claim_back(
        forgetting_cloud: tuple[EmbeddedCloud, CloudClient]) -> None:
    cloud, client = forgetting_cloud
    flavor, image = client.create_flavor(), client.create_image()
    stop_agents(cloud)  # every host of the cloud: nowhere else to go
    # An agent elsewhere still beats: the silent hosts are down, not the message bus.
    alive = threading.Event()
    beating = threading.Thread(target=_beat, args=(cloud, "elsewhere", alive), daemon=True)
    beating.start()
    server_id = client.boot(flavor, image)

    # No deadline needed: a build scheduled before the hosts were seen down waits in
    # spawning until they are, then a conductor takes it over and reschedules it; one
    # scheduled after finds no host at once. Either way: ERROR, nothing held.
    try:
        server = client.wait_status(server_id, {"ERROR"}, timeout=30)
    finally:
        alive.set()
        beating.join()
    assert "No valid host" in server["fault"]["message"]
    assert client.total_usage() == {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}
    start_agents(cloud)
    assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
    client.wait_gone(server_id)


def _beat(cloud: EmbeddedCloud, host: str, stop: threading.Event) -> None:
    """Heartbeats of an agent on another host, until ``stop``."""
    engine = create_engine(cloud.settings.compute_db_url)
    try:
        while not stop.is_set():
            with transaction(session_factory(engine)) as session:
                if not queries.heartbeat(session, host, "kilonova-compute"):
                    queries.upsert_service(session, host, "kilonova-compute", "compute")
            stop.wait(0.5)
    finally:
        engine.dispose()
