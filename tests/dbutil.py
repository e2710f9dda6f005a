"""Throw-away databases on the shared PostgreSQL server for one test run."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get(
    "KILONOVA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def create_pg_database(prefix: str = "kn", migrated: str | None = None) -> str:
    """Create a uniquely named database and return its SQLAlchemy URL.

    ``migrated`` ("compute" or "placement"): a copy of a template already at that
    schema's head (made once per migration set, kept across runs), which is several
    times quicker than migrating every new database.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if migrated is None:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            else:
                template = _template(conn, migrated)
                conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        engine.dispose()
    return _url(name)


def _url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _template(conn: sa.Connection, which: str) -> str:
    """The name of a database at ``which``'s head, made under a lock if missing."""
    from common import db

    digest = hashlib.sha256()
    for path in sorted((MIGRATIONS / which).rglob("*.py")):
        digest.update(path.read_bytes())
    name = f"kn_template_{which}_{digest.hexdigest()[:12]}"
    # Test workers start at once: one makes the template, the others wait for it.
    conn.exec_driver_sql("SELECT pg_advisory_lock(4242)")
    try:
        exists = conn.exec_driver_sql(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)).first()
        if exists is None:
            building = f"{name}_building"
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{building}"')
            db.upgrade(which, _url(building))
            conn.exec_driver_sql(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    finally:
        conn.exec_driver_sql("SELECT pg_advisory_unlock(4242)")
    return name


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()
