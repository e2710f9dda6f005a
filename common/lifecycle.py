"""Every change of a server's (vm_state, task_state) as one table.

``TRANSITIONS[(trigger, vm_state, task_state)]`` is where the server goes when
``trigger`` happens in that state. A trigger is an ``Action`` beginning (its rule in
``common.states.ACTIONS`` says from where) or an ``Event``: a workflow step, an
outcome, a deadline expiring, the agent's reconciliation. A pair that is not in the
table cannot take that trigger: the writer (``common.compute_db.transition``) refuses
it, so a late step of a workflow cannot undo what a newer one decided.

The table is pure data; ``to_dot()`` renders it for ``kilonova states --dot``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from common.states import (
    ACTIONS,
    ALL_LIVE,
    ANY_TASK,
    POWER_RESULTS,
    Action,
    PowerState,
    TaskState,
    VmState,
)


class Event(StrEnum):
    """What moves a server other than an action beginning (values never equal an Action's)."""

    SCHEDULED = "scheduled"                # build: a host is chosen and claimed
    SPAWNED = "spawned"                    # build: the agent's guest runs
    RESCHEDULED = "rescheduled"            # build: a host failed, try another
    BUILD_FAILED = "build_failed"          # build: no host, or out of attempts
    DELETED_LOCALLY = "deleted_locally"    # delete with no host to ask (down / never placed)
    DESTROYED = "destroyed"                # delete: the agent destroyed the guest
    DONE = "done"                          # the running task succeeded
    FAILED = "failed"                      # the running task failed; the server stays
    MOVE_SCHEDULED = "move_scheduled"      # resize/migrate: destination claimed
    MOVE_DISK_MOVED = "move_disk_moved"    # resize/migrate: source powered off, disks sent
    MOVE_FINISHED = "move_finished"        # resize/migrate: awaiting confirmation
    CONFIRMED_ACTIVE = "confirmed_active"  # confirm of a move that began running
    CONFIRMED_STOPPED = "confirmed_stopped"
    REVERTED_ACTIVE = "reverted_active"    # revert of a move that began running
    REVERTED_STOPPED = "reverted_stopped"
    EXPIRED = "expired"                    # the task outlived its deadline (the sweeper)
    POWER_SYNCED = "power_synced"          # the agent's reconciler reports a power state
    GUEST_LOST = "guest_lost"              # the agent's reconciler finds no guest at all
    RESET_ACTIVE = "reset_active"          # os-resetState (admin)
    RESET_ERROR = "reset_error"
    EVACUATED_STOPPED = "evacuated_stopped"  # evacuate (2.95+): rebuilt elsewhere, stopped
    REBUILD_FAILED = "rebuild_failed"      # rebuild/evacuate failed: the server is ERROR
    UNSHELVE_PLACED = "unshelve_placed"    # unshelve of an offloaded server: host claimed
    HOST_RELEASED = "host_released"        # an expired unshelve's host given up again


Trigger = Action | Event
State = tuple[VmState, TaskState | None]


@dataclass(frozen=True)
class Target:
    vm: VmState
    task: TaskState | None
    # A power state the transition implies; None: unchanged or what the agent measured.
    power: PowerState | None = None
    # The fault a server gets when it lands here (``{task}``/``{vm}``: the state it left).
    fault: str | None = None
    # The server's placement allocations are released after this transition.
    releases: bool = False


INITIAL: State = (VmState.BUILDING, TaskState.SCHEDULING)
# Where a build waits for its agent once a host is recorded.
SPAWNING: State = (VmState.BUILDING, TaskState.SPAWNING)

_RUNNING_MOVE = frozenset({VmState.ACTIVE, VmState.STOPPED})
_COLD_MOVE_TASKS = (TaskState.RESIZE_PREP, TaskState.RESIZE_MIGRATING,
                    TaskState.RESIZE_FINISH)
_FINISH_TASKS = (TaskState.RESIZE_CONFIRMING, TaskState.RESIZE_REVERTING)
# Tasks of a move; the sweeper hands their expiry to the move flows (migration records).
MOVE_TASKS = frozenset({*_COLD_MOVE_TASKS, TaskState.MIGRATING, *_FINISH_TASKS})

_REBUILT = {VmState.ACTIVE: VmState.ACTIVE, VmState.STOPPED: VmState.STOPPED,
            VmState.ERROR: VmState.ACTIVE}
# Where a task that succeeds leaves the server, for actions other than the power ones.
_DONE_VM: Mapping[Action, Mapping[VmState, VmState]] = {
    Action.SNAPSHOT: {vm: vm for vm in ACTIONS[Action.SNAPSHOT].from_vm},
    Action.BACKUP: {vm: vm for vm in ACTIONS[Action.BACKUP].from_vm},
    Action.LIVE_MIGRATE: {vm: vm for vm in ACTIONS[Action.LIVE_MIGRATE].from_vm},
    Action.REBUILD: _REBUILT,
    Action.EVACUATE: _REBUILT,
    Action.SHELVE: {vm: VmState.SHELVED for vm in ACTIONS[Action.SHELVE].from_vm},
    Action.SHELVE_OFFLOAD: {VmState.SHELVED: VmState.SHELVED_OFFLOADED},
    Action.UNSHELVE: {vm: VmState.ACTIVE for vm in ACTIONS[Action.UNSHELVE].from_vm},
    Action.RESCUE: {vm: VmState.RESCUED for vm in ACTIONS[Action.RESCUE].from_vm},
    Action.UNRESCUE: {VmState.RESCUED: VmState.ACTIVE},
    Action.SOFT_DELETE: {vm: VmState.SOFT_DELETED for vm in ACTIONS[Action.SOFT_DELETE].from_vm},
    Action.RESTORE: {VmState.SOFT_DELETED: VmState.ACTIVE},
    Action.CHANGE_PASSWORD: {VmState.ACTIVE: VmState.ACTIVE},
    Action.ATTACH_INTERFACE: {vm: vm for vm in ACTIONS[Action.ATTACH_INTERFACE].from_vm},
    Action.DETACH_INTERFACE: {vm: vm for vm in ACTIONS[Action.DETACH_INTERFACE].from_vm},
}
_DONE_POWER: Mapping[Action, PowerState] = {
    Action.SHELVE_OFFLOAD: PowerState.NOSTATE, Action.SOFT_DELETE: PowerState.SHUTDOWN,
}

GUEST_LOST = ("The guest of this server is gone from its host (found missing while "
              "{vm}); delete or rebuild the server")
# Servers that have a guest on their host while no task runs: a missing one is lost.
GUEST_VMS = frozenset({VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED,
                       VmState.RESCUED})
BUILD_EXPIRED = "Build did not finish in time (stuck in {task})"
TASK_EXPIRED = "Task {task} did not finish in time; server left {vm}"
MOVE_EXPIRED = "Task {task} did not finish in time"

Entry = tuple[tuple[Trigger, VmState, TaskState | None], Target]


def _begins() -> Iterator[Entry]:
    for action, rule in ACTIONS.items():
        for vm in rule.from_vm:
            for task in rule.from_task:
                yield (action, vm, task), Target(vm, rule.sets_task)


def _build() -> Iterator[Entry]:
    building = VmState.BUILDING
    yield (Event.SCHEDULED, *INITIAL), Target(building, TaskState.SPAWNING)
    yield (Event.SPAWNED, building, TaskState.SPAWNING), Target(VmState.ACTIVE, None)
    yield (Event.RESCHEDULED, building, TaskState.SPAWNING), Target(*INITIAL)
    for task in (TaskState.SCHEDULING, TaskState.SPAWNING):
        yield (Event.BUILD_FAILED, building, task), Target(VmState.ERROR, None)
        yield (Event.EXPIRED, building, task), Target(VmState.ERROR, None, fault=BUILD_EXPIRED,
                                                      releases=True)


def _delete() -> Iterator[Entry]:
    for vm in ALL_LIVE:
        for task in ANY_TASK:
            yield (Event.DELETED_LOCALLY, vm, task), Target(VmState.DELETED, None,
                                                            releases=True)
            yield (Event.RESET_ACTIVE, vm, task), Target(VmState.ACTIVE, None)
            yield (Event.RESET_ERROR, vm, task), Target(VmState.ERROR, None)
        yield (Event.DESTROYED, vm, TaskState.DELETING), Target(VmState.DELETED, None)
        yield (Event.EXPIRED, vm, TaskState.DELETING), Target(VmState.DELETED, None,
                                                              releases=True)
        yield (Event.POWER_SYNCED, vm, None), Target(vm, None)
    for vm in GUEST_VMS:
        yield (Event.GUEST_LOST, vm, None), Target(VmState.ERROR, None, PowerState.NOSTATE,
                                                    fault=GUEST_LOST)


def _action_outcomes() -> Iterator[Entry]:
    """Power actions, snapshot, live migration and the actions to come: done or failed."""
    for action, rule in ACTIONS.items():
        if action in (Action.DELETE, Action.RESIZE, Action.MIGRATE, Action.CONFIRM_RESIZE,
                      Action.REVERT_RESIZE):
            continue
        task = rule.sets_task
        for vm in rule.from_vm:
            after = POWER_RESULTS.get(action) or _DONE_VM[action][vm]
            yield (Event.DONE, vm, task), Target(after, None, _DONE_POWER.get(action))
            yield (Event.FAILED, vm, task), Target(vm, None)
            fault = MOVE_EXPIRED if task in MOVE_TASKS else TASK_EXPIRED
            yield (Event.EXPIRED, vm, task), Target(vm, None, fault=fault)
    for vm in ACTIONS[Action.REBUILD].from_vm:
        # As upstream: a rebuild that failed on the host leaves the server in error.
        yield (Event.REBUILD_FAILED, vm, TaskState.REBUILDING), Target(VmState.ERROR, None)


def _rebuilds() -> Iterator[Entry]:
    """Evacuate's own outcome besides DONE (rebuilt elsewhere, running) and
    REBUILD_FAILED: rebuilt elsewhere and left stopped (2.95)."""
    for vm in ACTIONS[Action.EVACUATE].from_vm:
        yield (Event.EVACUATED_STOPPED, vm, TaskState.REBUILDING), Target(
            VmState.STOPPED, None, PowerState.SHUTDOWN)


def _shelving() -> Iterator[Entry]:
    """An offloaded server being unshelved gets its new host before its guest spawns; one
    whose unshelve expired after that gives the host up again."""
    offloaded = VmState.SHELVED_OFFLOADED
    yield (Event.UNSHELVE_PLACED, offloaded, TaskState.UNSHELVING), Target(
        offloaded, TaskState.UNSHELVING)
    yield (Event.HOST_RELEASED, offloaded, None), Target(offloaded, None,
                                                         power=PowerState.NOSTATE)


def _moves() -> Iterator[Entry]:
    """Resize and cold migration: prep -> migrating -> finish -> VERIFY_RESIZE."""
    for vm in _RUNNING_MOVE:
        yield (Event.MOVE_SCHEDULED, vm, TaskState.RESIZE_PREP), Target(
            vm, TaskState.RESIZE_MIGRATING)
        yield (Event.MOVE_DISK_MOVED, vm, TaskState.RESIZE_MIGRATING), Target(
            vm, TaskState.RESIZE_FINISH)
        for task in _COLD_MOVE_TASKS:
            yield (Event.FAILED, vm, task), Target(vm, None)
            # The server is recorded on the source, its guest maybe on neither host.
            yield (Event.EXPIRED, vm, task), Target(VmState.ERROR, None, fault=MOVE_EXPIRED)
        for task in (TaskState.RESIZE_MIGRATING, TaskState.RESIZE_FINISH):
            yield (Event.MOVE_FINISHED, vm, task), Target(VmState.RESIZED, None)
    resized = VmState.RESIZED
    confirming, reverting = _FINISH_TASKS
    yield (Event.CONFIRMED_ACTIVE, resized, confirming), Target(VmState.ACTIVE, None)
    yield (Event.CONFIRMED_STOPPED, resized, confirming), Target(VmState.STOPPED, None)
    yield (Event.REVERTED_ACTIVE, resized, reverting), Target(VmState.ACTIVE, None)
    yield (Event.REVERTED_STOPPED, resized, reverting), Target(VmState.STOPPED, None)
    for task in _FINISH_TASKS:
        # Still VERIFY_RESIZE: the user may try again.
        yield (Event.FAILED, resized, task), Target(resized, None)
        yield (Event.EXPIRED, resized, task), Target(resized, None, fault=MOVE_EXPIRED)


def _table(*parts: Iterable[Entry]) -> dict[tuple[Trigger, VmState, TaskState | None], Target]:
    out: dict[tuple[Trigger, VmState, TaskState | None], Target] = {}
    for part in parts:
        for key, target in part:
            if out.setdefault(key, target) != target:
                raise ValueError(f"two targets for {key}: {out[key]} and {target}")
    return out


TRANSITIONS: Mapping[tuple[Trigger, VmState, TaskState | None], Target] = _table(
    _begins(), _build(), _delete(), _action_outcomes(), _rebuilds(), _shelving(), _moves())


def target(trigger: Trigger, vm: VmState | str, task: TaskState | str | None
           ) -> Target | None:
    """Where ``trigger`` takes a server in (vm, task); None if it may not happen there."""
    key = (trigger, VmState(vm), TaskState(task) if task is not None else None)
    return TRANSITIONS.get(key)


def confirmed(old_vm: VmState | str) -> Event:
    """The confirm outcome that returns a move to the vm_state it started from."""
    return Event.CONFIRMED_STOPPED if old_vm == VmState.STOPPED else Event.CONFIRMED_ACTIVE


def reverted(old_vm: VmState | str) -> Event:
    """The revert outcome that returns a move to the vm_state it started from."""
    return Event.REVERTED_STOPPED if old_vm == VmState.STOPPED else Event.REVERTED_ACTIVE


def reachable() -> set[State]:
    """The states a server can reach from creation through the table."""
    seen: set[State] = {INITIAL}
    frontier = [INITIAL]
    while frontier:
        vm, task = frontier.pop()
        for (_, from_vm, from_task), to in TRANSITIONS.items():
            nxt = (to.vm, to.task)
            if (from_vm, from_task) == (vm, task) and nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


def _node(state: State) -> str:
    vm, task = state
    return f'"{vm.value}/{task.value if task is not None else "-"}"'


def to_dot() -> str:
    """The reachable lifecycle as a Graphviz digraph; edges merge triggers per pair."""
    live = reachable()
    labels: dict[tuple[State, State], list[str]] = {}
    for (trigger, vm, task), to in TRANSITIONS.items():
        source, dest = (vm, task), (to.vm, to.task)
        if source in live and source != dest:
            labels.setdefault((source, dest), []).append(str(trigger.value))
    lines = ["digraph lifecycle {", "  rankdir=LR;", "  node [shape=box, fontsize=10];",
             f"  {_node(INITIAL)} [style=bold];"]
    for (source, dest), names in sorted(labels.items(), key=lambda kv: _sort_key(*kv[0])):
        lines.append(f'  {_node(source)} -> {_node(dest)} [label="{", ".join(sorted(names))}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _sort_key(source: State, dest: State) -> tuple[str, str]:
    return _node(source), _node(dest)
