"""The compute, image, identity and network API applications and the runtime they share."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.auth import token_verifier
from common.body_limits import BodyLimitMiddleware, BodyLimits, rendered_by
from common.context import new_request_id, request_id_var
from common.db import check_at_head, engine_for, read_only, session_factory
from common.errors import ControlPlaneError
from common.neutron import NeutronClient, neutron_enabled
from common.openapi import describe_bodies
from common.policy import PolicyForbidden
from common.routes import Route, bodies_of, build_router
from common.rpc import Messaging
from common.settings import Settings
from common.transient import RetryTransient
from compute_api.api import (
    aggregates,
    availability_zones,
    errors,
    extensions,
    external_events,
    flavors,
    hosts,
    hypervisors,
    images_proxy,
    keypairs,
    migrations,
    network_proxies,
    networks,
    query_params,
    quota_classes,
    quotas,
    removed,
    server_actions,
    server_diagnostics,
    server_extras,
    server_groups,
    server_interfaces,
    server_items,
    server_network_actions,
    servers,
    services,
    usage,
    usage_audit,
    versions,
)
from compute_api.api.microversion import MAX_VERSION, requested_version
from compute_api.api.policy_check import PolicyCheck
from compute_api.identity import api as identity_api
from compute_api.identity import errors as identity_errors
from compute_api.identity.login import SourceThrottle
from compute_api.images import api as images_api
from compute_api.images import errors as image_errors
from compute_api.images import policies as image_policies
from compute_api.images.source import image_lookup
from compute_api.network import policies as network_policies
from compute_api.network.api import errors as network_errors
from compute_api.network.api import routes as network_api
from compute_api.policies import route_table
from compute_api.runtime import Runtime, api_enforcer
from conductor.rpc.client import ConductorClient

# Each API describes itself (FastAPI generates the document); the interactive pages stay
# off, they load their scripts from a CDN.
OPENAPI_URL = "/openapi.json"
REQUEST_ID = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
VERSION_HEADERS = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"


def open_runtime(settings: Settings, messaging: Messaging,
                 catalog: dict[str, str] | None = None) -> Runtime:
    """Connect to the compute DB (refusing an old schema) and the bus."""
    engine = engine_for(settings.compute_db_url, settings.database)
    check_at_head("compute", engine)
    sessions = session_factory(engine)
    readers = read_only(sessions)
    return Runtime(
        settings=settings, engine=engine, sessions=sessions, read_sessions=readers,
        messaging=messaging, conductor=ConductorClient(messaging),
        verifier=token_verifier(settings, readers), catalog=dict(catalog or {}),
        policy=api_enforcer(settings.auth.policy_file), images=image_lookup(settings),
        neutron=NeutronClient(settings) if neutron_enabled(settings) else None,
        login_throttle=SourceThrottle(settings.identity.source_failure_attempts,
                                      settings.identity.source_failure_window),
    )


def close_runtime(runtime: Runtime) -> None:
    runtime.images.close()
    if runtime.neutron is not None:
        runtime.neutron.close()
    runtime.engine.dispose()


class _RequestIdHeaders:
    """Pure ASGI middleware: a request id per request, bound for logs and echoed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def extra_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        rid = scope["state"]["request_id"].encode()
        return [(b"x-openstack-request-id", rid)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        rid = headers.get("x-openstack-request-id", "")
        if not REQUEST_ID.fullmatch(rid):
            # Only a well-formed id is adopted: it ends up in every log line.
            rid = new_request_id()
        scope.setdefault("state", {})["request_id"] = rid
        request_id_var.set(rid)
        early = self.check(scope, headers)
        if early is not None:
            await early(scope, receive, self._wrap(scope, send))
            return
        await self.app(scope, receive, self._wrap(scope, send))

    def check(self, scope: Scope, headers: Headers) -> ASGIApp | None:
        return None

    def _wrap(self, scope: Scope, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *self.extra_headers(scope)]
            await send(message)

        return wrapped


class _ComputeHeaders(_RequestIdHeaders):
    """Request id plus microversion negotiation and the version headers upstream sends."""

    def check(self, scope: Scope, headers: Headers) -> ASGIApp | None:
        try:
            scope["state"]["api_version"] = requested_version(headers)
        except ControlPlaneError as exc:
            return errors.fault_response(errors.status_of(exc), exc.message)
        return None

    def extra_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        rid = scope["state"]["request_id"].encode()
        out = [(b"x-openstack-request-id", rid), (b"x-compute-request-id", rid),
               (b"vary", VERSION_HEADERS.encode())]
        version = scope["state"].get("api_version")
        if version is not None:
            out += [(b"openstack-api-version", f"compute {version}".encode()),
                    (b"x-openstack-nova-api-version", str(version).encode())]
        return out


# The compute API's surface, in the order FastAPI tries the routes.
COMPUTE_MODULES = (versions, flavors, servers, server_items, server_extras, server_interfaces,
                   server_actions, server_network_actions, server_diagnostics, migrations, keypairs,
                   server_groups, quotas, availability_zones, images_proxy, services,
                   hypervisors, aggregates, usage, usage_audit, hosts, quota_classes,
                   extensions, external_events, networks, network_proxies, removed)


def compute_routes() -> list[Route]:
    """Every route of the compute API (each module declares its own ``ROUTES``)."""
    return [route for module in COMPUTE_MODULES for route in module.ROUTES]


def create_compute_app(limits: BodyLimits | None = None) -> FastAPI:
    """The Compute API v2.1; its ``state.runtime`` is set by whoever serves it."""
    app = FastAPI(title="Kilonova Compute API", openapi_url=OPENAPI_URL, docs_url=None,
                  redoc_url=None)
    errors.install(app)
    routes = compute_routes()
    app.include_router(build_router(routes, gate=query_params.gate))
    describe_bodies(app, bodies_of(routes, MAX_VERSION))

    # Innermost: database trouble is retried below the token and policy checks.
    app.add_middleware(RetryTransient, respond=_unavailable(errors.fault_response))
    app.add_middleware(PolicyCheck, table=route_table(), render=_compute_error)
    # Outside the policy check, which parses action bodies to find their rule.
    app.add_middleware(BodyLimitMiddleware, limits=limits or BodyLimits(),
                       render=rendered_by(errors.fault_response))
    app.add_middleware(_ComputeHeaders)
    return app


def _unavailable(respond: Callable[[int, str, dict[str, str] | None], ASGIApp]
                 ) -> Callable[[int, str, int], ASGIApp]:
    """A RetryTransient answer in an API's error format."""
    def answer(status: int, message: str, retry_after: int) -> ASGIApp:
        return respond(status, message, {"Retry-After": str(retry_after)})

    return answer


def _compute_error(status: int, message: str, headers: dict[str, str] | None) -> ASGIApp:
    return errors.fault_response(status, message, headers)


def _glance_message(exc: ControlPlaneError) -> str:
    if isinstance(exc, PolicyForbidden):
        return f"You are not authorized to complete {exc.rule} action."
    return exc.message


def _image_data(scope: Scope) -> bool:
    # Image data streams to the store under its own cap ([images] size_cap).
    return scope["method"] == "PUT" and str(scope["path"]).endswith("/file")


def create_image_app(limits: BodyLimits | None = None) -> FastAPI:
    """The Glance v2 subset; shares the compute API's runtime."""
    app = FastAPI(title="Kilonova Image API", openapi_url=OPENAPI_URL, docs_url=None,
                  redoc_url=None)
    image_errors.install(app)
    app.include_router(build_router(images_api.ROUTES))
    describe_bodies(app, bodies_of(images_api.ROUTES))
    app.add_middleware(RetryTransient, respond=_unavailable(image_errors.error_response))
    app.add_middleware(PolicyCheck, table=image_policies.route_table(),
                       render=image_errors.error_response, message=_glance_message)
    app.add_middleware(BodyLimitMiddleware, limits=limits or BodyLimits(),
                       render=rendered_by(image_errors.error_response), exempt=_image_data)
    app.add_middleware(_RequestIdHeaders)
    return app


def create_identity_app(limits: BodyLimits | None = None) -> FastAPI:
    """The Keystone v3 subset; shares the compute API's runtime."""
    app = FastAPI(title="Kilonova Identity API", openapi_url=OPENAPI_URL, docs_url=None,
                  redoc_url=None)
    identity_errors.install(app)
    app.include_router(build_router(identity_api.ROUTES))
    app.add_middleware(RetryTransient, respond=_unavailable(identity_errors.error_response))
    describe_bodies(app, bodies_of(identity_api.ROUTES))
    # Token requests are public: the bound applies before any credential is looked at.
    app.add_middleware(BodyLimitMiddleware, limits=limits or BodyLimits(),
                       render=rendered_by(identity_errors.error_response))
    app.add_middleware(_RequestIdHeaders)
    return app


def create_network_app(limits: BodyLimits | None = None) -> FastAPI:
    """The Neutron v2.0 subset; shares the compute API's runtime."""
    app = FastAPI(title="Kilonova Network API", openapi_url=OPENAPI_URL, docs_url=None,
                  redoc_url=None)
    network_errors.install(app)
    app.include_router(build_router(network_api.ROUTES))
    describe_bodies(app, bodies_of(network_api.ROUTES))
    app.add_middleware(RetryTransient, respond=_unavailable(network_errors.error_response))
    app.add_middleware(PolicyCheck, table=network_policies.route_table(),
                       render=network_errors.error_response, message=network_errors.message_of)
    app.add_middleware(BodyLimitMiddleware, limits=limits or BodyLimits(),
                       render=rendered_by(network_errors.error_response))
    app.add_middleware(_RequestIdHeaders)
    return app
