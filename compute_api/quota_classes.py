"""Quota classes (os-quota-class-sets): the ``default`` class replaces the configured
default limits of every project; other classes are kept but nothing uses them, as
upstream."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common import validation
from common.compute_db.models import QuotaClass
from common.errors import BadRequest
from common.settings import QuotaSettings
from compute_api import quotas

# nova-network's limits: a class stores and shows them until 2.50 (nothing enforces
# them); a class nobody set them for shows -1, as upstream.
LEGACY = quotas.SHOWN_NETWORK_RESOURCES
SERVER_GROUPS = ("server_groups", "server_group_members")


def _stored(session: Session, class_name: str) -> dict[str, int]:
    rows = session.execute(sa.select(QuotaClass.resource, QuotaClass.hard_limit)
                           .where(QuotaClass.class_name == class_name)).all()
    return {resource: hard for resource, hard in rows}


def view(session: Session, settings: QuotaSettings, class_name: str,
         shown: quotas.Shown) -> dict[str, Any]:
    """The limits a class shows: its own, else the defaults (every class starts there)."""
    limits = quotas.class_defaults(session, settings)
    stored = _stored(session, class_name)
    limits.update({resource: hard for resource, hard in stored.items() if resource in limits})
    out: dict[str, Any] = {r: limits[r] for r in quotas.shown_resources(shown)}
    if shown.network:
        out.update({name: stored.get(name, -1) for name in LEGACY})
    return out


def accepted(shown: quotas.Shown) -> set[str]:
    """The keys an update takes: while a class shows nova-network's limits (before 2.50)
    those and the server group ones too (stored, though not shown yet), as upstream."""
    known = set(quotas.shown_resources(shown))
    if shown.network:
        known |= set(LEGACY) | set(SERVER_GROUPS)
    return known


def update(session: Session, class_name: str, values: Mapping[str, Any],
           shown: quotas.Shown) -> None:
    """Set some limits of a class. Raises BadRequest for keys the request's version does
    not know (``accepted``) or values out of range; nothing is written then."""
    validation.check({"properties": {"id": validation.name()}}, {"id": class_name})
    known = accepted(shown)
    numbers: dict[str, int] = {}
    for resource, value in values.items():
        if resource not in known:
            raise BadRequest(f"Additional properties are not allowed ('{resource}' was "
                             "unexpected)")
        validation.check({"properties": {resource: quotas.QUOTA_VALUE}}, {resource: value})
        number = int(value)
        validation.check({"properties": {resource: quotas.QUOTA_VALUE}}, {resource: number})
        numbers[resource] = number
    for resource, number in numbers.items():
        row = session.scalar(sa.select(QuotaClass).where(
            QuotaClass.class_name == class_name, QuotaClass.resource == resource))
        if row is None:
            session.add(QuotaClass(class_name=class_name, resource=resource,
                                   hard_limit=number))
        else:
            row.hard_limit = number
    session.flush()
