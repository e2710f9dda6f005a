"""A build cast that waited past its takeover leaves the build to the conductor driving it."""

from __future__ import annotations

import time
import uuid

import sqlalchemy as sa

from cli.embedded import EmbeddedCloud
from common.compute_db.models import Instance
from common.context import admin_context
from common.db import create_engine, session_factory, transaction
from conductor.rpc.client import ConductorClient
from tests.cloud import CloudClient


def _rewind(cloud: EmbeddedCloud, server_id: str, owner: str | None) -> None:
    """Put an ACTIVE server back where a build starts, driven by ``owner``."""
    engine = create_engine(cloud.settings.compute_db_url)
    try:
        with transaction(session_factory(engine)) as session:
            session.execute(sa.update(Instance).where(Instance.uuid == uuid.UUID(server_id))
                            .values(vm_state="building", task_state="scheduling", host=None,
                                    node=None, power_state=0, work_owner=owner))
    finally:
        engine.dispose()


def test_a_late_build_cast_leaves_a_build_another_conductor_drives(
        cloud: EmbeddedCloud, client: CloudClient) -> None:
    flavor, image = client.create_flavor(), client.create_image()
    server_id = client.boot(flavor, image)
    client.wait_status(server_id, {"ACTIVE"})
    assert client.placement("DELETE", f"/allocations/{server_id}").status_code == 204
    _rewind(cloud, server_id, owner="conductor-b")
    assert cloud._messaging is not None
    conductor = ConductorClient(cloud._messaging)

    conductor.build_instance(admin_context(), uuid.UUID(server_id))
    time.sleep(2.0)
    server = client.server(server_id)
    assert (server["status"], server["OS-EXT-STS:task_state"]) == ("BUILD", "scheduling")
    assert client.placement("GET", f"/allocations/{server_id}").json()["allocations"] == {}

    # Nobody drives it: the same cast schedules and spawns it.
    _rewind(cloud, server_id, owner=None)
    conductor.build_instance(admin_context(), uuid.UUID(server_id))
    assert client.wait_status(server_id, {"ACTIVE", "ERROR"})["status"] == "ACTIVE"
    assert client.placement("GET", f"/allocations/{server_id}").json()["allocations"] != {}
