"""Transient database trouble inside an RPC unit of work: retried with backoff.

A connection refused, too many clients, a serialization failure or a deadlock says
nothing about the message being handled: handled again a moment later it will likely
succeed. Every endpoint is written to be handled twice (compare-and-swap transitions,
idempotent claims), so the whole message is handled again, a bounded number of times;
if the trouble persists the error goes back to the caller, and the conductor's
durable-work takeover (``conductor/work.py``) drives any build it left behind. Used by
the conductor's and the scheduler's endpoints (agents have no database).
"""

from __future__ import annotations

import functools
import inspect
import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from common.transient import is_transient

LOG = logging.getLogger(__name__)

ATTEMPTS = 4
FIRST_PAUSE = 0.2

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)


def retry_transient(func: F) -> F:
    """``func`` run again with backoff while it fails on transient database trouble."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(ATTEMPTS):
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                if attempt == ATTEMPTS - 1 or not is_transient(exc):
                    raise
                pause = FIRST_PAUSE * (2 ** attempt) * (0.5 + random.random())
                LOG.warning("%s: transient database error (%s); again in %.2f s",
                            func.__name__, type(exc).__name__, pause)
                time.sleep(pause)
        raise AssertionError("unreachable")

    return wrapper  # type: ignore[return-value]


def transient_retries(cls: C) -> C:
    """Wrap every public method of an RPC endpoint class in ``retry_transient``."""
    for name, value in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(value):
            setattr(cls, name, retry_transient(value))
    return cls
