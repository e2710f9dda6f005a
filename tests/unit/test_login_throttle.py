"""The per-address brake on password guessing, over a sliding window."""

from __future__ import annotations

import pytest

from common.errors import Throttled
from compute_api.identity.login import SourceThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_refuses_after_the_limit_and_forgives_as_the_window_moves() -> None:
    clock = Clock()
    throttle = SourceThrottle(3, 10, clock)
    for _ in range(3):
        throttle.check("10.0.0.1")
        throttle.failed("10.0.0.1")
        clock.now += 1
    with pytest.raises(Throttled) as refused:
        throttle.check("10.0.0.1")
    assert refused.value.retry_after == 7  # the first failure (at 1000) leaves at 1010
    throttle.check("10.0.0.2")  # other addresses are not affected
    clock.now = 1010.5
    throttle.check("10.0.0.1")  # one failure slid out of the window


def test_zero_limit_never_refuses() -> None:
    throttle = SourceThrottle(0, 10)
    for _ in range(100):
        throttle.failed("x")
    throttle.check("x")
