"""Each HTTP API's one declared surface: its routes as data, and the router built from them.

An API module keeps its handlers and exports ``ROUTES: list[Route]``; the app concatenates
the lists and mounts them with ``build_router``. A route's policy rule, the microversions
it exists in, its body's JSON Schema and the query parameters it takes are read here, and
``tests/unit/test_routes.py`` checks them against what each app serves and what its policy
table resolves.

The table declares; it does not validate in front of the handler. Handlers keep their own
checks (a JSON Schema named here, a pydantic model, or code) so a client sees the same
400 messages in the same order: the schema named here accepts at least what the handler
accepts, and is what the OpenAPI document shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from fastapi.params import Depends

from common.policy import AUTHENTICATED, PUBLIC

__all__ = [
    "AUTHENTICATED",
    "BODY_METHODS",
    "BY_ACTION",
    "PUBLIC",
    "ActionBody",
    "BodySchema",
    "Route",
    "Schema",
    "actions_body",
    "bodies_of",
    "body_at",
    "build_router",
    "schema_at",
]

Schema = Mapping[str, Any]
# One schema, or one per microversion: called with the version (the API's own type).
BodySchema = Schema | Callable[[Any], Schema]
# (route) -> the dependencies FastAPI runs before the handler's own (e.g. a version gate)
Gate = Callable[["Route"], Sequence[Depends]]

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# The rule of a ``POST .../action`` route: each action names its own (``ActionBody.rule``);
# the policy table keeps such a route under the public rule and picks by the body's key.
BY_ACTION = PUBLIC


@dataclass(frozen=True)
class ActionBody:
    """One action of a ``POST .../action`` route: its policy rule and its argument schema
    (the value under the action's key)."""

    rule: str
    args: BodySchema


@dataclass(frozen=True)
class Route:
    """One operation of an API.

    ``rule`` is the policy rule name the API's ``RouteTable`` resolves for it (or
    ``PUBLIC`` / ``AUTHENTICATED``); a ``POST .../action`` route names its rule per action
    in ``actions`` instead. ``min_version`` / ``max_version`` bound the microversions the
    route exists in (inclusive; None: unbounded): placement's router gate enforces them,
    the compute handlers answer 404 outside them themselves (after reading the body, as
    upstream) and ``tests/functional/compute/test_route_ranges.py`` holds the two
    together. ``body`` is the request body's JSON Schema. ``query`` is the set of query
    parameters the route takes where the API checks them in one place (the compute API
    from its strict microversion); None: the handler checks its own.
    """

    method: str
    path: str
    handler: Callable[..., Any]
    rule: str
    body: BodySchema | None = None
    min_version: str | None = None
    max_version: str | None = None
    query: frozenset[str] | None = frozenset()
    actions: Mapping[str, ActionBody] | None = None
    # What a request outside the range gets where a router gate checks it (placement's:
    # 404, or 405 for a method a later microversion added to a served path).
    absent_status: int = 404
    status_code: int | None = None
    include_in_schema: bool = True
    # Further keyword arguments of FastAPI's ``add_api_route`` (response_model, name).
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)


def schema_at(body: BodySchema, version: Any = None) -> Schema:
    """``body`` at ``version`` (a per-microversion body is called with it)."""
    return body(version) if callable(body) else body


def build_router(routes: Iterable[Route], gate: Gate | None = None) -> APIRouter:
    """A router serving ``routes`` in order (FastAPI tries them in that order).

    ``gate`` adds an API's own dependencies per route (placement's microversion check);
    raises ValueError for an operation declared twice.
    """
    router = APIRouter()
    seen: set[tuple[str, str]] = set()
    for route in routes:
        if route.key in seen:
            raise ValueError(f"{route.method} {route.path} is declared twice")
        seen.add(route.key)
        router.add_api_route(
            route.path, route.handler, methods=[route.method],
            status_code=route.status_code, include_in_schema=route.include_in_schema,
            dependencies=list(gate(route)) if gate is not None else None,
            **dict(route.options))
    return router


def bodies_of(routes: Iterable[Route], version: Any = None) -> dict[tuple[str, str], Schema]:
    """(METHOD, path) -> the body schema the OpenAPI document shows (at ``version``)."""
    out: dict[tuple[str, str], Schema] = {}
    for route in routes:
        body = body_at(route, version)
        if body is not None:
            out[route.key] = body
    return out


def body_at(route: Route, version: Any = None) -> Schema | None:
    """The route's body schema at ``version``; an action route's is made of its actions'."""
    if route.body is not None:
        return schema_at(route.body, version)
    if route.actions is not None:
        return actions_body(route.actions, version)
    return None


def actions_body(actions: Mapping[str, ActionBody], version: Any = None) -> dict[str, Any]:
    """The body of a ``POST .../action`` route: one key naming the action, its arguments."""
    return {"type": "object", "minProperties": 1, "maxProperties": 1,
            "properties": {name: dict(schema_at(action.args, version))
                           for name, action in actions.items()}}
