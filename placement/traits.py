"""Traits: the standard catalogue, operators' CUSTOM_* ones, and those of providers."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.errors import BadRequest, Conflict, NotFound
from placement import generations
from placement.db.helpers import insert_ignoring_duplicates
from placement.db.models import ResourceProviderTrait, Trait
from placement.filters import trait_ids
from placement.providers import Provider


def list_traits(
    session: Session, names: list[str] | None = None, prefix: str | None = None,
    associated: bool | None = None,
) -> list[str]:
    """Trait names, filtered by exact names, a prefix and whether providers have them."""
    stmt = sa.select(Trait.name).order_by(Trait.name)
    if names is not None:
        stmt = stmt.where(Trait.name.in_(names))
    if prefix is not None:
        stmt = stmt.where(Trait.name.startswith(prefix, autoescape=True))
    if associated is not None:
        used = Trait.id.in_(sa.select(ResourceProviderTrait.trait_id))
        stmt = stmt.where(used if associated else ~used)
    return list(session.scalars(stmt))


def trait_exists(session: Session, name: str) -> bool:
    return session.scalar(sa.select(Trait.id).where(Trait.name == name)) is not None


def ensure_trait(session: Session, name: str) -> bool:
    """Create a custom trait unless it exists; True if it was created."""
    if trait_exists(session, name):
        return False
    insert_ignoring_duplicates(session, Trait.__table__, [{"name": name}])  # type: ignore[arg-type]
    return True


def delete_trait(session: Session, name: str) -> None:
    """Raises BadRequest (standard trait), NotFound, Conflict (a provider has it)."""
    if not name.startswith("CUSTOM_"):
        raise BadRequest(f"Cannot delete standard trait {name}.")
    trait_id = session.scalar(sa.select(Trait.id).where(Trait.name == name))
    if trait_id is None:
        raise NotFound(f"No such trait(s): {name}.")
    in_use = session.scalar(
        sa.select(sa.func.count()).where(ResourceProviderTrait.trait_id == trait_id)
    )
    if in_use:
        raise Conflict(f"The trait {name} is in use by a resource provider.")
    session.execute(sa.delete(Trait).where(Trait.id == trait_id))


def provider_traits(session: Session, provider: Provider) -> list[str]:
    return list(
        session.scalars(
            sa.select(Trait.name)
            .join(ResourceProviderTrait, ResourceProviderTrait.trait_id == Trait.id)
            .where(ResourceProviderTrait.resource_provider_id == provider.id)
            .order_by(Trait.name)
        )
    )


def set_provider_traits(
    session: Session, provider: Provider, generation: int, names: list[str]
) -> int:
    """Replace the provider's traits; returns the new generation.

    Raises BadRequest (unknown trait), ProviderConcurrentUpdate.
    """
    ids = trait_ids(session, names)
    new_generation = generations.bump(session, provider.id, generation)
    _replace(session, provider, set(ids.values()))
    return new_generation


def clear_provider_traits(session: Session, provider: Provider) -> None:
    """Raises ProviderConcurrentUpdate."""
    generations.bump(session, provider.id, provider.generation)
    _replace(session, provider, set())


def _replace(session: Session, provider: Provider, wanted: set[int]) -> None:
    have = set(
        session.scalars(
            sa.select(ResourceProviderTrait.trait_id).where(
                ResourceProviderTrait.resource_provider_id == provider.id
            )
        )
    )
    if have - wanted:
        session.execute(
            sa.delete(ResourceProviderTrait).where(
                ResourceProviderTrait.resource_provider_id == provider.id,
                ResourceProviderTrait.trait_id.in_(have - wanted),
            )
        )
    rows = [{"resource_provider_id": provider.id, "trait_id": t} for t in sorted(wanted - have)]
    if rows:
        session.execute(sa.insert(ResourceProviderTrait), rows)
