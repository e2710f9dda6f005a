"""Actions nobody drives any more are taken over at once, not left to their deadline.

An action begun by the API (task set, action recorded) whose cast to a conductor was lost,
or whose conductor died while driving it, is driven again from its row when the step can
be repeated (power actions, deletes) and ended with a fault naming the interruption when
its arguments died with the message (a snapshot). Deadlines here are an hour: only the
takeover can end these tasks within the test.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from cli.embedded import EmbeddedCloud
from common.compute_db import queries
from common.compute_db.models import Instance, Service
from common.compute_db.transition import Record, transition
from common.context import admin_context
from common.db import create_engine, session_factory, transaction, utcnow
from common.states import Action
from tests.cloud import CloudClient
from tests.conftest import cloud_settings, running_cloud
from tests.functional.compute.actions_helpers import allocations, events
from tests.functional.test_agent_restart import wait_for

HOUR = 3600


@pytest.fixture
def cloud(tmp_path: Path, backend: str) -> Iterator[tuple[EmbeddedCloud, CloudClient]]:
    settings = cloud_settings(tmp_path, backend, conductor={
        "redrive_after": 2.0, "sweep_interval": 0.5, "task_timeout": HOUR})
    with running_cloud(settings) as running:
        client = CloudClient(running.base_url, version="2.73")
        yield running, client
        client.close()


def begin_without_cast(cloud: EmbeddedCloud, server_id: str, action: Action,
                       owner: str | None = None) -> None:
    """Start ``action`` as the API does, but its message never reaches a conductor;
    ``owner``: the conductor that had stamped it as its own before dying."""
    engine = create_engine(cloud.settings.compute_db_url)
    try:
        with transaction(session_factory(engine)) as session:
            inst = queries.get_instance(session, uuid.UUID(server_id))
            moved = transition(session, inst.uuid, action,
                               deadline=utcnow() + timedelta(seconds=HOUR),
                               record=Record(admin_context(), action.value))
            assert moved is not None
            if owner is not None:
                session.execute(sa.update(Instance).where(Instance.uuid == inst.uuid)
                                .values(work_owner=owner, work_claimed_at=utcnow()))
    finally:
        engine.dispose()


def dead_conductor(cloud: EmbeddedCloud, name: str) -> None:
    """A conductor service whose heartbeat stopped an hour ago."""
    engine = create_engine(cloud.settings.compute_db_url)
    try:
        with transaction(session_factory(engine)) as session:
            session.add(Service(host=name, binary="kilonova-conductor", topic="conductor",
                                last_seen_up=utcnow() - timedelta(seconds=HOUR)))
    finally:
        engine.dispose()


def settled(client: CloudClient, server_id: str) -> dict[str, Any]:
    """The server once no task is left."""
    return wait_for(client, server_id, None)


def test_a_lost_power_action_is_driven_again_and_recorded_in_its_action(
        cloud: tuple[EmbeddedCloud, CloudClient]) -> None:
    running, client = cloud
    server_id = client.boot(client.create_flavor(), client.create_image())
    client.wait_status(server_id, {"ACTIVE"})

    begin_without_cast(running, server_id, Action.STOP)
    assert client.server(server_id)["OS-EXT-STS:task_state"] == "powering-off"
    began = time.monotonic()
    server = settled(client, server_id)
    assert time.monotonic() - began < 15  # the redrive, not the hour-long deadline
    assert (server["status"], server["OS-EXT-STS:power_state"]) == ("SHUTOFF", 4)
    [step] = events(client, server_id, "stop")
    assert (step["event"], step["result"]) == ("compute_stop_instance", "Success")


def test_a_power_action_of_a_dead_conductor_is_taken_over_at_once(
        cloud: tuple[EmbeddedCloud, CloudClient]) -> None:
    running, client = cloud
    server_id = client.boot(client.create_flavor(), client.create_image())
    client.wait_status(server_id, {"ACTIVE"})
    assert client.compute("POST", f"/servers/{server_id}/action",
                          json={"os-stop": None}).status_code == 202
    settled(client, server_id)

    dead_conductor(running, "conductor-gone")
    begin_without_cast(running, server_id, Action.START, owner="conductor-gone")
    server = settled(client, server_id)
    assert (server["status"], server["OS-EXT-STS:power_state"]) == ("ACTIVE", 1)


def test_a_live_conductors_action_is_left_to_it(
        cloud: tuple[EmbeddedCloud, CloudClient]) -> None:
    running, client = cloud
    server_id = client.boot(client.create_flavor(), client.create_image())
    client.wait_status(server_id, {"ACTIVE"})
    # Stamped by the running conductor since it started: it is driving it (here: it is
    # not, so nothing may end the task but its deadline).
    begin_without_cast(running, server_id, Action.STOP,
                       owner=running.settings.compute.host)
    time.sleep(4)
    assert client.server(server_id)["OS-EXT-STS:task_state"] == "powering-off"


def test_a_lost_delete_is_finished_and_its_allocations_released(
        cloud: tuple[EmbeddedCloud, CloudClient]) -> None:
    running, client = cloud
    server_id = client.boot(client.create_flavor(), client.create_image())
    client.wait_status(server_id, {"ACTIVE"})
    assert allocations(client, server_id)

    begin_without_cast(running, server_id, Action.DELETE)
    client.wait_gone(server_id, timeout=20)
    assert allocations(client, server_id) == {}


def test_a_lost_snapshot_ends_with_a_fault_naming_the_interruption(
        cloud: tuple[EmbeddedCloud, CloudClient]) -> None:
    running, client = cloud
    server_id = client.boot(client.create_flavor(), client.create_image())
    client.wait_status(server_id, {"ACTIVE"})

    begin_without_cast(running, server_id, Action.SNAPSHOT)
    server = settled(client, server_id)
    assert server["status"] == "ACTIVE"
    actions = client.compute("GET", f"/servers/{server_id}/os-instance-actions").json()
    assert actions["instanceActions"][0]["message"] == "Error"
    # The server stays usable: a new snapshot is taken (and ends before the cloud stops:
    # a conductor waiting on a stopped agent would wait out the hour-long deadline).
    resp = client.compute("POST", f"/servers/{server_id}/action",
                          json={"createImage": {"name": "again"}})
    assert resp.status_code == 202, resp.text
    assert settled(client, server_id)["status"] == "ACTIVE"
    image = client.http.get(f"/image/v2/images/{resp.json()['image_id']}")
    assert image.status_code == 200 and image.json()["status"] == "active", image.text
