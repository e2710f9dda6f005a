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
from compute_api.api.microversion import Version

# Keys a class update accepts besides the limits shown: nova-network's, until 2.50.
LEGACY = ("fixed_ips", "floating_ips", "security_group_rules", "security_groups")


def shown(version: Version) -> list[str]:
    """A class's limits at ``version``: no server group ones before 2.50, no injected
    file ones from 2.57."""
    return [r for r in quotas.RESOURCES
            if not (r.startswith("server_group") and not version.at_least("2.50"))
            and not (r in quotas.INJECTED and version.at_least("2.57"))]


def view(session: Session, settings: QuotaSettings, class_name: str,
         version: Version) -> dict[str, Any]:
    """The limits a class shows: its own, else the defaults (every class starts there)."""
    limits = quotas.class_defaults(session, settings)
    rows = session.execute(sa.select(QuotaClass.resource, QuotaClass.hard_limit)
                           .where(QuotaClass.class_name == class_name)).all()
    limits.update({resource: hard for resource, hard in rows if resource in limits})
    out: dict[str, Any] = {r: limits[r] for r in shown(version)}
    if not version.at_least("2.50"):
        out.update({name: -1 for name in LEGACY})
    return out


def update(session: Session, class_name: str, values: Mapping[str, Any],
           version: Version) -> None:
    """Set some limits of a class. Raises BadRequest for keys the version does not
    know or values out of range."""
    validation.check({"properties": {"id": validation.name()}}, {"id": class_name})
    known = set(shown(version)) | (set(LEGACY) | {"networks"}
                                   if not version.at_least("2.50") else set())
    for resource, value in values.items():
        if resource not in known:
            raise BadRequest(f"Additional properties are not allowed ('{resource}' was "
                             "unexpected)")
        validation.check({"properties": {resource: quotas.QUOTA_VALUE}}, {resource: value})
        number = int(value)
        validation.check({"properties": {resource: quotas.QUOTA_VALUE}}, {resource: number})
        if resource not in quotas.RESOURCES:
            continue  # nova-network's limits: accepted, nothing enforces them
        row = session.scalar(sa.select(QuotaClass).where(
            QuotaClass.class_name == class_name, QuotaClass.resource == resource))
        if row is None:
            session.add(QuotaClass(class_name=class_name, resource=resource,
                                   hard_limit=number))
        else:
            row.hard_limit = number
    session.flush()
