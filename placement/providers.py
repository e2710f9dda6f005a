"""Resource providers: creation, lookup, renaming, re-parenting and deletion."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from common.errors import BadRequest, NotFound
from placement.db.models import (
    Allocation,
    Inventory,
    ResourceProvider,
    ResourceProviderAggregate,
    ResourceProviderTrait,
)
from placement.errors import CannotDeleteParent, DuplicateName, ProviderInUse


@dataclass(frozen=True)
class Provider:
    id: int
    uuid: UUID
    name: str
    generation: int
    parent_id: int | None
    parent_uuid: UUID | None
    root_id: int
    root_uuid: UUID
    updated_at: datetime


# The provider a ``provider_select()`` is about; filter on its columns.
RP = aliased(ResourceProvider, name="rp")
_PARENT = aliased(ResourceProvider, name="parent")
_ROOT = aliased(ResourceProvider, name="root")


def provider_select() -> sa.Select[*tuple[Any, ...]]:
    """SELECT of every provider with its parent's and root's uuid, for ``Provider``."""
    rp, parent, root = RP, _PARENT, _ROOT
    return (
        sa.select(
            rp.id, rp.uuid, rp.name, rp.generation, rp.parent_provider_id,
            parent.uuid.label("parent_uuid"), rp.root_provider_id, root.uuid.label("root_uuid"),
            sa.func.coalesce(rp.updated_at, rp.created_at).label("changed"),
        )
        .select_from(rp)
        .join(root, root.id == rp.root_provider_id)
        .outerjoin(parent, parent.id == rp.parent_provider_id)
    )


def to_provider(row: sa.Row[Any]) -> Provider:
    m = row._mapping
    return Provider(
        id=m["id"], uuid=m["uuid"], name=m["name"], generation=m["generation"],
        parent_id=m["parent_provider_id"], parent_uuid=m["parent_uuid"],
        root_id=m["root_provider_id"], root_uuid=m["root_uuid"], updated_at=m["changed"],
    )


def find_provider(session: Session, rp_uuid: UUID) -> Provider | None:
    row = session.execute(provider_select().where(RP.uuid == rp_uuid)).first()
    return None if row is None else to_provider(row)


def get_provider(session: Session, rp_uuid: UUID) -> Provider:
    """The provider with this uuid. Raises NotFound."""
    provider = find_provider(session, rp_uuid)
    if provider is None:
        raise NotFound(f"No resource provider with uuid {rp_uuid} found")
    return provider


def create_provider(
    session: Session, name: str, rp_uuid: UUID | None, parent_uuid: UUID | None
) -> Provider:
    """Create a provider. Raises DuplicateName, BadRequest (unknown parent)."""
    rp_uuid = rp_uuid or uuid.uuid4()
    _check_unique(session, rp_uuid, name)
    refused = f'Unable to create resource provider "{name}", {rp_uuid}: '
    if parent_uuid == rp_uuid:
        raise BadRequest(refused + "parent provider UUID cannot be same as UUID. Please set "
                         "parent provider UUID to None if there is no parent.")
    parent = _parent(session, parent_uuid, refused)
    row = ResourceProvider(uuid=rp_uuid, name=name, generation=0,
                           parent_provider_id=parent.id if parent else None)
    session.add(row)
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:
        raise DuplicateName(f"Conflicting resource provider {name} already exists.") from exc
    row.root_provider_id = parent.root_id if parent else row.id
    session.flush()
    return get_provider(session, rp_uuid)


def update_provider(
    session: Session, rp_uuid: UUID, name: str, parent_uuid: UUID | None,
    *, change_parent: bool, allow_reparent: bool,
) -> Provider:
    """Rename a provider and maybe move it under another parent.

    Before microversion 1.37 (``allow_reparent`` false) a provider that has a parent
    keeps it. Raises NotFound, DuplicateName, BadRequest.
    """
    provider = get_provider(session, rp_uuid)
    if name != provider.name:
        _check_unique(session, None, name)
    values: dict[str, object] = {"name": name}
    if change_parent and parent_uuid != provider.parent_uuid:
        refused = f"Unable to save resource provider {rp_uuid}: "
        if provider.parent_uuid is not None and not allow_reparent:
            change = "un-parenting" if parent_uuid is None else "re-parenting"
            raise BadRequest(f"{refused}{change} a provider is not currently allowed.")
        values.update(_new_position(session, provider, parent_uuid, refused))
    try:
        session.execute(
            sa.update(ResourceProvider).where(ResourceProvider.id == provider.id).values(**values)
            .execution_options(synchronize_session=False)
        )
    except sa.exc.IntegrityError as exc:
        raise DuplicateName(f"Conflicting resource provider {name} already exists.") from exc
    if "root_provider_id" in values and values["root_provider_id"] != provider.root_id:
        _move_subtree(session, provider, int(str(values["root_provider_id"])))
    return get_provider(session, rp_uuid)


def delete_provider(session: Session, rp_uuid: UUID) -> None:
    """Delete a provider with its inventories, traits and aggregate links.

    Raises NotFound, CannotDeleteParent (it has children), ProviderInUse (allocations).
    """
    provider = find_provider(session, rp_uuid)
    if provider is None:
        raise NotFound(f"No resource provider with uuid {rp_uuid} found for delete")
    has_children = session.scalar(
        sa.select(sa.func.count()).where(ResourceProvider.parent_provider_id == provider.id)
    )
    if has_children:
        raise CannotDeleteParent(
            f"Unable to delete parent resource provider {rp_uuid}: "
            "It has child resource providers."
        )
    in_use = session.scalar(
        sa.select(sa.func.count()).where(Allocation.resource_provider_id == provider.id)
    )
    if in_use:
        raise ProviderInUse(
            f"Unable to delete resource provider {rp_uuid}: Resource provider has allocations."
        )
    for table in (Inventory, ResourceProviderTrait, ResourceProviderAggregate):
        session.execute(sa.delete(table).where(table.resource_provider_id == provider.id))
    session.execute(sa.delete(ResourceProvider).where(ResourceProvider.id == provider.id))


def _check_unique(session: Session, rp_uuid: UUID | None, name: str) -> None:
    if rp_uuid is not None and find_provider(session, rp_uuid) is not None:
        raise DuplicateName(f"Conflicting resource provider uuid: {rp_uuid} already exists.")
    taken = session.scalar(sa.select(ResourceProvider.id).where(ResourceProvider.name == name))
    if taken is not None:
        raise DuplicateName(f"Conflicting resource provider name: {name} already exists.")


def _parent(session: Session, parent_uuid: UUID | None, refused: str) -> Provider | None:
    """``refused`` starts the message of the BadRequest raised for an unknown parent."""
    if parent_uuid is None:
        return None
    parent = find_provider(session, parent_uuid)
    if parent is None:
        raise BadRequest(f"{refused}parent provider UUID does not exist.")
    return parent


def _new_position(
    session: Session, provider: Provider, parent_uuid: UUID | None, refused: str
) -> dict[str, object]:
    parent = _parent(session, parent_uuid, refused)
    if parent is None:
        return {"parent_provider_id": None, "root_provider_id": provider.id}
    if parent.id == provider.id or provider.id in ancestor_ids(session, parent.id):
        raise BadRequest(f"{refused}creating loop in the provider tree is not allowed.")
    return {"parent_provider_id": parent.id, "root_provider_id": parent.root_id}


def ancestor_ids(session: Session, provider_id: int) -> list[int]:
    """Ids from ``provider_id``'s parent up to its root."""
    parents = dict(
        session.execute(
            sa.select(ResourceProvider.id, ResourceProvider.parent_provider_id).where(
                ResourceProvider.root_provider_id
                == sa.select(ResourceProvider.root_provider_id)
                .where(ResourceProvider.id == provider_id)
                .scalar_subquery()
            )
        ).all()
    )
    chain: list[int] = []
    current = parents.get(provider_id)
    while current is not None:
        chain.append(current)
        current = parents.get(current)
    return chain


def _move_subtree(session: Session, provider: Provider, new_root_id: int) -> None:
    # The provider itself already points at its new root; its descendants do not yet.
    tree = dict(
        session.execute(
            sa.select(ResourceProvider.id, ResourceProvider.parent_provider_id).where(
                ResourceProvider.root_provider_id == provider.root_id
            )
        ).all()
    )
    moving = {provider.id}
    changed = True
    while changed:
        before = len(moving)
        moving |= {rp for rp, parent in tree.items() if parent in moving}
        changed = len(moving) != before
    session.execute(
        sa.update(ResourceProvider).where(ResourceProvider.id.in_(moving))
        .values(root_provider_id=new_root_id).execution_options(synchronize_session=False)
    )
