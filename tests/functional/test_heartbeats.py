"""Many hosts of one agent process beat in one message and one statement."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from common import db
from common.compute_db.models import Service
from common.context import admin_context
from common.db import create_engine, session_factory, transaction, utcnow
from conductor.hosts import HostRecords
from conductor.rpc.client import ConductorClient
from tests.cloud import CloudClient
from tests.conftest import cloud_settings, running_cloud

BINARY = "kilonova-compute"


def test_one_batch_marks_known_hosts_alive_and_records_new_ones(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'compute.sqlite'}"
    db.upgrade("compute", url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        old = utcnow() - timedelta(hours=1)
        with transaction(sessions) as session:
            for host in ("h1", "h2", "other"):
                session.add(Service(host=host, binary=BINARY, topic="compute",
                                    last_seen_up=old))
        HostRecords(sessions).heartbeats(["h1", "h2", "h3", "h3"], BINARY)
        with transaction(sessions) as session:
            seen = dict(session.execute(sa.select(Service.host, Service.last_seen_up)
                                        .where(Service.binary == BINARY)).all())
        assert set(seen) == {"h1", "h2", "h3", "other"}
        assert seen["other"] == old  # not in the batch: untouched
        for host in ("h1", "h2", "h3"):
            beat = seen[host]
            assert beat is not None and beat > old, host
    finally:
        engine.dispose()


def test_one_read_answers_the_servers_of_many_hosts(tmp_path: Path) -> None:
    settings = cloud_settings(tmp_path, "sqlite-memory", fake_hosts=2)
    with running_cloud(settings) as cloud:
        client = CloudClient(cloud.base_url)
        try:
            server_id = client.boot(client.create_flavor(), client.create_image(),
                                    metadata={"role": "web"})
            host = client.wait_status(server_id, {"ACTIVE"})["OS-EXT-SRV-ATTR:host"]
        finally:
            client.close()
        assert cloud._messaging is not None
        found = ConductorClient(cloud._messaging).instances_on_hosts(
            admin_context(), [host, "no-such-host"])
        assert found["no-such-host"] == []
        [inst] = found[host]
        assert (str(inst.uuid), inst.host, inst.metadata) == (server_id, host, {"role": "web"})
