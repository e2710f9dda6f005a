"""What the scheduler reads of each host's load: live servers and recent failed builds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from common import db
from common.compute_db.models import Instance
from common.db import session_factory, transaction, utcnow
from scheduler.hosts import _instance_counts, _recent_failures
from tests.dbutil import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path
             ) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'compute.sqlite'}"
    else:
        url = create_pg_database("kn_hostload", migrated="compute")
    if request.param == "sqlite":
        db.upgrade("compute", url)
    engine = db.create_engine(url, pool_size=2)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()
        if request.param != "sqlite":
            drop_pg_database(url)


def _add(session: Session, host: str | None, attempted: list[str],
         deleted: bool = False) -> None:
    session.add(Instance(display_name="s", project_id="p", user_id="u", reservation_id="r",
                         flavor={}, vm_state="active", host=host, attempted_hosts=attempted,
                         deleted=deleted))


def test_failures_count_builds_that_left_a_host_and_counts_live_servers(
        sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        _add(session, "h1", [])
        _add(session, "h1", ["h2"])             # failed on h2, now on h1
        _add(session, "h3", ["h2", "h1"])       # failed on h2 and h1
        _add(session, "h1", [], deleted=True)   # gone: not a live server
        _add(session, None, ["h2"])             # failed on h2, not placed since
    with transaction(sessions) as session:
        since = utcnow() - timedelta(minutes=5)
        assert _recent_failures(session, ["h1", "h2", "h3"], since) == {"h2": 3, "h1": 1}
        assert _recent_failures(session, ["h3"], since) == {}
        assert _recent_failures(session, ["h2"], utcnow() + timedelta(minutes=1)) == {}
        assert _instance_counts(session, ["h1", "h3", "h9"]) == {"h1": 2, "h3": 1}
