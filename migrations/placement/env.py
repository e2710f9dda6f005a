"""Alembic environment of the placement database."""

from typing import Any

from alembic import context

from common.db import create_engine
from placement.db.models import PlacementBase

config = context.config
target_metadata = PlacementBase.metadata


def _migrate(connection: Any) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _migrate(conn)
    engine.dispose()


run()
