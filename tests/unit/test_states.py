"""The lifecycle tables: every entry walks, statuses match the upstream mapping."""

from __future__ import annotations

import pytest

from common.states import ACTIONS, Action, TaskState, VmState, allowed, status


@pytest.mark.parametrize("action", list(Action))
def test_every_action_is_allowed_exactly_from_its_rule(action: Action) -> None:
    rule = ACTIONS[action]
    for vm in VmState:
        for task in [None, *TaskState]:
            expected = vm in rule.from_vm and task in rule.from_task
            assert allowed(action, vm, task) is expected


@pytest.mark.parametrize(("vm", "task", "expected"), [
    (VmState.BUILDING, TaskState.SCHEDULING, "BUILD"),
    (VmState.BUILDING, TaskState.SPAWNING, "BUILD"),
    (VmState.ACTIVE, None, "ACTIVE"),
    (VmState.ACTIVE, TaskState.DELETING, "ACTIVE"),
    (VmState.ACTIVE, TaskState.REBOOTING, "REBOOT"),
    (VmState.ACTIVE, TaskState.REBOOTING_HARD, "HARD_REBOOT"),
    (VmState.ACTIVE, TaskState.RESIZE_PREP, "RESIZE"),
    (VmState.STOPPED, None, "SHUTOFF"),
    (VmState.RESIZED, None, "VERIFY_RESIZE"),
    (VmState.RESIZED, TaskState.RESIZE_REVERTING, "REVERT_RESIZE"),
    (VmState.ERROR, None, "ERROR"),
    (VmState.ERROR, TaskState.DELETING, "ERROR"),
    (VmState.DELETED, None, "DELETED"),
    (VmState.SHELVED_OFFLOADED, None, "SHELVED_OFFLOADED"),
])
def test_status_is_derived_as_upstream(vm: VmState, task: TaskState | None,
                                       expected: str) -> None:
    assert status(vm, task) == expected


def test_delete_is_allowed_while_building() -> None:
    assert allowed(Action.DELETE, VmState.BUILDING, TaskState.SCHEDULING)


def test_reboot_rejected_while_building() -> None:
    assert not allowed(Action.REBOOT_SOFT, VmState.BUILDING, TaskState.SPAWNING)


def test_nothing_is_allowed_on_a_deleted_server() -> None:
    assert not any(allowed(a, VmState.DELETED, None) for a in Action)
