"""What handlers get handed: a session, the microversion, the caller, the body."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, formatdate
from typing import Annotated, Any, TypeVar

import pydantic
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from common.context import RequestContext
from common.db import transaction
from common.errors import BadRequest, NotFound, Unauthorized
from common.routes import Route
from placement.api.validation import check_body
from placement.candidates import SnapshotCache
from placement.errors import MethodNotAllowed, UnsupportedMediaType
from placement.microversion import MIN_VERSION, Version

M = TypeVar("M")


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed on success, rolled back on error."""
    # GETs only read: on SQLite they need not queue for the single writer.
    reading = request.method in ("GET", "HEAD")
    factory = request.app.state.readers if reading else request.app.state.sessions
    with transaction(factory) as session:
        yield session


# The small dependencies below are ``async`` though they never await: FastAPI runs a
# plain ``def`` dependency in its thread pool, a hand-off that cost more than the work.


def _version_of(request: Request) -> Version:
    version: Version = getattr(request.state, "microversion", MIN_VERSION)
    return version


async def _version(request: Request) -> Version:
    return _version_of(request)


async def _context(request: Request) -> RequestContext:
    context = getattr(request.state, "context", None)
    if not isinstance(context, RequestContext):
        raise Unauthorized("The request you have made requires authentication.")
    return context


async def _snapshots(request: Request) -> SnapshotCache:
    cache: SnapshotCache = request.app.state.snapshots
    return cache


async def _root(request: Request) -> str:
    """Where the app is mounted, for the links it writes."""
    return str(request.scope.get("root_path", "")).rstrip("/")


@dataclass(frozen=True)
class JsonBody:
    raw: bytes

    def parse(self, model: type[M], schema: Mapping[str, Any]) -> M:
        """Check the body against ``schema``, then read it as ``model``. Raises BadRequest."""
        check_body(json.loads(self.raw), schema)
        try:
            return pydantic.TypeAdapter(model).validate_json(self.raw)
        except pydantic.ValidationError as exc:
            raise BadRequest(f"JSON does not validate: {_describe(exc)}") from None

    def data(self) -> Any:
        return json.loads(self.raw)


def _describe(exc: pydantic.ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "; ".join(parts)


async def _body(request: Request) -> JsonBody:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not media and await request.body():
        raise BadRequest("content-type header required when content-length > 0")
    if media != "application/json":
        raise UnsupportedMediaType(
            f"The media type {media or None} is not supported, use application/json"
        )
    raw = await request.body()
    try:
        json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"Malformed JSON: {exc}") from None
    return JsonBody(raw)


def fresh_headers() -> dict[str, str]:
    """Cache headers of an answer without a body that still dates itself (1.15+; the
    middleware drops them for older versions)."""
    return {"cache-control": "no-cache", "last-modified": formatdate(usegmt=True)}


def http_date(moment: datetime) -> str:
    return format_datetime(moment.replace(tzinfo=UTC), usegmt=True)


# Commit before the response leaves: a client reading right after a 2xx sees the write.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
VersionDep = Annotated[Version, Depends(_version)]
ContextDep = Annotated[RequestContext, Depends(_context)]
RootDep = Annotated[str, Depends(_root)]
SnapshotsDep = Annotated[SnapshotCache, Depends(_snapshots)]
BodyDep = Annotated[JsonBody, Depends(_body)]


def since(version: Version, status: int = 404) -> Any:
    """A route dependency: the route does not exist before ``version``."""

    async def check(request: Request) -> None:
        if _version_of(request) < version:
            if status == 405:
                raise MethodNotAllowed(
                    f"The method {request.method} is not allowed for this resource."
                )
            raise NotFound("The resource could not be found.")

    return Depends(check)


def gate(route: Route) -> list[Any]:
    """The dependency placement runs before a route's handler: its microversion check."""
    if route.min_version is None:
        return []
    major, minor = route.min_version.split(".")
    return [since(Version(int(major), int(minor)), route.absent_status)]


async def _optional_body(request: Request) -> JsonBody | None:
    if not await request.body():
        return None
    return await _body(request)


OptionalBodyDep = Annotated[JsonBody | None, Depends(_optional_body)]
