"""Resource classes: the standard ones and operators' CUSTOM_* ones."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import os_resource_classes
import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.db import utcnow
from common.errors import BadRequest, Conflict, NotFound
from placement.db.models import CUSTOM_RESOURCE_CLASS_MIN_ID, Inventory, ResourceClass

_ID_RACE_RETRIES = 5


def list_classes(session: Session) -> list[ResourceClass]:
    return list(session.scalars(sa.select(ResourceClass).order_by(ResourceClass.id)))


def get_class(session: Session, name: str) -> ResourceClass:
    """Raises NotFound."""
    found = session.scalar(sa.select(ResourceClass).where(ResourceClass.name == name))
    if found is None:
        raise NotFound(f"No such resource class {name}.")
    return found


def class_ids(session: Session, names: Iterable[str], what: str = "resources",
              strict: bool = True) -> dict[str, int]:
    """Ids of the named classes. Raises BadRequest naming an unknown one (unless not
    ``strict``: then unknown names are left out)."""
    wanted = set(names)
    if not wanted:
        return {}
    found = dict(
        session.execute(
            sa.select(ResourceClass.name, ResourceClass.id).where(ResourceClass.name.in_(wanted))
        ).all()
    )
    return _all_found(wanted, found, what) if strict else found


def ids_among(
    names_by_id: Mapping[int, str], names: Iterable[str], what: str = "resources"
) -> dict[str, int]:
    """Ids of the named classes, from ``class_names``'s answer. Raises BadRequest."""
    wanted = set(names)
    found = {name: class_id for class_id, name in names_by_id.items() if name in wanted}
    return _all_found(wanted, found, what)


def _all_found(wanted: set[str], found: dict[str, int], what: str) -> dict[str, int]:
    missing = sorted(wanted - set(found))
    if missing:
        raise BadRequest(f"Invalid resource class in {what} parameter: {', '.join(missing)}")
    return found


def class_names(session: Session) -> dict[int, str]:
    return dict(session.execute(sa.select(ResourceClass.id, ResourceClass.name)).all())


def create_class(session: Session, name: str) -> ResourceClass:
    """Create a custom class. Raises Conflict if it exists."""
    if _exists(session, name):
        raise Conflict(f"Conflicting resource class already exists: {name}")
    for _ in range(_ID_RACE_RETRIES):
        try:
            with session.begin_nested():
                return _insert(session, name)
        except sa.exc.IntegrityError:
            if _exists(session, name):
                raise Conflict(f"Conflicting resource class already exists: {name}") from None
    raise Conflict(f"Could not allocate an id for resource class {name}; try again")


def ensure_class(session: Session, name: str) -> bool:
    """Create a custom class unless it exists; True if it was created."""
    if _exists(session, name):
        return False
    try:
        create_class(session, name)
    except Conflict:
        if _exists(session, name):
            return False
        raise
    return True


def rename_class(session: Session, name: str, new_name: str) -> ResourceClass:
    """Rename a custom class (microversions before 1.7). Raises BadRequest, NotFound, Conflict."""
    _refuse_standard(name, "update")
    found = get_class(session, name)
    if _exists(session, new_name):
        raise Conflict(f"Resource class already exists: {new_name}")
    found.name = new_name
    found.updated_at = utcnow()
    session.flush()
    return found


def delete_class(session: Session, name: str) -> None:
    """Raises BadRequest (standard class), NotFound, Conflict (inventories use it)."""
    _refuse_standard(name, "delete")
    found = get_class(session, name)
    in_use = session.scalar(
        sa.select(sa.func.count()).where(Inventory.resource_class_id == found.id)
    )
    if in_use:
        raise Conflict(
            f"Error in delete resource class: Cannot delete resource class {name}. "
            "Class is in use in inventory."
        )
    session.execute(sa.delete(ResourceClass).where(ResourceClass.id == found.id))


def _refuse_standard(name: str, action: str) -> None:
    if name in os_resource_classes.STANDARDS:
        raise BadRequest(f"Cannot {action} standard resource class {name}")


def _exists(session: Session, name: str) -> bool:
    return session.scalar(sa.select(ResourceClass.id).where(ResourceClass.name == name)) is not None


def _insert(session: Session, name: str) -> ResourceClass:
    highest = session.scalar(
        sa.select(sa.func.max(ResourceClass.id)).where(
            ResourceClass.id >= CUSTOM_RESOURCE_CLASS_MIN_ID
        )
    )
    row = ResourceClass(id=(highest or CUSTOM_RESOURCE_CLASS_MIN_ID - 1) + 1, name=name)
    session.add(row)
    session.flush()
    return row
