"""Request-scoped dependencies: context, version, session with after-commit hooks."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from common import policy
from common.auth import context_from_token, verifier_blocks
from common.context import RequestContext, admin_context
from common.errors import BadRequest, Forbidden
from common.transient import mark_committed
from compute_api.api.microversion import Version
from compute_api.runtime import Runtime

LOG = logging.getLogger(__name__)


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_context(request: Request, runtime: RuntimeDep) -> RequestContext:
    # The policy middleware (api/policy_check.py) checked the token already.
    checked = getattr(request.state, "context", None)
    if isinstance(checked, RequestContext):
        return checked
    token = request.headers.get("x-auth-token")
    if verifier_blocks(runtime.verifier):
        ctx = await run_in_threadpool(context_from_token, token, runtime.verifier,
                                      request.state.request_id)
    else:
        ctx = context_from_token(token, runtime.verifier, request.state.request_id,
                                 request.headers)
    request.state.context = ctx
    return ctx


ContextDep = Annotated[RequestContext, Depends(get_context)]


async def get_admin_context(ctx: ContextDep) -> RequestContext:
    """The caller of an operator API: the route's policy rule decides, else admins only."""
    if not policy.checked_by_policy() and not ctx.is_admin:
        raise Forbidden("Policy doesn't allow this operation to be performed.")
    return ctx


AdminContextDep = Annotated[RequestContext, Depends(get_admin_context)]


async def get_version(request: Request) -> Version:
    version: Version = request.state.api_version
    return version


VersionDep = Annotated[Version, Depends(get_version)]


class AfterCommit:
    """Calls to make once the request's transaction committed (RPC casts, HTTP calls)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def __call__(self, func: Callable[..., Any], *args: Any) -> None:
        self.calls.append((func, args))

    def run(self) -> None:
        for func, args in self.calls:
            try:
                func(*args)
            except Exception:
                # The record is committed; deadlines and sweeps finish what this left.
                LOG.exception("after-commit call %s failed", getattr(func, "__name__", func))


# Writes under these paths change what hosts' data planes hold (ports, rules, floating
# IPs, routers): once committed, the conductor tells the hosts (conductor/network_push.py).
_DATA_PLANE_PATHS = ("/os-security-group", "/os-floating-ips")
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def changes_data_planes(request: Request) -> bool:
    if request.method in _READS:
        return False
    path = request.url.path
    return (request.scope.get("root_path", "").endswith("/networking")
            or "/networking/" in path or any(p in path for p in _DATA_PLANE_PATHS))


def tell_data_planes(runtime: Runtime, after_commit: AfterCommit) -> None:
    """Once the request's transaction committed, have the hosts converge their networks
    (a no-op cast when no host has a data plane)."""
    after_commit(runtime.conductor.network_changed, admin_context())


async def get_session(request: Request, runtime: RuntimeDep) -> AsyncIterator[Session]:
    # An async dependency: FastAPI would run a sync one in a worker thread twice per
    # request. The commit is one short round trip; after-commit calls may be slow and
    # go to a worker thread.
    session = runtime.sessions()
    request.state.after_commit = AfterCommit()
    try:
        yield session
        session.commit()
        mark_committed(request.scope.setdefault("state", {}))
        if changes_data_planes(request):
            tell_data_planes(runtime, request.state.after_commit)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    if request.state.after_commit.calls:
        await run_in_threadpool(request.state.after_commit.run)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_read_session(runtime: RuntimeDep) -> AsyncIterator[Session]:
    session = runtime.read_sessions()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


async def get_after_commit(request: Request, session: SessionDep) -> AfterCommit:
    after: AfterCommit = request.state.after_commit
    return after


AfterCommitDep = Annotated[AfterCommit, Depends(get_after_commit)]


async def json_body(request: Request) -> Any:
    """The request body as JSON, or a 400 in the upstream format."""
    raw = await request.body()
    if not raw:
        raise BadRequest("The request body is empty or malformed.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed request body") from None


BodyDep = Annotated[Any, Depends(json_body)]
