"""A transition told where the server likely is swaps without reading, and a wrong guess
costs a read, never a wrong move."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from common import db
from common.compute_db.models import Instance
from common.compute_db.transition import transition
from common.db import create_engine, session_factory, transaction
from common.lifecycle import INITIAL, SPAWNING, Event
from common.states import TaskState, VmState


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'compute.sqlite'}"
    db.upgrade("compute", url)
    engine = create_engine(url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def _server(sessions: sessionmaker[Session], vm: VmState, task: TaskState | None,
            host: str | None = "h1") -> uuid.UUID:
    with transaction(sessions) as session:
        inst = Instance(display_name="s", project_id="p", user_id="u", reservation_id="r",
                        flavor={}, vm_state=vm.value,
                        task_state=None if task is None else task.value, host=host)
        session.add(inst)
        session.flush()
        return inst.uuid


def _states(sessions: sessionmaker[Session], server: uuid.UUID) -> tuple[str, str | None]:
    with transaction(sessions) as session:
        row = session.execute(sa.select(Instance.vm_state, Instance.task_state)
                              .where(Instance.uuid == server)).one()
        return row[0], row[1]


def _selects(session: Session) -> list[str]:
    seen: list[str] = []
    sa.event.listen(session.get_bind(), "before_cursor_execute",
                    lambda *args: seen.append(args[2]) if args[2].startswith("SELECT")
                    else None)
    return seen


def test_a_right_guess_swaps_without_a_read(sessions: sessionmaker[Session]) -> None:
    server = _server(sessions, VmState.BUILDING, TaskState.SPAWNING)
    with transaction(sessions) as session:
        selects = _selects(session)
        moved = transition(session, server, Event.SPAWNED, host="h1", likely=SPAWNING)
        assert moved is not None and moved.before == SPAWNING
        assert not [s for s in selects if "instances.vm_state" in s.split("FROM")[0]]
    assert _states(sessions, server) == ("active", None)


def test_a_wrong_guess_reads_and_moves_from_where_the_server_is(
        sessions: sessionmaker[Session]) -> None:
    # Guessed "spawning", but the server is being deleted: the trigger that applies to
    # the real states decides (here: none, so nothing moves).
    deleting = _server(sessions, VmState.BUILDING, TaskState.DELETING)
    with transaction(sessions) as session:
        assert transition(session, deleting, Event.SPAWNED, host="h1",
                          likely=SPAWNING) is None
    assert _states(sessions, deleting) == ("building", "deleting")
    # Guessed "scheduling" for a server already spawning: the read finds it, and the
    # scheduled step does not apply there either.
    spawning = _server(sessions, VmState.BUILDING, TaskState.SPAWNING)
    with transaction(sessions) as session:
        assert transition(session, spawning, Event.SCHEDULED, likely=INITIAL) is None
    assert _states(sessions, spawning) == ("building", "spawning")


def test_a_guess_outside_the_expected_tasks_still_reads(
        sessions: sessionmaker[Session]) -> None:
    # The caller expects "deleting"; a stale guess of another task must not end the call.
    server = _server(sessions, VmState.ACTIVE, TaskState.DELETING)
    with transaction(sessions) as session:
        moved = transition(session, server, Event.DESTROYED, host="h1",
                           likely=(VmState.ACTIVE, TaskState.POWERING_OFF),
                           expect_task={TaskState.DELETING})
        assert moved is not None and moved.before == (VmState.ACTIVE, TaskState.DELETING)
    with transaction(sessions) as session:
        row = session.execute(sa.select(Instance.deleted).where(Instance.uuid == server)).one()
        assert row[0] is True


def test_a_guess_on_the_wrong_host_moves_nothing(sessions: sessionmaker[Session]) -> None:
    server = _server(sessions, VmState.BUILDING, TaskState.SPAWNING, host="h2")
    with transaction(sessions) as session:
        assert transition(session, server, Event.SPAWNED, host="h1", likely=SPAWNING) is None
    assert _states(sessions, server) == ("building", "spawning")
