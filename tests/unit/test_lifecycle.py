"""The lifecycle table: consistent with the action rules, complete, the only writer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from common import lifecycle
from common.lifecycle import INITIAL, MOVE_TASKS, TRANSITIONS, Event, reachable, target
from common.states import ACTIONS, ALL_LIVE, Action, TaskState, VmState, allowed

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("common", "compute_api", "conductor", "compute_agent", "scheduler", "placement",
           "cli")
# The table and the one function that applies it.
WRITERS = {"common/lifecycle.py", "common/compute_db/transition.py"}
STATE_COLUMNS = {"vm_state", "task_state"}
# Read-only copies of an instance's states sent to its agent.
READ_COPIES = {"InstancePayload"}


def test_event_values_never_collide_with_action_values() -> None:
    assert not {e.value for e in Event} & {a.value for a in Action}


@pytest.mark.parametrize("action", list(Action))
def test_an_action_begins_exactly_where_its_rule_allows(action: Action) -> None:
    for vm in ALL_LIVE:
        for task in [None, *TaskState]:
            begins = target(action, vm, task)
            assert (begins is not None) is allowed(action, vm, task)
            if begins is not None:
                assert (begins.vm, begins.task) == (vm, ACTIONS[action].sets_task)


def test_every_reachable_task_has_a_deadline_outcome() -> None:
    for vm, task in reachable():
        if task is not None:
            assert target(Event.EXPIRED, vm, task) is not None, (vm, task)


def test_every_reachable_state_can_be_deleted() -> None:
    for vm, task in reachable():
        if vm is not VmState.DELETED:
            assert target(Event.DELETED_LOCALLY, vm, task) is not None


def test_every_task_of_an_action_can_end_and_fail() -> None:
    for action, rule in ACTIONS.items():
        if action in (Action.DELETE, Action.RESIZE, Action.MIGRATE):
            continue
        for vm in rule.from_vm:
            assert target(Event.FAILED, vm, rule.sets_task) is not None
            ends = [e for e in Event if target(e, vm, rule.sets_task) is not None
                    and target(e, vm, rule.sets_task).task is None  # type: ignore[union-attr]
                    and e not in (Event.FAILED, Event.EXPIRED, Event.DELETED_LOCALLY,
                                  Event.RESET_ACTIVE, Event.RESET_ERROR)]
            assert ends, (action, vm)


def test_a_build_ends_active_or_in_error() -> None:
    assert (target(Event.SCHEDULED, *INITIAL) or INITIAL) != INITIAL
    spawning = (VmState.BUILDING, TaskState.SPAWNING)
    assert target(Event.SPAWNED, *spawning) == lifecycle.Target(VmState.ACTIVE, None)
    assert target(Event.BUILD_FAILED, *spawning) == lifecycle.Target(VmState.ERROR, None)


def test_an_expired_cold_move_is_an_error_and_a_live_one_is_not() -> None:
    cold = target(Event.EXPIRED, VmState.ACTIVE, TaskState.RESIZE_MIGRATING)
    live = target(Event.EXPIRED, VmState.ACTIVE, TaskState.MIGRATING)
    assert cold is not None and cold.vm is VmState.ERROR
    assert live is not None and live.vm is VmState.ACTIVE
    assert {TaskState.RESIZE_PREP, TaskState.MIGRATING} <= MOVE_TASKS


def test_confirm_and_revert_return_to_the_state_the_move_began_in() -> None:
    for old in (VmState.ACTIVE, VmState.STOPPED):
        confirm = target(lifecycle.confirmed(old), VmState.RESIZED,
                         TaskState.RESIZE_CONFIRMING)
        revert = target(lifecycle.reverted(old), VmState.RESIZED, TaskState.RESIZE_REVERTING)
        assert confirm is not None and confirm.vm is old
        assert revert is not None and revert.vm is old


def test_nothing_leaves_deleted() -> None:
    assert not [key for key in TRANSITIONS if key[1] is VmState.DELETED]


# -- one writer ------------------------------------------------------------------------


def _is_column_read(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr in STATE_COLUMNS


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _writes(tree: ast.AST) -> list[int]:
    """Lines that write vm_state / task_state in any of the shapes the tree uses."""
    lines = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for tgt in targets:
            for leaf in ast.walk(tgt):
                if isinstance(leaf, ast.Attribute) and leaf.attr in STATE_COLUMNS:
                    lines.append(leaf.lineno)
                if (isinstance(leaf, ast.Subscript) and isinstance(leaf.slice, ast.Constant)
                        and leaf.slice.value in STATE_COLUMNS):
                    lines.append(leaf.lineno)
        if isinstance(node, ast.Call):
            if _callee(node) == "setattr" and any(
                    isinstance(a, ast.Constant) and a.value in STATE_COLUMNS for a in node.args):
                lines.append(node.lineno)
            if _callee(node) not in READ_COPIES:
                lines += [kw.lineno for kw in node.keywords if kw.arg in STATE_COLUMNS]
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (isinstance(key, ast.Constant) and key.value in STATE_COLUMNS
                        and not _is_column_read(value)):
                    lines.append(key.lineno)
    return lines


def _product_files() -> list[Path]:
    return [p for top in PRODUCT for p in sorted((REPO / top).rglob("*.py"))]


def test_only_the_lifecycle_writer_writes_vm_state_and_task_state() -> None:
    offenders = []
    for path in _product_files():
        rel = path.relative_to(REPO).as_posix()
        if rel in WRITERS:
            continue
        tree = ast.parse(path.read_text(), filename=rel)
        offenders += [f"{rel}:{line}" for line in _writes(tree)]
    assert offenders == []


@pytest.mark.parametrize("source", [
    "inst.vm_state = 'active'",
    "inst.task_state, x = None, 1",
    "values['task_state'] = None",
    "session.execute(sa.update(Instance).values(vm_state='error'))",
    "swap(values={'task_state': None})",
    "setattr(inst, 'vm_state', 'active')",
    "Instance(vm_state='building')",
])
def test_the_scan_catches_every_shape_of_write(source: str) -> None:
    assert _writes(ast.parse(source))


@pytest.mark.parametrize("source", [
    "InstancePayload(vm_state=inst.vm_state)",
    "SORT = {'vm_state': Instance.vm_state}",
    "if inst.task_state == 'x': pass",
])
def test_the_scan_lets_reads_through(source: str) -> None:
    assert not _writes(ast.parse(source))


def test_the_committed_diagram_is_current() -> None:
    committed = (REPO / "docs" / "lifecycle.dot").read_text()
    assert committed == lifecycle.to_dot(), "run: kilonova states --dot > docs/lifecycle.dot"


def test_the_cli_prints_the_diagram(capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    assert main(["states", "--dot"]) == 0
    assert capsys.readouterr().out == lifecycle.to_dot()


def _raw_state_compares(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_column_read(s) for s in sides) and any(
                    isinstance(s, ast.Constant) and isinstance(s.value, str) for s in sides):
                lines.append(node.lineno)
    return lines


def test_the_agent_compares_states_as_enums_never_as_strings() -> None:
    offenders = [f"{path.relative_to(REPO)}:{line}"
                 for path in sorted((REPO / "compute_agent").rglob("*.py"))
                 for line in _raw_state_compares(ast.parse(path.read_text()))]
    assert offenders == []
    assert _raw_state_compares(ast.parse("inst.task_state != 'spawning'"))
