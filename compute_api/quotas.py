"""Quotas: limits per project, usage counted from the records, checked under a lock.

Upstream counts usage and inserts in separate steps, so concurrent requests can all
pass the check (the "quota burst"). Here the check and the insert happen in one
transaction holding the project's row in ``quota_locks`` (SELECT ... FOR UPDATE;
SQLite serialises writers anyway), so concurrent creates never exceed a limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common import validation
from common.compute_db.models import (
    Instance,
    KeyPair,
    Quota,
    QuotaClass,
    QuotaLock,
    ServerGroup,
    ServerGroupMember,
)
from common.errors import BadRequest, QuotaExceeded
from common.settings import QuotaSettings

# Every resource a quota set shows, in upstream's order; the network ones are fixed at -1
# (no network service) and disappear from responses at 2.36, injected files at 2.57
# (the HTTP layer says which a response shows: ``Shown``).
RESOURCES = ("cores", "instances", "key_pairs", "metadata_items", "ram", "server_groups",
             "server_group_members", "injected_files", "injected_file_content_bytes",
             "injected_file_path_bytes")
SHOWN_NETWORK_RESOURCES = ("fixed_ips", "floating_ips", "security_group_rules",
                           "security_groups")
# Accepted (and ignored) in updates before 2.36; ``networks`` was nova-network's own quota
# and upstream no longer shows it at any version.
NETWORK_RESOURCES = (*SHOWN_NETWORK_RESOURCES, "networks")
# The quota class whose limits replace the configured defaults.
DEFAULT_CLASS = "default"
INJECTED = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")
# A limit, as upstream's schema has it: an integer or its digits, -1 (none) to MAX_INT.
# The string's length is bounded too: int() refuses more than 4300 digits.
QUOTA_VALUE = {"type": ["integer", "string"], "pattern": "^-?[0-9]+$", "maxLength": 20,
               "minimum": -1, "maximum": validation.MAX_INT}


def defaults(settings: QuotaSettings) -> dict[str, int]:
    return {name: int(getattr(settings, name)) for name in RESOURCES}


def class_defaults(session: Session, settings: QuotaSettings) -> dict[str, int]:
    """The defaults every project starts from: the configured ones, overridden by the
    ``default`` quota class (os-quota-class-sets)."""
    out = defaults(settings)
    rows = session.execute(sa.select(QuotaClass.resource, QuotaClass.hard_limit)
                           .where(QuotaClass.class_name == DEFAULT_CLASS)).all()
    out.update({resource: hard for resource, hard in rows if resource in out})
    return out


def limits(session: Session, settings: QuotaSettings, project_id: str) -> dict[str, int]:
    """The project's limits: the defaults, overridden by the ``default`` class, overridden
    by the project's own quota rows (read in one statement: every create asks)."""
    out = defaults(settings)
    rows = session.execute(
        sa.select(sa.literal(0).label("rank"), QuotaClass.resource, QuotaClass.hard_limit)
        .where(QuotaClass.class_name == DEFAULT_CLASS)
        .union_all(sa.select(sa.literal(1), Quota.resource, Quota.hard_limit)
                   .where(Quota.project_id == project_id))).all()
    for _rank, resource, hard in sorted(rows, key=lambda row: row[0]):
        if resource in out:
            out[resource] = hard
    return out


def instance_usage(session: Session, project_id: str) -> dict[str, int]:
    """The project's live servers, their cores and their RAM, summed by the database
    (one row, however many servers the project has)."""
    count, cores, ram = session.execute(
        sa.select(sa.func.count(),
                  sa.func.coalesce(sa.func.sum(Instance.flavor["vcpus"].as_integer()), 0),
                  sa.func.coalesce(sa.func.sum(Instance.flavor["memory_mb"].as_integer()),
                                   0))
        .where(Instance.project_id == project_id, Instance.deleted.is_(False))).one()
    return {"instances": int(count), "cores": int(cores), "ram": int(ram)}


def usage(session: Session, project_id: str, user_id: str | None = None) -> dict[str, int]:
    """What the project uses now (key pairs: what ``user_id`` owns)."""
    groups = session.scalar(sa.select(sa.func.count()).select_from(ServerGroup)
                            .where(ServerGroup.project_id == project_id)) or 0
    keypairs = 0
    if user_id is not None:
        keypairs = session.scalar(sa.select(sa.func.count()).select_from(KeyPair)
                                  .where(KeyPair.user_id == user_id)) or 0
    return {**instance_usage(session, project_id), "server_groups": groups,
            "key_pairs": keypairs}


def lock_project(session: Session, project_id: str) -> None:
    """Hold the project's quota lock until the transaction ends. Raises BadRequest for
    a project id longer than the records hold."""
    check_project_id(project_id)
    stmt = sa.select(QuotaLock).where(QuotaLock.project_id == project_id).with_for_update()
    if session.scalar(stmt) is not None:
        return
    try:
        with session.begin_nested():
            session.add(QuotaLock(project_id=project_id))
    except IntegrityError:
        pass  # created concurrently: the locking select below waits for its owner
    session.scalar(stmt)


def exceeded(resource: str, requested: int, used: int, limit: int) -> QuotaExceeded:
    return QuotaExceeded(f"Quota exceeded for {resource}: Requested {requested}, but "
                         f"already used {used} of {limit} {resource}")


def fit_instances(session: Session, settings: QuotaSettings, project_id: str,
                  min_count: int, max_count: int, vcpus: int, ram: int) -> int:
    """Lock the project and return how many servers (min..max) fit. Raises QuotaExceeded."""
    lock_project(session, project_id)
    limit = limits(session, settings, project_id)
    counted = [(resource, each) for resource, each in
               (("instances", 1), ("cores", vcpus), ("ram", ram))
               if limit[resource] >= 0 and each != 0]
    if not counted:
        return max_count  # unlimited: nothing to count
    used = instance_usage(session, project_id)
    fits = max_count
    for resource, each in counted:
        room = max(limit[resource] - used[resource], 0) // each
        if room < min_count:
            raise exceeded(resource, each * min_count, used[resource], limit[resource])
        fits = min(fits, room)
    return fits


def check_count(session: Session, settings: QuotaSettings, project_id: str, resource: str,
                used: int, adding: int = 1, message: str | None = None) -> None:
    """Raise QuotaExceeded if ``used + adding`` passes the project's limit."""
    limit = limits(session, settings, project_id)[resource]
    if 0 <= limit < used + adding:
        raise QuotaExceeded(message or f"Quota exceeded for {resource}: Requested {adding}, "
                            f"but already used {used} of {limit} {resource}")


def check_metadata(session: Session, settings: QuotaSettings, project_id: str,
                   metadata: Mapping[str, Any]) -> None:
    limit = limits(session, settings, project_id)["metadata_items"]
    if 0 <= limit < len(metadata):
        raise QuotaExceeded(f"Quota exceeded for metadata_items: Requested "
                            f"{len(metadata)}, but already used 0 of {limit} metadata_items")


def group_members(session: Session, group_id: int) -> int:
    return session.scalar(
        sa.select(sa.func.count()).select_from(ServerGroupMember)
        .join(Instance, Instance.uuid == ServerGroupMember.instance_uuid)
        .where(ServerGroupMember.group_id == group_id, Instance.deleted.is_(False))) or 0


def update(session: Session, settings: QuotaSettings, project_id: str,
           values: Mapping[str, Any], force: bool) -> None:
    """Set the project's limits. Raises BadRequest for unknown keys, bad values, or a
    limit below current usage (unless ``force``)."""
    used = usage(session, project_id)
    for resource, value in values.items():
        if resource not in RESOURCES and resource not in NETWORK_RESOURCES:
            raise BadRequest(f"Additional properties are not allowed ('{resource}' was "
                             "unexpected)")
        validation.check({"properties": {resource: QUOTA_VALUE}}, {resource: value})
        number = int(value)
        # A numeric string gets the range an integer gets.
        validation.check({"properties": {resource: QUOTA_VALUE}}, {resource: number})
        if resource in NETWORK_RESOURCES:
            continue
        in_use = used.get(resource, 0)
        if not force and number != -1 and number < in_use:
            raise BadRequest(f"Quota limit {number} for {resource} must be greater than or "
                             f"equal to already used and reserved {in_use}.")
        row = session.scalar(sa.select(Quota).where(Quota.project_id == project_id,
                                                    Quota.resource == resource))
        if row is None:
            session.add(Quota(project_id=project_id, resource=resource, hard_limit=number))
        else:
            row.hard_limit = number
    session.flush()


def check_project_id(project_id: str) -> None:
    """A project id that fits the records (255 characters). Raises BadRequest."""
    validation.check({"properties": {"project_id": validation.name()}},
                     {"project_id": project_id})


def reset(session: Session, project_id: str) -> None:
    session.execute(sa.delete(Quota).where(Quota.project_id == project_id))


@dataclass(frozen=True)
class Shown:
    """Which limits a response still (or already) shows: they came and went with
    microversions, which the HTTP layer reads."""

    injected: bool       # the injected file limits (until 2.57)
    network: bool        # nova-network's limits (quota sets until 2.36, classes until 2.50)
    server_groups: bool  # the server group limits (quota classes from 2.50)


def shown_resources(shown: Shown) -> list[str]:
    """The RESOURCES a response shows, in upstream's order."""
    return [r for r in RESOURCES
            if (shown.server_groups or not r.startswith("server_group"))
            and (shown.injected or r not in INJECTED)]


def quota_set(values: Mapping[str, Any], shown: Shown, fill: Any = -1) -> dict[str, Any]:
    """A quota set's visible keys (values or detail dicts); nova-network's are ``fill``."""
    out: dict[str, Any] = {r: values[r] for r in shown_resources(shown)}
    if shown.network:
        for resource in SHOWN_NETWORK_RESOURCES:
            out[resource] = fill
    return out
