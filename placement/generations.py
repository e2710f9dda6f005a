"""Compare-and-swap on resource provider generations."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.db import utcnow
from placement.db.models import ResourceProvider
from placement.errors import ProviderConcurrentUpdate

GENERATION_CONFLICT = (
    "resource provider generation conflict: Resource provider's generation already "
    "changed. Please update the generation and try again."
)


def bump(session: Session, provider_id: int, seen: int) -> int:
    """Move a provider from generation ``seen`` to the next one and return it.

    Raises ProviderConcurrentUpdate when another writer got there first.
    """
    result = session.execute(
        sa.update(ResourceProvider)
        .where(ResourceProvider.id == provider_id, ResourceProvider.generation == seen)
        .values(generation=seen + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ProviderConcurrentUpdate(GENERATION_CONFLICT)
    return seen + 1


def current(session: Session, provider_ids: list[int]) -> dict[int, int]:
    """The generation of each provider, read before anything that depends on it."""
    rows = session.execute(
        sa.select(ResourceProvider.id, ResourceProvider.generation).where(
            ResourceProvider.id.in_(provider_ids)
        )
    )
    return {row.id: row.generation for row in rows}
