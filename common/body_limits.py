"""The edge every HTTP API puts in front of its handlers: bounded request bodies.

A body larger than ``max_body_size`` is refused with 413 before it is read into
memory; a JSON body nested deeper than ``max_json_depth`` is refused with 400 before
any parser recurses into it (``json.loads`` and the validators recurse once per level,
so an unbounded depth ends in a ``RecursionError``). Each API renders the refusal in
its own error format through the ``render`` callable it hands in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# (scope, status, message) -> the error answer in the API's own body format.
Render = Callable[[Scope, int, str], ASGIApp]
# Requests whose body is streamed elsewhere under its own cap (image data).
Exempt = Callable[[Scope], bool]

TOO_LARGE = "Request is too large."
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A JSON string, escapes included: brackets inside strings do not nest. An unterminated
# one runs to the end (malformed, the parser says so); possessive, so no input makes the
# scan retry from every quote (quadratic time on a body of escaped quotes).
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST = re.compile(rb"\[\]|\{\}")


def rendered_by(respond: Callable[[int, str], ASGIApp]) -> Render:
    """A ``Render`` for an API whose error body needs only the status and message."""
    def render(scope: Scope, status: int, message: str) -> ASGIApp:
        return respond(status, message)

    return render


@dataclass(frozen=True)
class BodyLimits:
    """The bounds one API applies to request bodies."""

    max_body_size: int = 114688
    max_json_depth: int = 32


def too_deep(body: bytes, limit: int) -> bool:
    """Whether ``body`` nests arrays and objects more than ``limit`` levels deep.

    Works on the bytes without parsing them: strings are dropped, then one level of
    innermost ``[]``/``{}`` pairs is removed per pass, in C, never recursing. Brackets
    that do not pair up make malformed JSON, left for the parser to report.
    """
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    levels = 0
    while brackets:
        stripped = _INNERMOST.sub(b"", brackets)
        if stripped == brackets:
            return False
        levels += 1
        if levels > limit:
            return True
        brackets = stripped
    return False


class BodyLimitMiddleware:
    """Pure ASGI middleware enforcing ``BodyLimits``; the body is buffered and replayed."""

    def __init__(self, app: ASGIApp, limits: BodyLimits, render: Render,
                 exempt: Exempt | None = None) -> None:
        self.app = app
        self.limits = limits
        self.render = render
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _METHODS_WITH_BODY or (
                self.exempt is not None and self.exempt(scope)):
            await self.app(scope, receive, send)
            return
        limit = self.limits.max_body_size
        declared = Headers(scope=scope).get("content-length", "")
        # ASCII only: str.isdigit() also takes "²", which int() refuses.
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            await self.render(scope, 413, TOO_LARGE)(scope, receive, send)
            return
        body = await read_body(receive, limit)
        if body is None:
            await self.render(scope, 413, TOO_LARGE)(scope, receive, send)
            return
        if too_deep(body, self.limits.max_json_depth):
            await self.render(scope, 400, "Malformed request body: JSON is nested deeper "
                              f"than {self.limits.max_json_depth} levels")(scope, receive, send)
            return
        await self.app(scope, replay(body, receive), send)


async def read_body(receive: Receive, limit: int | None = None) -> bytes | None:
    """The whole body, or None once it grows past ``limit`` (the rest is not read).

    The middlewares that look at a body before the app (size, policy of actions,
    transient-error retries) read it with this and hand the app ``replay``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then whatever the client sends next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
