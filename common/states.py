"""The server lifecycle as data: vm states, task states, power states, API status.

``ACTIONS`` says from which (vm_state, task_state) an action may start and which task
state it sets while it runs; ``status()`` derives the API status the way the upstream
Compute API does, so clients read it correctly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum


class VmState(StrEnum):
    ACTIVE = "active"
    BUILDING = "building"
    PAUSED = "paused"
    SUSPENDED = "suspended"
    STOPPED = "stopped"
    RESCUED = "rescued"
    RESIZED = "resized"
    SOFT_DELETED = "soft-delete"
    DELETED = "deleted"
    ERROR = "error"
    SHELVED = "shelved"
    SHELVED_OFFLOADED = "shelved_offloaded"


class TaskState(StrEnum):
    SCHEDULING = "scheduling"
    SPAWNING = "spawning"
    REBOOTING = "rebooting"
    REBOOTING_HARD = "rebooting_hard"
    POWERING_OFF = "powering-off"
    POWERING_ON = "powering-on"
    PAUSING = "pausing"
    UNPAUSING = "unpausing"
    SUSPENDING = "suspending"
    RESUMING = "resuming"
    REBUILDING = "rebuilding"
    RESIZE_PREP = "resize_prep"
    RESIZE_MIGRATING = "resize_migrating"
    RESIZE_FINISH = "resize_finish"
    RESIZE_REVERTING = "resize_reverting"
    RESIZE_CONFIRMING = "resize_confirming"
    MIGRATING = "migrating"
    DELETING = "deleting"
    IMAGE_SNAPSHOT = "image_snapshot"
    IMAGE_BACKUP = "image_backup"
    # Declared for the actions that come next (rebuild, shelve, rescue, soft delete):
    # the lifecycle table already says where they lead.
    REBUILD_SPAWNING = "rebuild_spawning"
    SHELVING = "shelving"
    SHELVING_OFFLOADING = "shelving_offloading"
    UNSHELVING = "unshelving"
    RESCUING = "rescuing"
    UNRESCUING = "unrescuing"
    SOFT_DELETING = "soft-deleting"
    RESTORING = "restoring"
    UPDATING_PASSWORD = "updating_password"
    # Ours: upstream hot-plugs within one blocking request and shows no task meanwhile;
    # here the host's work is asynchronous, and the task keeps other actions out.
    INTERFACE_ATTACHING = "interface_attaching"
    INTERFACE_DETACHING = "interface_detaching"


class PowerState(IntEnum):
    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7


class Action(StrEnum):
    DELETE = "delete"
    REBOOT_SOFT = "reboot"
    REBOOT_HARD = "reboot_hard"
    STOP = "stop"
    START = "start"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    SUSPEND = "suspend"
    RESUME = "resume"
    SNAPSHOT = "createImage"
    BACKUP = "createBackup"
    RESIZE = "resize"
    MIGRATE = "migrate"
    CONFIRM_RESIZE = "confirmResize"
    REVERT_RESIZE = "revertResize"
    LIVE_MIGRATE = "live-migration"
    # Not served yet: their rules and outcomes are in the tables, handlers come next.
    REBUILD = "rebuild"
    EVACUATE = "evacuate"
    SHELVE = "shelve"
    SHELVE_OFFLOAD = "shelveOffload"
    UNSHELVE = "unshelve"
    RESCUE = "rescue"
    UNRESCUE = "unrescue"
    SOFT_DELETE = "softDelete"
    RESTORE = "restore"
    CHANGE_PASSWORD = "changePassword"
    ATTACH_INTERFACE = "attach_interface"
    DETACH_INTERFACE = "detach_interface"


@dataclass(frozen=True)
class Rule:
    from_vm: frozenset[VmState]
    sets_task: TaskState
    # None in from_task means "no task running"; ANY_TASK admits every task state.
    from_task: frozenset[TaskState | None] = frozenset({None})


ALL_LIVE = frozenset(VmState) - {VmState.DELETED}
ANY_TASK: frozenset[TaskState | None] = frozenset({None, *TaskState})
_REBUILDABLE = frozenset({VmState.ACTIVE, VmState.STOPPED, VmState.ERROR})
# Where upstream attaches and detaches interfaces (os-interface).
INTERFACE_VMS = frozenset({VmState.ACTIVE, VmState.PAUSED, VmState.STOPPED,
                           VmState.SUSPENDED, VmState.SHELVED, VmState.SHELVED_OFFLOADED})

ACTIONS: Mapping[Action, Rule] = {
    Action.DELETE: Rule(ALL_LIVE, TaskState.DELETING, ANY_TASK),
    Action.REBOOT_SOFT: Rule(
        frozenset({VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED,
                   VmState.ERROR}),
        TaskState.REBOOTING,
    ),
    Action.REBOOT_HARD: Rule(
        frozenset({VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED,
                   VmState.ERROR}),
        TaskState.REBOOTING_HARD,
        frozenset({None, TaskState.REBOOTING}),
    ),
    Action.STOP: Rule(frozenset({VmState.ACTIVE, VmState.ERROR}), TaskState.POWERING_OFF),
    Action.START: Rule(frozenset({VmState.STOPPED}), TaskState.POWERING_ON),
    Action.PAUSE: Rule(frozenset({VmState.ACTIVE}), TaskState.PAUSING),
    Action.UNPAUSE: Rule(frozenset({VmState.PAUSED}), TaskState.UNPAUSING),
    Action.SUSPEND: Rule(frozenset({VmState.ACTIVE}), TaskState.SUSPENDING),
    Action.RESUME: Rule(frozenset({VmState.SUSPENDED}), TaskState.RESUMING),
    Action.SNAPSHOT: Rule(
        frozenset({VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED}),
        TaskState.IMAGE_SNAPSHOT,
    ),
    Action.BACKUP: Rule(
        frozenset({VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED}),
        TaskState.IMAGE_BACKUP,
    ),
    Action.RESIZE: Rule(frozenset({VmState.ACTIVE, VmState.STOPPED}), TaskState.RESIZE_PREP),
    Action.MIGRATE: Rule(frozenset({VmState.ACTIVE, VmState.STOPPED}), TaskState.RESIZE_PREP),
    Action.CONFIRM_RESIZE: Rule(frozenset({VmState.RESIZED}), TaskState.RESIZE_CONFIRMING),
    Action.REVERT_RESIZE: Rule(frozenset({VmState.RESIZED}), TaskState.RESIZE_REVERTING),
    Action.LIVE_MIGRATE: Rule(frozenset({VmState.ACTIVE, VmState.PAUSED}),
                              TaskState.MIGRATING),
    Action.REBUILD: Rule(_REBUILDABLE, TaskState.REBUILDING),
    Action.EVACUATE: Rule(_REBUILDABLE, TaskState.REBUILDING),
    Action.SHELVE: Rule(frozenset({VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED,
                                   VmState.SUSPENDED}), TaskState.SHELVING),
    Action.SHELVE_OFFLOAD: Rule(frozenset({VmState.SHELVED}), TaskState.SHELVING_OFFLOADING),
    Action.UNSHELVE: Rule(frozenset({VmState.SHELVED, VmState.SHELVED_OFFLOADED}),
                          TaskState.UNSHELVING),
    Action.RESCUE: Rule(_REBUILDABLE, TaskState.RESCUING),
    Action.UNRESCUE: Rule(frozenset({VmState.RESCUED}), TaskState.UNRESCUING),
    Action.SOFT_DELETE: Rule(ALL_LIVE - {VmState.SOFT_DELETED, VmState.BUILDING},
                             TaskState.SOFT_DELETING),
    Action.RESTORE: Rule(frozenset({VmState.SOFT_DELETED}), TaskState.RESTORING),
    Action.CHANGE_PASSWORD: Rule(frozenset({VmState.ACTIVE}), TaskState.UPDATING_PASSWORD),
    Action.ATTACH_INTERFACE: Rule(INTERFACE_VMS, TaskState.INTERFACE_ATTACHING),
    Action.DETACH_INTERFACE: Rule(INTERFACE_VMS, TaskState.INTERFACE_DETACHING),
}

# trigger_crash_dump runs no task of its own (as upstream): the vm states it may be asked
# in, with no task running.
CRASH_DUMP_FROM = frozenset({VmState.ACTIVE, VmState.PAUSED, VmState.RESCUED,
                             VmState.RESIZED, VmState.ERROR})

# The vm_state a power action leaves the server in when it succeeds.
POWER_RESULTS: Mapping[Action, VmState] = {
    Action.START: VmState.ACTIVE,
    Action.STOP: VmState.STOPPED,
    Action.REBOOT_SOFT: VmState.ACTIVE,
    Action.REBOOT_HARD: VmState.ACTIVE,
    Action.PAUSE: VmState.PAUSED,
    Action.UNPAUSE: VmState.ACTIVE,
    Action.SUSPEND: VmState.SUSPENDED,
    Action.RESUME: VmState.ACTIVE,
}

# The status a vm_state shows when no task overrides it.
_DEFAULT_STATUS: Mapping[VmState, str] = {
    VmState.ACTIVE: "ACTIVE",
    VmState.BUILDING: "BUILD",
    VmState.PAUSED: "PAUSED",
    VmState.SUSPENDED: "SUSPENDED",
    VmState.STOPPED: "SHUTOFF",
    VmState.RESCUED: "RESCUE",
    VmState.RESIZED: "VERIFY_RESIZE",
    VmState.SOFT_DELETED: "SOFT_DELETED",
    VmState.DELETED: "DELETED",
    VmState.ERROR: "ERROR",
    VmState.SHELVED: "SHELVED",
    VmState.SHELVED_OFFLOADED: "SHELVED_OFFLOADED",
}

_RESIZE_TASKS = {TaskState.RESIZE_PREP, TaskState.RESIZE_MIGRATING,
                 TaskState.RESIZE_FINISH}

# (vm_state, task_state) pairs whose status differs from the vm_state's default.
_TASK_STATUS: Mapping[tuple[VmState, TaskState], str] = {
    (VmState.ACTIVE, TaskState.REBOOTING): "REBOOT",
    (VmState.ACTIVE, TaskState.REBOOTING_HARD): "HARD_REBOOT",
    (VmState.ACTIVE, TaskState.REBUILDING): "REBUILD",
    (VmState.ACTIVE, TaskState.UPDATING_PASSWORD): "PASSWORD",
    (VmState.ACTIVE, TaskState.MIGRATING): "MIGRATING",
    **{(VmState.ACTIVE, t): "RESIZE" for t in _RESIZE_TASKS},
    **{(VmState.STOPPED, t): "RESIZE" for t in _RESIZE_TASKS},
    (VmState.STOPPED, TaskState.REBUILDING): "REBUILD",
    (VmState.RESIZED, TaskState.RESIZE_REVERTING): "REVERT_RESIZE",
    (VmState.PAUSED, TaskState.MIGRATING): "MIGRATING",
    (VmState.ERROR, TaskState.REBUILDING): "REBUILD",
}


def status(vm_state: VmState | str, task_state: TaskState | str | None) -> str:
    """The Compute API ``status`` of a server in these states."""
    vm = VmState(vm_state)
    if task_state is not None:
        special = _TASK_STATUS.get((vm, TaskState(task_state)))
        if special is not None:
            return special
    return _DEFAULT_STATUS.get(vm, "UNKNOWN")


def vm_states_for_status(name: str) -> set[VmState]:
    """The vm states whose default status is ``name`` (for ``?status=`` filters)."""
    return {vm for vm, st in _DEFAULT_STATUS.items() if st == name.upper()}


def allowed(action: Action, vm_state: VmState | str, task_state: TaskState | str | None) -> bool:
    rule = ACTIONS[action]
    task = TaskState(task_state) if task_state is not None else None
    return VmState(vm_state) in rule.from_vm and task in rule.from_task


# Task states a server may hold only for a bounded time; the conductor ends them.
TRANSIENT_TASKS = frozenset(TaskState)


class MigrationStatus(StrEnum):
    """A migration record's ``status``, with upstream's values."""

    QUEUED = "queued"
    ACCEPTED = "accepted"
    PREPARING = "preparing"
    RUNNING = "running"
    PRE_MIGRATING = "pre-migrating"
    MIGRATING = "migrating"
    POST_MIGRATING = "post-migrating"
    FINISHED = "finished"
    CONFIRMING = "confirming"
    CONFIRMED = "confirmed"
    REVERTING = "reverting"
    REVERTED = "reverted"
    COMPLETED = "completed"
    DONE = "done"
    ERROR = "error"
    # A live migration asked to stop: while the source aborts it, and afterwards.
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"


# Statuses during which the move holds resources on both hosts.
MIGRATION_IN_PROGRESS = (
    MigrationStatus.PRE_MIGRATING, MigrationStatus.MIGRATING,
    MigrationStatus.POST_MIGRATING, MigrationStatus.FINISHED, MigrationStatus.CONFIRMING,
    MigrationStatus.REVERTING, MigrationStatus.QUEUED, MigrationStatus.PREPARING,
    MigrationStatus.RUNNING, MigrationStatus.ACCEPTED, MigrationStatus.CANCELLING,
)
# A live migration the API may show or abort.
LIVE_IN_PROGRESS = (MigrationStatus.QUEUED, MigrationStatus.PREPARING,
                    MigrationStatus.RUNNING)


class MigrationKind(StrEnum):
    """What a migration record moves: its ``migration_type``."""

    RESIZE = "resize"
    MIGRATION = "migration"
    LIVE_MIGRATION = "live-migration"
    EVACUATION = "evacuation"


class ImageStatus(StrEnum):
    """An image's ``status`` (Glance v2 values)."""

    QUEUED = "queued"
    SAVING = "saving"
    ACTIVE = "active"
    KILLED = "killed"
    DELETED = "deleted"
    DEACTIVATED = "deactivated"
    UPLOADING = "uploading"
    IMPORTING = "importing"
