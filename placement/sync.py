"""Standard resource classes and traits, copied into the database at start-up."""

from __future__ import annotations

import os_resource_classes
import os_traits
import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.db import utcnow
from placement.db.helpers import insert_ignoring_duplicates
from placement.db.models import ResourceClass, Trait


def sync_standards(session: Session) -> None:
    """Insert the standard resource classes and traits this release knows.

    Idempotent, and safe when several processes start at once (duplicates are
    skipped by the database, not by a read-then-write).
    """
    _sync_resource_classes(session)
    _sync_traits(session)


def _sync_resource_classes(session: Session) -> None:
    # A standard class's id is its position in STANDARDS, as upstream placement does.
    wanted = {name: index for index, name in enumerate(os_resource_classes.STANDARDS)}
    have = set(session.scalars(sa.select(ResourceClass.name)))
    now = utcnow()
    rows = [
        {"id": index, "name": name, "created_at": now}
        for name, index in wanted.items()
        if name not in have
    ]
    insert_ignoring_duplicates(session, ResourceClass.__table__, rows)  # type: ignore[arg-type]


def _sync_traits(session: Session) -> None:
    have = set(session.scalars(sa.select(Trait.name)))
    now = utcnow()
    rows = [
        {"name": name, "created_at": now}
        for name in sorted(os_traits.get_traits())
        if name not in have
    ]
    insert_ignoring_duplicates(session, Trait.__table__, rows)  # type: ignore[arg-type]
