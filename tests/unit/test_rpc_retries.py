"""An RPC unit of work meets transient database trouble: handled again."""

from __future__ import annotations

import oslo_messaging as om
import pytest
from sqlalchemy import exc as sa_exc

from common import retries
from common.retries import retry_transient, transient_retries


def _too_many_clients() -> sa_exc.OperationalError:
    return sa_exc.OperationalError("SELECT 1", {}, Exception(
        "FATAL: sorry, too many clients already"))


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retries, "FIRST_PAUSE", 0.0)


def test_transient_trouble_is_retried_until_the_work_succeeds() -> None:
    calls: list[int] = []

    @retry_transient
    def work() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _too_many_clients()
        return "done"

    assert work() == "done"
    assert len(calls) == 3


def test_persistent_trouble_goes_back_to_the_caller_after_the_bounded_attempts() -> None:
    calls: list[int] = []

    @retry_transient
    def work() -> None:
        calls.append(1)
        raise _too_many_clients()

    with pytest.raises(sa_exc.OperationalError):
        work()
    assert len(calls) == retries.ATTEMPTS


def test_other_errors_are_not_retried() -> None:
    calls: list[int] = []

    @transient_retries
    class Endpoint:
        target = om.Target(version="1.0")  # an endpoint's target is left alone

        def handle(self) -> None:
            calls.append(1)
            raise ValueError("a bug, not the database")

    with pytest.raises(ValueError):
        Endpoint().handle()
    assert calls == [1]
    assert isinstance(Endpoint.target, om.Target)
