"""What the scheduler reads of each host's load: live servers and recent failed builds."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

import scheduler.hosts
from common.compute_db.models import ComputeNode, Instance
from common.db import transaction, utcnow
from scheduler.hosts import load_hosts, recent_failures
from tests.functional.db_sessions import sessions

__all__ = ["sessions"]


def _add(session: Session, host: str | None, attempted: list[str],
         deleted: bool = False) -> None:
    session.add(Instance(display_name="s", project_id="p", user_id="u", reservation_id="r",
                         flavor={}, vm_state="active", host=host, attempted_hosts=attempted,
                         deleted=deleted))


def test_hosts_load_counts_live_servers_and_builds_that_failed_there(
        sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        _add(session, "h1", [])
        _add(session, "h1", ["h2"])             # failed on h2, now on h1
        _add(session, "h3", ["h2", "h1"])       # failed on h2 and h1
        _add(session, "h1", [], deleted=True)   # gone: not a live server
        _add(session, None, ["h2"])             # failed on h2, not placed since
    with transaction(sessions) as session:
        since = utcnow() - timedelta(minutes=5)
        assert recent_failures(session, since) == {"h2": 3, "h1": 1}
        assert recent_failures(session, utcnow() + timedelta(minutes=1)) == {}
        for host in ("h1", "h3", "h9"):
            session.add(ComputeNode(uuid=uuid.uuid4(), host=host,
                                    hypervisor_hostname=f"{host}.node",
                                    hypervisor_type="fake", vcpus=1, memory_mb=1, local_gb=1,
                                    cpu_allocation_ratio=1.0, ram_allocation_ratio=1.0,
                                    disk_allocation_ratio=1.0))
    with transaction(sessions) as session:
        nodes = dict(session.execute(sa.select(ComputeNode.host, ComputeNode.uuid)).all())
        loaded = load_hosts(session, nodes.values(), 60, {"h1": 4})
        # Many candidates: every row read and the asked ones kept, with the same answer.
        asked = [nodes["h1"], nodes["h9"]]
        few = load_hosts(session, asked, 60, {"h1": 4})
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(scheduler.hosts, "MANY", 1)
            many = load_hosts(session, asked, 60, {"h1": 4})
    by_host = {info.host: info for info in loaded.values()}
    assert {h: i.num_instances for h, i in by_host.items()} == {"h1": 2, "h3": 1, "h9": 0}
    assert {h: i.failed_builds for h, i in by_host.items()} == {"h1": 4, "h3": 0, "h9": 0}
    assert many == few and set(few) == set(asked)
