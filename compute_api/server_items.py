"""What hangs off a server: metadata, tags and the record of actions taken on it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.models import Instance, InstanceAction, InstanceTag
from common.context import RequestContext
from common.db import utcnow
from common.errors import BadRequest, NotFound
from common.settings import QuotaSettings
from compute_api import quotas

# --- actions ------------------------------------------------------------------------


def record_action(session: Session, ctx: RequestContext, instance_uuid: uuid.UUID,
                  action: str) -> None:
    session.add(InstanceAction(instance_uuid=instance_uuid, action=action,
                               request_id=ctx.request_id, user_id=ctx.user_id,
                               project_id=ctx.project_id))
    session.flush()


def list_actions(session: Session, instance_uuid: uuid.UUID, *, limit: int | None = None,
                 marker: str | None = None, changes_since: datetime | None = None,
                 changes_before: datetime | None = None) -> Sequence[InstanceAction]:
    """Newest first, as upstream."""
    stmt = sa.select(InstanceAction).where(InstanceAction.instance_uuid == instance_uuid)
    if changes_since is not None:
        stmt = stmt.where(InstanceAction.updated_at >= changes_since)
    if changes_before is not None:
        stmt = stmt.where(InstanceAction.updated_at <= changes_before)
    if marker is not None:
        anchor = session.scalar(stmt.where(InstanceAction.request_id == marker))
        if anchor is None:
            raise BadRequest(f"Marker {marker} could not be found.")
        stmt = stmt.where(InstanceAction.id < anchor.id)
    stmt = stmt.order_by(InstanceAction.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return session.scalars(stmt).all()


def get_action(session: Session, instance_uuid: uuid.UUID, request_id: str
               ) -> InstanceAction:
    action = session.scalar(sa.select(InstanceAction).where(
        InstanceAction.instance_uuid == instance_uuid,
        InstanceAction.request_id == request_id))
    if action is None:
        raise NotFound(f"Action for request_id {request_id} on instance {instance_uuid} "
                       "not found")
    return action


# --- metadata -----------------------------------------------------------------------


def _check_items(items: object) -> dict[str, str]:
    if not isinstance(items, dict):
        raise BadRequest("Invalid input for field/attribute metadata: must be an object")
    for key, value in items.items():
        if not isinstance(value, str) or not 1 <= len(key) <= 255 or len(value) > 255:
            raise BadRequest(f"Invalid input for field/attribute metadata. Value: "
                             f"{{{key!r}: {value!r}}}. Keys must be 1-255 and values 0-255 "
                             "character strings")
    return dict(items)


def set_metadata(session: Session, settings: QuotaSettings, inst: Instance, items: object,
                 replace: bool) -> dict[str, str]:
    """Merge (or replace with) ``items``. Raises BadRequest, QuotaExceeded."""
    new = _check_items(items)
    merged = new if replace else {**inst.metadata_items, **new}
    quotas.check_metadata(session, settings, inst.project_id, merged)
    inst.metadata_items = merged
    inst.updated_at = utcnow()
    session.flush()
    return dict(merged)


def delete_metadata_item(session: Session, inst: Instance, key: str) -> None:
    if key not in inst.metadata_items:
        raise NotFound("Metadata item was not found")
    inst.metadata_items = {k: v for k, v in inst.metadata_items.items() if k != key}
    inst.updated_at = utcnow()
    session.flush()


# --- tags ---------------------------------------------------------------------------

MAX_TAGS = 50


def check_tag(tag: object) -> str:
    """One tag as upstream allows it. Raises ValueError (the callers word the message)."""
    if not isinstance(tag, str) or not 1 <= len(tag) <= 60 or "/" in tag or "," in tag:
        raise ValueError(f"Invalid tag {tag!r}: 1-60 characters without '/' or ','")
    return tag


def check_tags(tags: list[Any]) -> list[str]:
    """A server's whole set of tags. Raises ValueError."""
    if len(tags) > MAX_TAGS:
        raise ValueError(f"At most {MAX_TAGS} tags are allowed")
    return [check_tag(t) for t in tags]


def tags_of(session: Session, instance_ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in instance_ids}
    rows = session.execute(sa.select(InstanceTag.instance_id, InstanceTag.tag)
                           .where(InstanceTag.instance_id.in_(list(instance_ids)))
                           .order_by(InstanceTag.tag)).all()
    for instance_id, tag in rows:
        out[instance_id].append(tag)
    return out


def set_tags(session: Session, inst: Instance, tags: Sequence[str]) -> list[str]:
    wanted = sorted(set(tags))
    session.execute(sa.delete(InstanceTag).where(InstanceTag.instance_id == inst.id))
    session.add_all([InstanceTag(instance_id=inst.id, tag=t) for t in wanted])
    session.flush()
    return wanted


def add_tag(session: Session, inst: Instance, tag: str) -> bool:
    """Add one tag; False if it was there. Raises BadRequest beyond the limit."""
    check_tag(tag)
    current = tags_of(session, [inst.id])[inst.id]
    if tag in current:
        return False
    if len(current) >= MAX_TAGS:
        raise BadRequest(f"Instance {inst.uuid} has reached the limit of {MAX_TAGS} tags")
    session.add(InstanceTag(instance_id=inst.id, tag=tag))
    session.flush()
    return True


def remove_tag(session: Session, inst: Instance, tag: str) -> None:
    result = session.execute(sa.delete(InstanceTag).where(InstanceTag.instance_id == inst.id,
                                                          InstanceTag.tag == tag))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"Tag {tag} could not be found on instance {inst.uuid}.")


def filter_tags(stmt: sa.Select[Instance], all_of: list[str] | None,
                any_of: list[str] | None, not_all: list[str] | None,
                not_any: list[str] | None) -> sa.Select[Instance]:
    def has(tag: str) -> sa.ColumnElement[bool]:
        return sa.exists().where(InstanceTag.instance_id == Instance.id, InstanceTag.tag == tag)

    if all_of:
        stmt = stmt.where(*[has(t) for t in all_of])
    if any_of:
        stmt = stmt.where(sa.or_(*[has(t) for t in any_of]))
    if not_all:
        stmt = stmt.where(sa.not_(sa.and_(*[has(t) for t in not_all])))
    if not_any:
        stmt = stmt.where(sa.not_(sa.or_(*[has(t) for t in not_any])))
    return stmt
