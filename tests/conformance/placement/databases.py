"""A fresh placement database per gabbi file, copied from a template made once.

Running the migrations and syncing the standard classes and traits takes seconds; a
copy of a ready database (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on
PostgreSQL) takes milliseconds on SQLite and a few hundred on PostgreSQL, so there the
next database is copied (and the last one dropped) in the background while a file runs.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

from common.db import create_engine, session_factory, transaction, upgrade
from placement.sync import sync_standards
from tests.dbutil import PG_ADMIN_URL, create_pg_database, drop_pg_database


def _prepare(url: str) -> None:
    upgrade("placement", url)
    engine = create_engine(url, pool_size=1)
    try:
        with transaction(session_factory(engine)) as session:
            sync_standards(session)
    finally:
        engine.dispose()


class DatabaseFactory:
    """Hands out empty placement databases at head, one backend per factory."""

    def __init__(self, backend: str, workdir: Path) -> None:
        self.backend = backend
        self.workdir = workdir
        self._template = ""
        # One worker: copies and drops run one at a time, off the tests' path.
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gabbi-db")
        self._next: Future[str] | None = None

    def __enter__(self) -> DatabaseFactory:
        if self.backend == "sqlite":
            path = self.workdir / "template.sqlite"
            _prepare(f"sqlite:///{path}")
            # Fold the write-ahead log into the file, so one file copy is the database.
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._template = str(path)
        else:
            url = create_pg_database("kn_gabbi_tmpl")
            _prepare(url)
            self._template = url
        return self

    def __exit__(self, *exc: object) -> None:
        if self._next is not None:
            self.drop(self._next.result())
        self._background.shutdown(wait=True)
        if self.backend == "postgresql" and self._template:
            drop_pg_database(self._template)

    def create(self) -> str:
        """A new database's SQLAlchemy URL."""
        if self.backend == "sqlite":
            path = self.workdir / f"db-{uuid.uuid4().hex[:12]}.sqlite"
            shutil.copyfile(self._template, path)
            return f"sqlite:///{path}"
        ready = self._next.result() if self._next is not None else self._copy()
        self._next = self._background.submit(self._copy)
        return ready

    def _copy(self) -> str:
        name = f"kn_gabbi_{uuid.uuid4().hex[:12]}"
        template = self._template.rsplit("/", 1)[1]
        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                # A throw-away database need not wait for the disk on every commit.
                conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        finally:
            engine.dispose()
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    def drop(self, url: str) -> None:
        if self.backend == "sqlite":
            path = Path(url.split("///", 1)[1])
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            self._background.submit(drop_pg_database, url)
