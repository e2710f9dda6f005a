"""The placement application: ``create_app(settings)``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from common.db import check_at_head, create_engine, read_only, session_factory, transaction
from common.settings import Settings
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
from placement.api.middleware import PlacementMiddleware
from placement.candidates import SnapshotCache
from placement.sync import sync_standards

LOG = logging.getLogger(__name__)

ROUTERS = (
    root.router, providers.router, inventories.router, usages.router, traits.router,
    aggregates.router, resource_classes.router, allocations.router, candidates.router,
    reshaper.router,
)


def create_app(settings: Settings) -> FastAPI:
    """The placement API; its lifespan opens (and checks) the placement database."""
    app = FastAPI(
        title="Kilonova Placement", lifespan=_lifespan,
        openapi_url=None, docs_url=None, redoc_url=None,
    )
    app.state.settings = settings
    # Per worker: what allocation candidates keep of the providers between requests.
    app.state.snapshots = SnapshotCache()
    app.add_middleware(PlacementMiddleware, auth_strategy=settings.auth.strategy)
    if settings.cors.allowed_origin:
        # Outermost: a preflight carries no token.
        app.add_middleware(CorsMiddleware, settings=settings.cors)
    errors.install(app, ROUTERS)
    for router in ROUTERS:
        app.include_router(router)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_engine(settings.placement_db_url, settings.database.pool_size)
    try:
        await anyio.to_thread.run_sync(_prepare, engine)
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.readers = read_only(app.state.sessions)
        yield
    finally:
        engine.dispose()


def _prepare(engine: Engine) -> None:
    """Refuse an old schema, then make sure the standard classes and traits exist."""
    check_at_head("placement", engine)
    with transaction(session_factory(engine)) as session:
        sync_standards(session)
    LOG.info("placement database ready at %s",
             engine.url.render_as_string(hide_password=True))
