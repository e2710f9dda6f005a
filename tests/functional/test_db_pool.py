"""The database pool on real PostgreSQL: a connection idle past ``IDLE_PING_AFTER`` is
tested before it is handed out (a dead one is replaced unseen); one returned a moment
ago is handed out untested, and if it died meanwhile its first statement fails as a
disconnect, which marks the pool stale so that the next checkout connects afresh."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from common import db
from tests.dbutil import PG_ADMIN_URL


def _terminate(pid: int) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()


def _pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def test_an_idle_dead_connection_is_replaced_before_it_is_handed_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    engine = db.create_engine(PG_ADMIN_URL, pool_size=1, max_pool=1)
    try:
        first = _pid(engine)
        _terminate(first)
        monkeypatch.setattr(db, "IDLE_PING_AFTER", 0.0)  # every checkout counts as idle
        second = _pid(engine)
        assert second != first
        assert _pid(engine) == second  # alive: kept
    finally:
        engine.dispose()


def test_a_connection_in_use_a_moment_ago_is_not_pinged_and_a_dead_one_fails_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    engine = db.create_engine(PG_ADMIN_URL, pool_size=1, max_pool=1)
    try:
        first = _pid(engine)
        _terminate(first)
        monkeypatch.setattr(db, "IDLE_PING_AFTER", 3600.0)
        with pytest.raises(sa.exc.OperationalError) as failed:
            _pid(engine)
        assert failed.value.connection_invalidated
        assert _pid(engine) != first
    finally:
        engine.dispose()
