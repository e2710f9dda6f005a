"""Database plumbing: engines, sessions, naming conventions and schema checks."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import CHAR, TypeDecorator

from common.errors import SchemaBehind

if TYPE_CHECKING:
    from common.settings import DatabaseSettings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def utcnow() -> datetime:
    """Naive UTC now: every timestamp column stores naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


class UUIDStr(TypeDecorator[uuid.UUID]):
    """A UUID stored as its 36-character text on every backend."""

    impl = CHAR(36)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: Any, dialect: Any) -> uuid.UUID | None:
        return None if value is None else uuid.UUID(value)


def create_engine(url: str, pool_size: int = 10, max_pool: int | None = None,
                  pool_timeout: float = 10.0) -> Engine:
    """An engine tuned for the backend: SQLite gets WAL and serialised writers; a server
    database a pool of ``pool_size`` connections, growing to at most ``max_pool``."""
    if url.startswith("sqlite"):
        if url not in ("sqlite://", "sqlite:///:memory:"):
            Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 60}
        )
        _tune_sqlite(engine)
        return engine
    cap = max(max_pool or pool_size * 2, pool_size)
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=cap - pool_size,
                              pool_timeout=pool_timeout)
    _ping_after_idle(engine)
    return engine


# A pooled connection idle longer than this is tested before it is handed out.
IDLE_PING_AFTER = 1.0
_RETURNED = "kilonova_returned"


def _ping_after_idle(engine: Engine) -> None:
    """Test a connection handed out after sitting idle in the pool (a restarted server
    left it dead), not one just returned: under load that round trip was one more per
    transaction, and most of a busy process's checkouts. A connection that breaks while
    in use is caught where it is used: the driver's error marks the pool stale and the
    callers' transient retries run again on fresh connections."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED)
        if returned is None or time.monotonic() - returned < IDLE_PING_AFTER:
            return  # a fresh connection, or one in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool drops it and hands out another (a new one if need be).
            raise sa.exc.DisconnectionError(str(exc)) from exc


def engine_for(url: str, cfg: DatabaseSettings) -> Engine:
    """``create_engine`` with the pool bounds of ``[database]``."""
    return create_engine(url, cfg.pool_size, cfg.max_pool, cfg.pool_timeout)


_HOLDS_WRITER = "kilonova_holds_writer"


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    # SQLite has one writer at a time. Queue this process's writers on a Python lock:
    # contending inside SQLite means its busy handler sleeping up to 100 ms a round,
    # which under load turns into multi-second stalls.
    writer = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            # WAL readers never block writers nor each other.
            conn.exec_driver_sql("BEGIN")
            return
        writer.acquire()
        conn.info[_HOLDS_WRITER] = True
        try:
            # BEGIN IMMEDIATE takes the write lock up front: a deferred transaction
            # that later writes can fail at once with "database is locked".
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn)
            raise

    def _release(conn: Any) -> None:
        if conn.info.pop(_HOLDS_WRITER, False):
            writer.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        # A connection returned without commit/rollback events must not keep the lock.
        if record.info.pop(_HOLDS_WRITER, False):
            writer.release()


READ_ONLY = "kilonova_read_only"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def read_only(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions for transactions that only read (on SQLite they skip the write lock)."""
    engine = factory.kw["bind"]
    return sessionmaker(bind=engine.execution_options(**{READ_ONLY: True}),
                        expire_on_commit=False)


@contextlib.contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(which: str, url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR / which))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(which: str, url: str) -> None:
    """Bring database ``which`` (compute or placement) to the newest revision."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config(which, url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()


def check_at_head(which: str, engine: Engine) -> None:
    """Raise SchemaBehind unless the database is at the newest revision."""
    script = ScriptDirectory.from_config(alembic_config(which, str(engine.url)))
    heads = set(script.get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current != heads:
        raise SchemaBehind(
            f"the {which} database ({engine.url.render_as_string(hide_password=True)}) is at "
            f"revision {sorted(current) or 'none'}, this code needs {sorted(heads)}: "
            "run `kilonova db upgrade`"
        )
