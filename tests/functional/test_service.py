"""The service runner: graceful stop, periodic tasks, RPC errors as our own classes."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import oslo_messaging as om
import pytest

from common import errors
from common.context import RequestContext, admin_context
from common.rpc import Messaging, RpcClient, endpoint
from common.service import PeriodicTask, Service
from tests.rabbitutil import create_vhost, delete_vhost


class _SlowEndpoint:
    target = om.Target(version="1.0")

    def __init__(self) -> None:
        self.started = threading.Event()
        self.finished = threading.Event()

    @endpoint
    def slow(self, ctx: RequestContext, seconds: float) -> None:
        self.started.set()
        time.sleep(seconds)
        self.finished.set()

    @endpoint
    def fail(self, ctx: RequestContext, kind: str) -> None:
        if kind == "not_found":
            raise errors.NotFound("no such thing", thing="x")
        raise errors.NoValidHost("MEMORY_MB: need 2, largest free 1 on 1 hosts")

    @endpoint
    def echo_context(self, ctx: RequestContext) -> dict[str, Any]:
        return ctx.to_dict()

    @endpoint
    def answer_unless_first(self, ctx: RequestContext, hold: float) -> int:
        """The first message is held past its caller's patience (as if its taker had
        died); the next ones are answered with how many came."""
        self.asked = getattr(self, "asked", 0) + 1
        if self.asked == 1:
            time.sleep(hold)
        return self.asked


class _Client(RpcClient):
    version = "1.0"

    def __init__(self, messaging: Messaging, topic: str) -> None:
        self.topic = topic
        super().__init__(messaging)

    def slow(self, ctx: RequestContext, seconds: float) -> None:
        self._cast(ctx, "slow", seconds=seconds)

    def fail(self, ctx: RequestContext, kind: str) -> None:
        self._call(ctx, "fail", kind=kind)

    def echo_context(self, ctx: RequestContext) -> Any:
        return self._call(ctx, "echo_context")

    def answer_unless_first(self, ctx: RequestContext, hold: float) -> Any:
        return self._call_repeatable(ctx, "answer_unless_first", hold=hold)


@pytest.fixture(params=["memory", "rabbit"])
def bus(request: pytest.FixtureRequest) -> Any:
    url = "kombu+memory:////" if request.param == "memory" else create_vhost("kn_svc")
    messaging = Messaging(url, rpc_timeout=10)
    yield messaging
    messaging.close()
    if request.param == "rabbit":
        delete_vhost(url)


def _service(bus: Messaging, endpoint_obj: _SlowEndpoint) -> tuple[Service, _Client]:
    topic = f"t-{uuid.uuid4().hex[:8]}"
    service = Service("test")
    service.add_rpc_server(bus.server(topic, "h1", [endpoint_obj]))
    service.start()
    return service, _Client(bus, topic)


def test_stop_lets_in_flight_work_finish(bus: Messaging) -> None:
    ep = _SlowEndpoint()
    service, client = _service(bus, ep)
    client.slow(admin_context(), 1.0)
    assert ep.started.wait(10)
    service.stop()
    assert ep.finished.is_set()


def test_our_errors_come_back_as_our_classes(bus: Messaging) -> None:
    service, client = _service(bus, _SlowEndpoint())
    try:
        with pytest.raises(errors.NotFound, match="no such thing") as caught:
            client.fail(admin_context(), "not_found")
        assert caught.value.kwargs == {"thing": "x"}
        with pytest.raises(errors.NoValidHost, match="largest free 1"):
            client.fail(admin_context(), "nvh")
    finally:
        service.stop()


def test_context_travels_with_the_message(bus: Messaging) -> None:
    service, client = _service(bus, _SlowEndpoint())
    ctx = RequestContext(user_id="u1", project_id="p1", roles=("member",))
    try:
        got = client.echo_context(ctx)
    finally:
        service.stop()
    assert got["user_id"] == "u1"
    assert got["project_id"] == "p1"
    assert got["roles"] == ["member"]
    assert got["request_id"] == ctx.request_id


def test_call_without_a_server_times_out_as_service_unavailable(bus: Messaging) -> None:
    client = _Client(bus, f"nobody-{uuid.uuid4().hex[:6]}")
    client._timeout = 1
    with pytest.raises(errors.ServiceUnavailable, match="no answer"):
        client.echo_context(admin_context())


def test_a_repeatable_call_asks_again_when_its_first_message_is_never_answered(
        bus: Messaging) -> None:
    ep = _SlowEndpoint()
    service, client = _service(bus, ep)
    client._timeout = 3  # three attempts of one second each
    try:
        started = time.monotonic()
        assert client.answer_unless_first(admin_context(), hold=2.5) == 2
        # The second attempt answered: one share of the timeout lost, not all of it.
        assert time.monotonic() - started < 2.5
    finally:
        service.stop()


def test_a_repeatable_call_nobody_answers_fails_within_one_timeout(bus: Messaging) -> None:
    client = _Client(bus, f"nobody-{uuid.uuid4().hex[:6]}")
    client._timeout = 1.5
    started = time.monotonic()
    with pytest.raises(errors.ServiceUnavailable, match=r"no answer within 0\.5s"):
        client.answer_unless_first(admin_context(), hold=0)
    assert time.monotonic() - started < 3


def test_periodic_task_survives_a_failing_round() -> None:
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first round fails")

    task = PeriodicTask("flaky", 0.05, flaky, initial_delay=0)
    task.start()
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    task.stop()
    task.wait(5)
    assert len(calls) >= 3
