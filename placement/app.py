"""The placement application: ``create_app(settings)``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from common.body_limits import BodyLimitMiddleware, BodyLimits
from common.db import (
    check_at_head,
    create_engine,
    engine_for,
    read_only,
    session_factory,
    transaction,
)
from common.openapi import describe_bodies
from common.routes import Route, bodies_of, build_router
from common.settings import Settings
from common.transient import RetryTransient
from placement.api import (
    aggregates,
    allocations,
    candidates,
    errors,
    inventories,
    providers,
    reshaper,
    resource_classes,
    root,
    traits,
    usages,
)
from placement.api.cors import CorsMiddleware
from placement.api.deps import gate
from placement.api.middleware import PlacementMiddleware
from placement.candidates import SnapshotCache
from placement.errors import DEFAULT_CODE
from placement.microversion import MAX_VERSION, MIN_VERSION
from placement.sync import sync_standards

LOG = logging.getLogger(__name__)

# Placement's surface, in the order FastAPI tries the routes.
MODULES = (root, providers, inventories, usages, traits, aggregates, resource_classes,
           allocations, candidates, reshaper)


def placement_routes() -> list[Route]:
    """Every route of the placement API (each module declares its own ``ROUTES``)."""
    return [route for module in MODULES for route in module.ROUTES]


def create_app(settings: Settings) -> FastAPI:
    """The placement API; its lifespan opens (and checks) the placement database."""
    app = FastAPI(
        title="Kilonova Placement", lifespan=_lifespan,
        openapi_url="/openapi.json", docs_url=None, redoc_url=None,
    )
    app.state.settings = settings
    # Per worker: what allocation candidates keep of the providers between requests.
    app.state.snapshots = SnapshotCache()
    # Inside the request plumbing: database trouble is retried, else a 503.
    app.add_middleware(RetryTransient, respond=_unavailable)
    # Inside placement's middleware: the refusal carries the request id and the
    # microversion's error format, and comes after the token check.
    app.add_middleware(BodyLimitMiddleware, limits=BodyLimits(
        settings.limits.placement_max_request_body_size, settings.limits.max_json_depth),
        render=_body_refused)
    app.add_middleware(PlacementMiddleware, auth_strategy=settings.auth.strategy)
    if settings.cors.allowed_origin:
        # Outermost: a preflight carries no token.
        app.add_middleware(CorsMiddleware, settings=settings.cors)
    routes = placement_routes()
    router = build_router(routes, gate=gate)
    errors.install(app, [router])
    app.include_router(router)
    # Bodies differ per microversion: the document shows the latest's.
    describe_bodies(app, bodies_of(routes, MAX_VERSION))
    return app


def _unavailable(status: int, message: str, retry_after: int) -> ASGIApp:
    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        version = scope.get("state", {}).get("microversion", MIN_VERSION)
        await errors.error_response(status, message, DEFAULT_CODE, version, {
            "Retry-After": str(retry_after)})(scope, receive, send)

    return answer
def _body_refused(scope: Scope, status: int, message: str) -> ASGIApp:
    return errors.error_response(status, message, DEFAULT_CODE, scope["state"]["microversion"])


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = engine_for(settings.placement_db_url, settings.database)
    # Builtin tokens are checked against the identity records in the compute database.
    identity = (create_engine(settings.compute_db_url, pool_size=2, max_pool=4,
                              pool_timeout=settings.database.pool_timeout)
                if settings.auth.strategy == "builtin" else None)
    try:
        await anyio.to_thread.run_sync(_prepare, engine)
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.readers = read_only(app.state.sessions)
        app.state.identity = (None if identity is None
                              else read_only(session_factory(identity)))
        yield
    finally:
        engine.dispose()
        if identity is not None:
            identity.dispose()


def _prepare(engine: Engine) -> None:
    """Refuse an old schema, then make sure the standard classes and traits exist."""
    check_at_head("placement", engine)
    with transaction(session_factory(engine)) as session:
        sync_standards(session)
    LOG.debug("placement database ready at %s",
              engine.url.render_as_string(hide_password=True))
