"""Transient database trouble: retried inside the request, else 503 with Retry-After.

A connection refused, a server with too many clients, a pool with no free connection, a
serialization failure or a deadlock says nothing about the request: the same request a
moment later will likely succeed. Every HTTP API therefore runs behind ``RetryTransient``:
a request whose transaction did not commit is replayed (same body) with backoff; if the
trouble persists the answer is 503 with ``Retry-After`` in the API's own error format,
never a 500. A request that committed is never replayed (its messages may have left).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

from sqlalchemy import exc as sa_exc
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.body_limits import read_body, replay

LOG = logging.getLogger(__name__)

# SQLSTATEs of trouble that passes: serialization failure, deadlock, too many
# connections, server starting or shutting down, connection failures.
TRANSIENT_SQLSTATES = {"40001", "40P01", "53300", "57P01", "57P02", "57P03", "08000", "08001",
                       "08003", "08004", "08006"}
TRANSIENT_TEXTS = ("database is locked", "too many clients", "too many connections",
                   "connection refused", "could not connect",
                   "server closed the connection", "terminating connection")
RETRY_AFTER = 2
COMMITTED = "kilonova_committed"


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is database trouble that a retry may not meet again."""
    if isinstance(error, sa_exc.TimeoutError):  # no free connection in the pool
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    state = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    if state in TRANSIENT_SQLSTATES:
        return True
    text = str(error.orig).lower()
    return isinstance(error, sa_exc.OperationalError) and any(t in text for t in
                                                              TRANSIENT_TEXTS)


def mark_committed(scope_state: dict[str, Any]) -> None:
    """Record that the request's transaction committed: it must not be replayed."""
    scope_state[COMMITTED] = True


# (status, message, retry_after) -> an ASGI app answering in the API's error format.
Responder = Callable[[int, str, int], ASGIApp]


class RetryTransient:
    """ASGI middleware: replay a request that failed on transient database trouble."""

    def __init__(self, app: ASGIApp, respond: Responder, attempts: int = 4,
                 first_pause: float = 0.05) -> None:
        self.app = app
        self.respond = respond
        self.attempts = attempts
        self.first_pause = first_pause

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if headers.get(b"content-type", b"").startswith(b"application/octet-stream"):
            # An upload streams through: it cannot be replayed without keeping it whole.
            await self._once(scope, receive, send)
            return
        body = await read_body(receive) or b""
        for attempt in range(self.attempts):
            started = False

            async def tracking(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                await send(message)

            state: dict[str, Any] = scope.setdefault("state", {})
            state.pop(COMMITTED, None)
            try:
                await self.app(scope, replay(body, receive), tracking)
                return
            except Exception as exc:
                if started or not is_transient(exc):
                    raise
                if state.get(COMMITTED) or attempt == self.attempts - 1:
                    await self._unavailable(scope, receive, send, exc)
                    return
                pause = self.first_pause * (2 ** attempt) * (0.5 + random.random())
                LOG.info("%s %s: transient database error (%s), retry in %.2f s",
                         scope["method"], scope["path"], exc.__class__.__name__, pause)
                await asyncio.sleep(pause)


    async def _once(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            if started or not is_transient(exc):
                raise
            await self._unavailable(scope, receive, send, exc)

    async def _unavailable(self, scope: Scope, receive: Receive, send: Send,
                           exc: Exception) -> None:
        LOG.warning("%s %s: database unavailable, answering 503: %s", scope["method"],
                    scope["path"], exc.__class__.__name__)
        await self.respond(503, "The database is unavailable for the moment; try again "
                           "later.", RETRY_AFTER)(scope, receive, send)
