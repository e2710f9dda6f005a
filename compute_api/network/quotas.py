"""Network quotas: Neutron's defaults, per-project limits, usage, and the check on create.

A create locks the project's quota row (the compute API's lock) before counting, so
concurrent creates of one project cannot together pass a limit.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.network_models import (
    FloatingIP,
    Network,
    NetworkQuota,
    Port,
    Router,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
)
from common.errors import BadRequest
from compute_api.network.faults import OverQuota
from compute_api.quotas import lock_project

DEFAULTS: dict[str, int] = {"network": 100, "subnet": 100, "port": 500, "security_group": 10,
                            "security_group_rule": 100, "router": 10, "floatingip": 50}
_COUNTED: dict[str, Any] = {"network": Network, "subnet": Subnet, "port": Port,
                            "security_group": SecurityGroup,
                            "security_group_rule": SecurityGroupRule,
                            "router": Router, "floatingip": FloatingIP}


def limits(session: Session, project_id: str) -> dict[str, int]:
    rows = session.scalars(sa.select(NetworkQuota).where(NetworkQuota.project_id == project_id))
    return {**DEFAULTS, **{r.resource: r.hard_limit for r in rows if r.resource in DEFAULTS}}


def usage(session: Session, project_id: str) -> dict[str, int]:
    out = {name: 0 for name in DEFAULTS}
    for name, model in _COUNTED.items():
        out[name] = session.scalar(sa.select(sa.func.count()).select_from(model)
                                   .where(model.project_id == project_id)) or 0
    return out


def check(session: Session, project_id: str, resource: str, count: int = 1) -> None:
    """Lock the project's quota and raise OverQuota unless ``count`` more fit."""
    lock_project(session, project_id)
    limit = limits(session, project_id)[resource]
    if limit < 0:
        return
    model = _COUNTED[resource]
    used = session.scalar(sa.select(sa.func.count()).select_from(model)
                          .where(model.project_id == project_id)) or 0
    if used + count > limit:
        raise OverQuota(resource)


def update(session: Session, project_id: str, values: Any) -> dict[str, int]:
    """Set limits; raises BadRequest for an unknown resource or a bad value."""
    if not isinstance(values, dict) or not isinstance(values.get("quota"), dict):
        raise BadRequest("Unable to find 'quota' in request body")
    wanted: dict[str, int] = {}
    for name, value in values["quota"].items():
        if name not in DEFAULTS:
            raise BadRequest(f"Unrecognized attribute(s) '{name}'")
        try:
            number = int(value) if not isinstance(value, bool | float) else None
        except (TypeError, ValueError):
            number = None
        if number is None or number < -1 or number > 2**31 - 1:
            raise BadRequest(f"Invalid input for {name}. Reason: '{value}' is not a valid "
                             "quota limit.")
        wanted[name] = number
    for name, number in wanted.items():
        row = session.scalar(sa.select(NetworkQuota).where(
            NetworkQuota.project_id == project_id, NetworkQuota.resource == name))
        if row is None:
            session.add(NetworkQuota(project_id=project_id, resource=name, hard_limit=number))
        else:
            row.hard_limit = number
    session.flush()
    return limits(session, project_id)


def reset(session: Session, project_id: str) -> None:
    session.execute(sa.delete(NetworkQuota).where(NetworkQuota.project_id == project_id))


def projects_with_limits(session: Session) -> list[str]:
    return sorted(set(session.scalars(sa.select(NetworkQuota.project_id))))


def details(session: Session, project_id: str) -> dict[str, dict[str, int]]:
    limit, used = limits(session, project_id), usage(session, project_id)
    return {name: {"limit": limit[name], "used": used[name], "reserved": 0}
            for name in DEFAULTS}
