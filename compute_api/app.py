"""The compute API and image API applications and the runtime they share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.responses import Response

from common.context import new_request_id, request_id_var
from common.db import check_at_head, create_engine, session_factory
from common.errors import ControlPlaneError
from common.rpc import Messaging
from common.settings import Settings
from compute_agent.rpc.client import ComputeClient
from compute_api.api import errors, flavors, servers, versions
from compute_api.api.microversion import requested_version
from compute_api.images import api as images_api
from compute_api.runtime import Runtime
from conductor.rpc.client import ConductorClient
from placement.client import PlacementClient

Handler = Callable[[Request], Awaitable[Response]]
VERSION_HEADERS = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"


def open_runtime(settings: Settings, messaging: Messaging, placement_url: str) -> Runtime:
    """Connect to the compute DB (refusing an old schema), the bus and placement."""
    engine = create_engine(settings.compute_db_url, settings.database.pool_size)
    check_at_head("compute", engine)
    return Runtime(
        settings=settings, engine=engine, sessions=session_factory(engine),
        messaging=messaging, conductor=ConductorClient(messaging),
        compute=ComputeClient(messaging),
        placement=PlacementClient(placement_url, timeout=settings.placement.timeout),
    )


def close_runtime(runtime: Runtime) -> None:
    runtime.placement.close()
    runtime.engine.dispose()


def _bind_request_id(request: Request) -> str:
    rid = request.headers.get("x-openstack-request-id") or new_request_id()
    request.state.request_id = rid
    request_id_var.set(rid)
    return rid


def create_compute_app() -> FastAPI:
    """The Compute API v2.1; its ``state.runtime`` is set by whoever serves it."""
    app = FastAPI(title="Kilonova Compute API", openapi_url=None, docs_url=None,
                  redoc_url=None)
    errors.install(app)
    for module in (versions, flavors, servers):
        app.include_router(module.router)

    @app.middleware("http")
    async def _microversion(request: Request, call_next: Handler) -> Response:
        rid = _bind_request_id(request)
        try:
            version = requested_version(request)
        except ControlPlaneError as exc:
            response: Response = errors.fault_response(errors.status_of(exc), exc.message)
            version = None
        else:
            request.state.api_version = version
            response = await call_next(request)
        response.headers["x-openstack-request-id"] = rid
        response.headers["x-compute-request-id"] = rid
        if version is not None:
            response.headers["OpenStack-API-Version"] = f"compute {version}"
            response.headers["X-OpenStack-Nova-API-Version"] = str(version)
        response.headers["Vary"] = VERSION_HEADERS
        return response

    return app


def create_image_app() -> FastAPI:
    """The Glance v2 subset; shares the compute API's runtime."""
    app = FastAPI(title="Kilonova Image API", openapi_url=None, docs_url=None,
                  redoc_url=None)
    errors.install(app)
    app.include_router(images_api.router)

    @app.get("/", include_in_schema=False)
    def _versions(request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/")
        doc = {"versions": [{"id": "v2.9", "status": "CURRENT",
                             "links": [{"rel": "self", "href": f"{base}/v2/"}]}]}
        return JSONResponse(doc, status_code=300)

    @app.middleware("http")
    async def _request_id(request: Request, call_next: Handler) -> Response:
        rid = _bind_request_id(request)
        response = await call_next(request)
        response.headers["x-openstack-request-id"] = rid
        return response

    return app
