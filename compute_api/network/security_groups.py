"""Security groups: each project's "default" group made on first use, and their rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.compute_db.network_models import (
    DefaultSecurityGroup,
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
)
from common.context import RequestContext
from common.errors import Conflict
from compute_api.network import quotas
from compute_api.network.common import fetch, owns, sees_all, standard, touch
from compute_api.network.faults import (
    SecurityGroupCannotRemoveDefault,
    SecurityGroupInUse,
    SecurityGroupNotFound,
)
from compute_api.network.rules import rule_view

DEFAULT = "default"


class CannotUpdateDefault(Conflict):
    neutron_type = "SecurityGroupCannotUpdateDefault"

    def __init__(self) -> None:
        super().__init__("Updating default security group not allowed.")


def _egress_rules(group: SecurityGroup) -> list[SecurityGroupRule]:
    return [SecurityGroupRule(project_id=group.project_id, security_group_id=group.id,
                              direction="egress", ethertype=ether, description="")
            for ether in ("IPv4", "IPv6")]


def ensure_default(session: Session, project_id: str) -> SecurityGroup:
    """The project's default group, created with Neutron's four rules if missing."""
    found = session.get(DefaultSecurityGroup, project_id)
    if found is not None:
        group = session.get(SecurityGroup, found.security_group_id)
        if group is not None:
            return group
    try:
        with session.begin_nested():
            group = SecurityGroup(project_id=project_id, name=DEFAULT, tags=[],
                                  description="Default security group")
            session.add(group)
            session.flush()
            session.add(DefaultSecurityGroup(project_id=project_id,
                                             security_group_id=group.id))
            session.add_all(_egress_rules(group))
            session.add_all(SecurityGroupRule(
                project_id=project_id, security_group_id=group.id, direction="ingress",
                ethertype=ether, remote_group_id=group.id, description="")
                for ether in ("IPv4", "IPv6"))
            session.flush()
        return group
    except IntegrityError:
        # Made concurrently by another request of the project: use that one.
        row = session.get(DefaultSecurityGroup, project_id)
        if row is None:
            raise
        existing = session.get(SecurityGroup, row.security_group_id)
        assert existing is not None
        return existing


def get(session: Session, ctx: RequestContext, group_id: Any) -> SecurityGroup:
    """A group of the caller's project (any, for admins). Raises SecurityGroupNotFound."""
    return fetch(session, SecurityGroup, group_id, lambda g: owns(ctx, g.project_id),
                 SecurityGroupNotFound)


def list_visible(session: Session, ctx: RequestContext) -> Sequence[SecurityGroup]:
    if ctx.project_id:
        ensure_default(session, ctx.project_id)
    stmt = sa.select(SecurityGroup).order_by(SecurityGroup.created_at, SecurityGroup.id)
    if not sees_all(ctx):
        stmt = stmt.where(SecurityGroup.project_id == ctx.project_id)
    return session.scalars(stmt).all()


def create(session: Session, ctx: RequestContext, attrs: dict[str, Any]) -> SecurityGroup:
    """Create a group with Neutron's two egress rules. Raises OverQuota."""
    project_id = attrs["project_id"]
    ensure_default(session, project_id)
    quotas.check(session, project_id, "security_group")
    group = SecurityGroup(project_id=project_id, name=attrs["name"], tags=[],
                          description=attrs["description"], stateful=attrs["stateful"])
    session.add(group)
    session.flush()
    session.add_all(_egress_rules(group))
    session.flush()
    return group


def is_default(session: Session, group: SecurityGroup) -> bool:
    row = session.get(DefaultSecurityGroup, group.project_id)
    return row is not None and row.security_group_id == group.id


def update(session: Session, ctx: RequestContext, group_id: str, attrs: dict[str, Any]
           ) -> SecurityGroup:
    group = get(session, ctx, group_id)
    if "name" in attrs and attrs["name"] != group.name and is_default(session, group):
        raise CannotUpdateDefault()
    for key in ("name", "description", "stateful"):
        if key in attrs:
            setattr(group, key, attrs[key])
    touch(group)
    session.flush()
    return group


def delete(session: Session, ctx: RequestContext, group_id: str) -> None:
    """Delete a group. Raises SecurityGroupCannotRemoveDefault, SecurityGroupInUse."""
    group = get(session, ctx, group_id)
    if is_default(session, group) and not ctx.is_admin:
        raise SecurityGroupCannotRemoveDefault()
    used = session.scalar(sa.select(sa.func.count()).select_from(PortSecurityGroup).where(
        PortSecurityGroup.security_group_id == group.id))
    if used:
        raise SecurityGroupInUse(str(group.id))
    session.execute(sa.delete(SecurityGroupRule).where(
        sa.or_(SecurityGroupRule.security_group_id == group.id,
               SecurityGroupRule.remote_group_id == group.id)))
    session.execute(sa.delete(DefaultSecurityGroup).where(
        DefaultSecurityGroup.security_group_id == group.id))
    session.delete(group)
    session.flush()


def for_port(session: Session, ctx: RequestContext, project_id: str,
             group_ids: list[str] | None) -> list[SecurityGroup]:
    """The groups a port of ``project_id`` gets: those named (the project's own), else
    its default group. Raises SecurityGroupNotFound."""
    if group_ids is None:
        return [ensure_default(session, project_id)]
    groups = []
    for gid in group_ids:
        group = get(session, ctx, gid)
        if group.project_id != project_id and not ctx.is_admin:
            raise SecurityGroupNotFound(gid)
        groups.append(group)
    return groups


def views(session: Session, groups: Sequence[SecurityGroup]) -> list[dict[str, Any]]:
    rules: dict[Any, list[dict[str, Any]]] = {}
    if groups:
        rows = session.scalars(sa.select(SecurityGroupRule).where(
            SecurityGroupRule.security_group_id.in_([g.id for g in groups]))
            .order_by(SecurityGroupRule.created_at, SecurityGroupRule.id))
        for rule in rows:
            rules.setdefault(rule.security_group_id, []).append(rule_view(rule))
    return [{**standard(g), "name": g.name, "description": g.description,
             "stateful": g.stateful, "shared": False,
             "security_group_rules": rules.get(g.id, [])} for g in groups]



def rules_of(session: Session, group: SecurityGroup) -> list[SecurityGroupRule]:
    """The group's rules, oldest first."""
    return list(session.scalars(sa.select(SecurityGroupRule).where(
        SecurityGroupRule.security_group_id == group.id)
        .order_by(SecurityGroupRule.created_at, SecurityGroupRule.id)))
