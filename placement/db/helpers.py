"""Statements shared by the placement domain modules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_duplicates(
    session: Session, table: sa.Table, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert ``rows``, silently skipping any that collide with a unique key.

    Two processes syncing the same names at once must both succeed.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(table).on_conflict_do_nothing(), list(rows))
    elif dialect == "sqlite":
        session.execute(sqlite.insert(table).on_conflict_do_nothing(), list(rows))
    else:
        raise NotImplementedError(f"placement does not support {dialect}")
