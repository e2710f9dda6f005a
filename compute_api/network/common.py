"""What every network resource shares: visibility, timestamps, revision numbers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from common.context import RequestContext
from common.db import utcnow
from common.errors import NotFound

T = TypeVar("T")


def iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def as_uuid(text: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        return None


def sees_all(ctx: RequestContext) -> bool:
    """Admins (and the compute service's own calls) see every project's resources."""
    return ctx.is_admin or "service" in ctx.roles


def owns(ctx: RequestContext, project_id: str) -> bool:
    return sees_all(ctx) or project_id == ctx.project_id


def fetch(session: Session, model: type[T], item_id: Any, visible: Callable[[T], bool],
          missing: Callable[[str], NotFound]) -> T:
    """The row ``item_id`` if the caller may see it, else ``missing`` (never 403)."""
    key = as_uuid(item_id)
    row = session.get(model, key) if key is not None else None
    if row is None or not visible(row):
        raise missing(str(item_id))
    return row


def touch(row: Any) -> None:
    """A change: a new revision number and update time (Neutron's standard attributes)."""
    row.revision_number = (row.revision_number or 0) + 1
    row.updated_at = utcnow()


def standard(row: Any) -> dict[str, Any]:
    return {"id": str(row.id), "tenant_id": row.project_id, "project_id": row.project_id,
            "created_at": iso(row.created_at), "updated_at": iso(row.updated_at),
            "revision_number": row.revision_number, "tags": list(row.tags or [])}
