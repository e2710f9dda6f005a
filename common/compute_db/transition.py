"""The one writer of a server's vm_state and task_state.

``transition()`` looks the trigger up in ``common.lifecycle.TRANSITIONS`` for the
server's current (vm_state, task_state), compare-and-swaps both to the target, and in
the same transaction records the instance action and the fault that go with it. Nobody
else writes those two columns (a unit test scans the tree for it).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.models import Instance, InstanceAction, InstanceFault
from common.compute_db.network_queries import release_server_ports
from common.context import RequestContext
from common.db import utcnow
from common.lifecycle import INITIAL, State, Target, Trigger, target
from common.states import TaskState, VmState

LOG = logging.getLogger(__name__)

# Columns only this module writes; ``power_state`` has its own argument.
_OWNED = frozenset({"vm_state", "task_state", "task_deadline", "deleted", "deleted_at",
                    "terminated_at", "power_state"})
# A concurrent writer moved the server between our read and our swap: read again.
ATTEMPTS = 3


@dataclass(frozen=True)
class Moved:
    """A transition that happened: from where, by what, to where."""

    trigger: Trigger
    before: State
    after: Target


@dataclass(frozen=True)
class Record:
    """The instance action (os-instance-actions) a transition starts."""

    ctx: RequestContext
    action: str


def created(instance: Instance, deadline: datetime) -> None:
    """Give a new instance record its first states (building/scheduling) before insert."""
    instance.vm_state, instance.task_state = INITIAL
    instance.task_deadline = deadline


def seen(instance: Instance) -> State:
    """The states of a loaded instance, as ``transition(seen=...)`` expects them."""
    return VmState(instance.vm_state), _task(instance.task_state)


def transition(
    session: Session, instance_uuid: uuid.UUID, trigger: Trigger, *,
    seen: State | None = None, likely: State | None = None,
    expect_task: Collection[TaskState | None] | None = None,
    host: str | None = None, values: Mapping[str, Any] | None = None,
    power: int | None = None, deadline: datetime | None = None, fault: str | None = None,
    record: Record | None = None,
) -> Moved | None:
    """Move the server by ``trigger`` if the table allows it from its current states.

    ``seen``: the states the caller read; swap only from those (no re-read).
    ``likely``: the states the server is almost always in at this step; the first swap
    tries them without reading, and a miss reads as usual (one SELECT saved per step).
    ``expect_task``: act only while the server is in one of these tasks. ``host``: only
    while recorded on that host. None means the server is gone, is elsewhere, or is in a
    state the trigger does not apply to (a newer workflow won).
    """
    extra = dict(values or {})
    if _OWNED & extra.keys():
        raise ValueError(f"transition() writes {sorted(_OWNED & extra.keys())} itself")
    guess = likely if seen is None else None
    for _ in range(1 if seen is not None else ATTEMPTS + (guess is not None)):
        current = seen or guess or _current(session, instance_uuid)
        guessed, guess = guess is not None, None
        if current is None or (expect_task is not None and current[1] not in expect_task):
            if guessed:
                continue  # a wrong guess: read the real states
            return None
        to = target(trigger, *current)
        if to is None:
            if guessed:
                continue
            LOG.info("instance %s: %s does not apply in %s/%s", instance_uuid, trigger,
                     *current)
            return None
        if _swap(session, instance_uuid, current, to, host,
                 _columns(current, to, extra, power, deadline)):
            moved = Moved(trigger, (VmState(current[0]), _task(current[1])), to)
            _aftermath(session, instance_uuid, moved, fault, record)
            return moved
    return None


def _task(task: TaskState | str | None) -> TaskState | None:
    return TaskState(task) if task is not None else None


def _current(session: Session, instance_uuid: uuid.UUID) -> State | None:
    row = session.execute(
        sa.select(Instance.vm_state, Instance.task_state)
        .where(Instance.uuid == instance_uuid, Instance.deleted.is_(False))).one_or_none()
    return None if row is None else (VmState(row[0]), _task(row[1]))


def _columns(current: State, to: Target, extra: dict[str, Any], power: int | None,
             deadline: datetime | None) -> dict[str, Any]:
    cols: dict[str, Any] = {**extra, "vm_state": to.vm, "task_state": to.task}
    if current[1] is None and to.task is not None:
        # A new task begins: no conductor drives it yet (``conductor/work.py``).
        cols.setdefault("work_owner", None)
        cols.setdefault("work_claimed_at", None)
    if to.task is None:
        cols["task_deadline"] = None
    elif deadline is not None:
        cols["task_deadline"] = deadline
    if power is not None or to.power is not None:
        cols["power_state"] = power if power is not None else to.power
    if to.vm is VmState.DELETED:
        now = utcnow()
        cols.update(deleted=True, deleted_at=now, terminated_at=now)
    elif to.vm is VmState.SOFT_DELETED and current[0] != VmState.SOFT_DELETED:
        # The reclaim counts the interval from here, as upstream's deleted_at.
        cols["deleted_at"] = utcnow()
    elif current[0] == VmState.SOFT_DELETED and to.vm is not VmState.SOFT_DELETED:
        cols["deleted_at"] = None
    return cols


def _swap(session: Session, instance_uuid: uuid.UUID, current: State, to: Target,
          host: str | None, cols: dict[str, Any]) -> bool:
    vm, task = current
    stmt = sa.update(Instance).where(
        Instance.uuid == instance_uuid, Instance.deleted.is_(False),
        Instance.vm_state == vm,
        Instance.task_state.is_(None) if task is None else Instance.task_state == task)
    if host is not None:
        stmt = stmt.where(Instance.host == host)
    result = session.execute(stmt.values(updated_at=utcnow(), **cols)
                             .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _aftermath(session: Session, instance_uuid: uuid.UUID, moved: Moved, fault: str | None,
               record: Record | None) -> None:
    """What a transition carries along, in its transaction: the action, the fault, and
    for a deleted server the release of its ports."""
    if moved.after.vm is VmState.DELETED:
        release_server_ports(session, instance_uuid)
    if record is not None:
        ctx = record.ctx
        session.add(InstanceAction(instance_uuid=instance_uuid, action=record.action,
                                   request_id=ctx.request_id, user_id=ctx.user_id,
                                   project_id=ctx.project_id))
    message = fault or _template_fault(moved)
    if message is not None:
        instance_id = session.scalar(sa.select(Instance.id).where(
            Instance.uuid == instance_uuid))
        session.add(InstanceFault(instance_id=instance_id, code=500, message=message[:4096]))
    session.flush()


def _template_fault(moved: Moved) -> str | None:
    if moved.after.fault is None:
        return None
    vm, task = moved.before
    return moved.after.fault.format(vm=vm.value, task=task.value if task else None)
