"""The Neutron ports sweep when Neutron refuses or is down, on a real compute database:
a server whose converge fails waits (doubling) before it is tried again, so it never
starves the servers behind it; a Neutron that does not answer ends the round at once.

Neutron here is a double that answers a server's port list (empty: a deleted server
owes it nothing more) and refuses what the test says; the sweep's own reads and writes
go to the database.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from common.compute_db.models import Instance
from common.db import transaction, utcnow
from common.errors import Conflict, ServiceUnavailable
from common.neutron import NeutronClient
from common.settings import Settings
from conductor import neutron_ports
from conductor.neutron_ports import NeutronPorts
from tests.functional.db_sessions import sessions

__all__ = ["sessions"]


class _Neutron(NeutronClient):
    def __init__(self) -> None:
        settings = Settings()
        settings.network = settings.network.model_copy(update={
            "backend": "neutron", "neutron_url": "http://127.0.0.1:9/networking"})
        super().__init__(settings)
        self.asked: list[str] = []
        self.refuse: set[str] = set()
        self.down = False

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *,
             token: str | None = None, query: Iterable[tuple[str, str]] = ()
             ) -> dict[str, Any]:
        device = dict(query).get("device_id", "")
        self.asked.append(device)
        if self.down:
            raise ServiceUnavailable("Neutron does not answer")
        if device in self.refuse:
            raise Conflict("refused")
        return {"ports": []}


def _deleted_server(session: Session, age: int) -> uuid.UUID:
    """A deleted server whose ports are still owed a release (the sweep's work)."""
    inst = Instance(display_name="s", project_id="p", user_id="u", reservation_id="r",
                    flavor={}, vm_state="deleted", deleted=True, attempted_hosts=[],
                    network_request={"interfaces": []}, ports_host="h1",
                    updated_at=utcnow().replace(year=2000 + age))
    session.add(inst)
    session.flush()
    return inst.uuid


def _owed(sessions: sessionmaker[Session]) -> set[uuid.UUID]:
    with transaction(sessions) as session:
        return set(session.scalars(sa.select(Instance.uuid).where(
            Instance.ports_host.is_not(None))))


def test_a_server_neutron_refuses_waits_and_never_starves_the_others(
        sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(neutron_ports, "SWEEP_BATCH", 1)
    monkeypatch.setattr(neutron_ports, "BACKOFF_FIRST", 0.3)
    with transaction(sessions) as session:
        stuck, second, third = (_deleted_server(session, age) for age in (1, 2, 3))
    neutron = _Neutron()
    neutron.refuse.add(str(stuck))
    ports = NeutronPorts(sessions, neutron)
    try:
        ports.sweep()  # the oldest first: refused
        ports.sweep()
        ports.sweep()
        assert neutron.asked == [str(stuck), str(second), str(third)]
        assert _owed(sessions) == {stuck}
        assert ports.sweep() == 0  # still waiting: not asked again
        assert neutron.asked[3:] == []
        time.sleep(0.35)
        ports.sweep()  # its wait is over: tried again, refused, waits twice as long
        assert neutron.asked[3:] == [str(stuck)]
        time.sleep(0.35)
        assert ports.sweep() == 0
        time.sleep(0.3)
        neutron.refuse.clear()
        ports.sweep()
        assert neutron.asked[4:] == [str(stuck)]
        assert _owed(sessions) == set()
    finally:
        neutron.close()


def test_a_neutron_that_does_not_answer_ends_the_round_at_once(
        sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        owed = {_deleted_server(session, age) for age in (1, 2, 3)}
    neutron = _Neutron()
    neutron.down = True
    ports = NeutronPorts(sessions, neutron)
    try:
        ports.sweep()
        assert len(neutron.asked) == 1
        assert _owed(sessions) == owed
        # Not held against any server: all are tried once Neutron answers again.
        neutron.down = False
        ports.sweep()
        assert _owed(sessions) == set()
        assert len(neutron.asked) == 4
    finally:
        neutron.close()
