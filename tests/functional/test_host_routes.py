"""Messages for a host go to the queue of the agent process that serves it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from common.context import admin_context
from common.errors import BadRequest, NotFound
from common.messages import NodeReport
from common.rpc import ROUTED_HOST
from compute_agent.rpc.server import ComputeEndpoint
from conductor.hosts import HostRecords
from conductor.routes import HostRoutes
from tests.functional.db_sessions import sessions

__all__ = ["sessions"]


def _node(name: str) -> NodeReport:
    return NodeReport(uuid=uuid.uuid4(), hypervisor_hostname=name, hypervisor_type="fake",
                      vcpus=4, memory_mb=4096, local_gb=40, cpu_allocation_ratio=1.0,
                      ram_allocation_ratio=1.0, disk_allocation_ratio=1.0)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_routes_follow_what_each_host_registered(sessions: sessionmaker[Session]) -> None:
    records, clock = HostRecords(sessions), Clock()
    routes = HostRoutes(sessions, ttl=10.0, clock=clock)
    records.register("sim-1", _node("sim-1"), rpc_server="sim")
    records.register("sim-2", _node("sim-2"), rpc_server="sim")
    records.register("real", _node("real"))
    assert [routes(h) for h in ("sim-1", "sim-2", "real")] == ["sim", "sim", "real"]
    # A host registered later is looked up when first asked for (after MISS_INTERVAL).
    records.register("sim-3", _node("sim-3"), rpc_server="sim")
    clock.now = 1.5
    assert routes("sim-3") == "sim"
    # A host that moved to a process of its own is seen once the routes are read again.
    records.register("sim-1", _node("sim-1"))
    assert routes("sim-1") == "sim"
    clock.now = 12.0
    assert routes("sim-1") == "sim-1"
    # A host nobody registered has its own name.
    assert routes("nowhere") == "nowhere"
    with pytest.raises(BadRequest):
        records.register("sim-4", _node("sim-4"), rpc_server="x" * 256)


class Manager:
    def __init__(self, host: str) -> None:
        self.host = host

    def start_instance(self, ctx: object, instance_uuid: uuid.UUID) -> str:
        return self.host


def test_one_endpoint_serves_each_host_its_messages_name() -> None:
    managers = {h: Manager(h) for h in ("sim-1", "sim-2")}
    endpoint = ComputeEndpoint(managers)  # type: ignore[arg-type]
    ctx, server = admin_context(), str(uuid.uuid4())
    assert endpoint.start_instance(ctx, instance_uuid=server,
                                   **{ROUTED_HOST: "sim-2"}) == "sim-2"
    assert endpoint.start_instance(ctx, instance_uuid=server,
                                   **{ROUTED_HOST: "sim-1"}) == "sim-1"
    with pytest.raises(Exception) as exc:
        endpoint.start_instance(ctx, instance_uuid=server, **{ROUTED_HOST: "other"})
    assert isinstance(exc.value.__cause__, NotFound)
    # A process of many hosts needs the host named.
    with pytest.raises(Exception) as exc:
        endpoint.start_instance(ctx, instance_uuid=server)
    assert isinstance(exc.value.__cause__, NotFound)


def test_routes_read_before_hold_while_the_database_is_away(
        sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    records, clock = HostRecords(sessions), Clock()
    routes = HostRoutes(sessions, ttl=10.0, clock=clock)
    records.register("sim-1", _node("sim-1"), rpc_server="sim")
    assert routes("sim-1") == "sim"

    def away() -> dict[str, str]:
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(routes, "_read", away)
    clock.now = 20.0
    assert routes("sim-1") == "sim"
    # A host never read cannot be routed: the caller hears of the outage.
    clock.now = 40.0
    with pytest.raises(OperationalError):
        routes("sim-9")
