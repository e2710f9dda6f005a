"""Server groups: policies the scheduler honours, and which servers belong to them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common import policy
from common.compute_db.models import Instance, ServerGroup, ServerGroupMember
from common.context import RequestContext
from common.errors import BadRequest, NotFound
from common.settings import QuotaSettings
from compute_api import quotas

POLICIES = ("affinity", "anti-affinity")
# Requests may ask for these from 2.15.
SOFT_POLICIES = ("soft-affinity", "soft-anti-affinity")


def parse(data: Any, policies: tuple[str, ...], *, policy_and_rules: bool
          ) -> tuple[str, str, dict[str, Any]]:
    """(name, policy, rules) of a create request. Raises BadRequest.

    ``policies`` are those the request may ask for; ``policy_and_rules`` (2.64) takes one
    ``policy`` and its ``rules`` where older requests give a list of one ``policies``.
    """
    if not isinstance(data, dict):
        raise BadRequest("Invalid input for field/attribute server_group. 'server_group' "
                         "is a required property")
    allowed = {"name", "policy", "rules"} if policy_and_rules else {"name", "policies"}
    extra = set(data) - allowed
    if extra:
        raise BadRequest(f"Additional properties are not allowed ('{sorted(extra)[0]}' was "
                         "unexpected)")
    name = data.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 255 or name != name.strip():
        raise BadRequest(f"Invalid input for field/attribute name. Value: {name}.")
    if policy_and_rules:
        policy, rules = data.get("policy"), data.get("rules", {})
    else:
        given = data.get("policies")
        if not isinstance(given, list) or len(given) != 1:
            raise BadRequest("Invalid input for field/attribute policies. Exactly one "
                             "policy is required.")
        policy, rules = given[0], {}
    if policy not in policies:
        raise BadRequest(f"Invalid input for field/attribute policy. Value: {policy}. "
                         f"'{policy}' is not one of {list(policies)}")
    return name, policy, _rules(rules, policy)


def _rules(rules: Any, policy: str) -> dict[str, Any]:
    if not isinstance(rules, dict) or set(rules) - {"max_server_per_host"}:
        raise BadRequest("Invalid input for field/attribute rules: only "
                         "max_server_per_host is allowed.")
    if rules and policy != "anti-affinity":
        raise BadRequest("Only anti-affinity policy supports rules.")
    value = rules.get("max_server_per_host")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value < 1):
        raise BadRequest(f"Invalid input for field/attribute max_server_per_host. Value: "
                         f"{value}. It must be a positive integer.")
    return dict(rules)


def create(session: Session, settings: QuotaSettings, ctx: RequestContext, name: str,
           policy: str, rules: dict[str, Any]) -> ServerGroup:
    project = ctx.project_id or ""
    quotas.lock_project(session, project)
    used = quotas.usage(session, project)["server_groups"]
    quotas.check_count(session, settings, project, "server_groups", used,
                       message="Quota exceeded, too many server groups.")
    group = ServerGroup(name=name, policy=policy, rules=rules, project_id=project,
                        user_id=ctx.user_id or "")
    session.add(group)
    session.flush()
    return group


def get(session: Session, ctx: RequestContext, group_id: str) -> ServerGroup:
    try:
        group_uuid = uuid.UUID(group_id)
    except ValueError:
        group_uuid = None
    stmt = sa.select(ServerGroup).where(ServerGroup.uuid == group_uuid)
    if not ctx.is_admin:
        stmt = stmt.where(ServerGroup.project_id == ctx.project_id)
    group = session.scalar(stmt) if group_uuid else None
    if group is None:
        raise NotFound(f"Instance group {group_id} could not be found.")
    return group


ALL_PROJECTS_RULE = "os_compute_api:os-server-groups:index:all_projects"


def list_groups(session: Session, ctx: RequestContext, all_projects: bool,
                limit: int | None, offset: int | None) -> Sequence[ServerGroup]:
    stmt = sa.select(ServerGroup).order_by(ServerGroup.id)
    if not (all_projects and policy.allowed(ctx, ALL_PROJECTS_RULE)):
        stmt = stmt.where(ServerGroup.project_id == ctx.project_id)
    if offset:
        stmt = stmt.offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return session.scalars(stmt).all()


def members(session: Session, group_ids: Sequence[int]) -> dict[int, list[str]]:
    """Live (not deleted) members per group."""
    rows = session.execute(
        sa.select(ServerGroupMember.group_id, ServerGroupMember.instance_uuid)
        .join(Instance, Instance.uuid == ServerGroupMember.instance_uuid)
        .where(ServerGroupMember.group_id.in_(list(group_ids)), Instance.deleted.is_(False))
        .order_by(ServerGroupMember.id)).all()
    out: dict[int, list[str]] = {gid: [] for gid in group_ids}
    for gid, instance_uuid in rows:
        out[gid].append(str(instance_uuid))
    return out


def groups_of(session: Session, instance_uuid: uuid.UUID) -> list[str]:
    return [str(u) for u in session.scalars(
        sa.select(ServerGroup.uuid).join(ServerGroupMember,
                                         ServerGroupMember.group_id == ServerGroup.id)
        .where(ServerGroupMember.instance_uuid == instance_uuid)).all()]


def add_members(session: Session, settings: QuotaSettings, ctx: RequestContext,
                group_ref: str, instance_uuids: Sequence[uuid.UUID]) -> ServerGroup:
    """Put new servers in a group (scheduler hint ``group``), within its member quota."""
    try:
        group = get(session, ctx, group_ref)
    except NotFound:
        raise BadRequest(f"Invalid server group: {group_ref} not found") from None
    used = quotas.group_members(session, group.id)
    quotas.check_count(session, settings, group.project_id, "server_group_members", used,
                       len(instance_uuids),
                       message="Quota exceeded, too many servers in group")
    session.add_all([ServerGroupMember(group_id=group.id, instance_uuid=u)
                     for u in instance_uuids])
    session.flush()
    return group


def delete(session: Session, ctx: RequestContext, group_id: str) -> None:
    group = get(session, ctx, group_id)
    session.execute(sa.delete(ServerGroupMember).where(ServerGroupMember.group_id == group.id))
    session.delete(group)
    session.flush()
