"""The ``sessions`` fixture of the functional tests that drive the compute database
directly: a migrated database on SQLite and on PostgreSQL.

A test module uses it by importing it (``from tests.functional.db_sessions import
sessions``, named in its ``__all__``); there is no conftest.py for tests/functional.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from common import db
from common.db import session_factory
from tests.dbutil import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path
             ) -> Iterator[sessionmaker[Session]]:
    """Sessions on a compute database at the schema's head (a fresh one per test)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'compute.sqlite'}"
        db.upgrade("compute", url)
    else:
        url = create_pg_database("kn_sessions", migrated="compute")
    engine = db.create_engine(url, pool_size=2)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()
        if request.param != "sqlite":
            drop_pg_database(url)
