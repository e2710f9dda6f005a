"""Each API's declared surface (``ROUTES``) is what its app serves, and says it right.

For every API: each served route is declared, with the handler that serves it; each
declared route's policy rule is the one its policy table resolves; each route whose
handler reads a JSON body names a body schema, and every schema is a valid JSON Schema
at every microversion. The server action table is held to the same.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest
from fastapi import FastAPI
from fastapi.params import Depends

from common.policy import RouteTable
from common.routes import (
    AUTHENTICATED,
    BODY_METHODS,
    BY_ACTION,
    PUBLIC,
    Route,
    body_at,
    schema_at,
)


@dataclass(frozen=True)
class Api:
    name: str
    app: Callable[[], FastAPI]
    routes: Callable[[], list[Route]]
    # The policy table (None: the API has none; its handlers check the caller).
    table: Callable[[], RouteTable] | None
    # The dependencies that read the request body as JSON (a handler taking one of them
    # reads a body, so its route must name the body's schema).
    body_readers: Callable[[], Sequence[Callable[..., Any]]]
    # Every microversion the API serves (a per-version schema is checked at each).
    versions: Callable[[], Sequence[Any]]
    # Served routes that are not the API's own (FastAPI's document).
    undeclared: frozenset[tuple[str, str]] = frozenset(
        {("GET", "/openapi.json"), ("HEAD", "/openapi.json")})


def _compute_app() -> FastAPI:
    from compute_api.app import create_compute_app

    return create_compute_app()


def _compute_routes() -> list[Route]:
    from compute_api.app import compute_routes

    return compute_routes()


def _compute_table() -> RouteTable:
    from compute_api.policies import route_table

    return route_table()


def _compute_readers() -> Sequence[Callable[..., Any]]:
    from compute_api.api.deps import json_body

    return [json_body]


def _compute_versions() -> Sequence[Any]:
    from compute_api.api.microversion import MAX_VERSION, Version

    return [Version(2, minor) for minor in range(1, MAX_VERSION.minor + 1)]


def _placement_app() -> FastAPI:
    from common.settings import load_settings
    from placement.app import create_app

    return create_app(load_settings())


def _placement_routes() -> list[Route]:
    from placement.app import placement_routes

    return placement_routes()


def _placement_table() -> RouteTable:
    from placement.policies import route_table

    return route_table()


def _placement_readers() -> Sequence[Callable[..., Any]]:
    from placement.api import deps

    return [deps._body, deps._optional_body]


def _placement_versions() -> Sequence[Any]:
    from placement.microversion import MAX_VERSION, Version

    return [Version(1, minor) for minor in range(MAX_VERSION.minor + 1)]


def _image_app() -> FastAPI:
    from compute_api.app import create_image_app

    return create_image_app()


def _image_routes() -> list[Route]:
    from compute_api.images.api import ROUTES

    return ROUTES


def _image_table() -> RouteTable:
    from compute_api.images.policies import route_table

    return route_table()


def _identity_app() -> FastAPI:
    from compute_api.app import create_identity_app

    return create_identity_app()


def _identity_routes() -> list[Route]:
    from compute_api.identity.api import ROUTES

    return ROUTES


def _network_app() -> FastAPI:
    from compute_api.app import create_network_app

    return create_network_app()


def _network_routes() -> list[Route]:
    from compute_api.network.api.routes import ROUTES

    return ROUTES


def _network_table() -> RouteTable:
    from compute_api.network.policies import route_table

    return route_table()


def _no_versions() -> Sequence[Any]:
    return [None]


APIS = [
    Api("compute", _compute_app, _compute_routes, _compute_table, _compute_readers,
        _compute_versions),
    Api("placement", _placement_app, _placement_routes, _placement_table, _placement_readers,
        _placement_versions),
    Api("image", _image_app, _image_routes, _image_table, _compute_readers, _no_versions),
    Api("identity", _identity_app, _identity_routes, None, _compute_readers, _no_versions),
    Api("network", _network_app, _network_routes, _network_table, _compute_readers,
        _no_versions),
]


def _served_versions(route: Route, versions: Sequence[Any]) -> Sequence[Any]:
    """The microversions ``route`` exists in."""
    names = [str(v) for v in versions]
    low = names.index(route.min_version) if route.min_version else 0
    high = names.index(route.max_version) if route.max_version else len(names) - 1
    return versions[low:high + 1]


def _walk(routes: Iterable[Any]) -> Iterator[Any]:
    for route in routes:
        if hasattr(route, "effective_candidates"):  # FastAPI's included routers
            yield from _walk(route.effective_candidates())
        elif hasattr(route, "original_router"):
            yield from _walk(route.original_router.routes)
        else:
            yield route


def _served(app: FastAPI) -> dict[tuple[str, str], Any]:
    return {(method, route.path): route for route in _walk(app.routes)
            for method in (getattr(route, "methods", None) or ())}


def _concrete(path: str) -> str:
    return path.replace("{", "x").replace("}", "x")


def _depends_on(handler: Callable[..., Any], calls: Sequence[Callable[..., Any]]) -> bool:
    """Whether one of ``handler``'s parameters is a dependency on one of ``calls``."""
    hints = typing.get_type_hints(handler, include_extras=True)
    for hint in hints.values():
        for meta in getattr(hint, "__metadata__", ()):
            if isinstance(meta, Depends) and meta.dependency in calls:
                return True
    return False


_CHECKED: set[str] = set()


def _check(schema: Any, where: str) -> None:
    text = json.dumps(schema, sort_keys=True, default=str)
    if text in _CHECKED:  # one check per distinct schema: the metaschema check is slow
        return
    _CHECKED.add(text)
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise AssertionError(f"{where}: not a valid JSON Schema: {exc.message}") from None


@pytest.mark.parametrize("api", APIS, ids=[a.name for a in APIS])
def test_every_served_route_is_declared_with_its_handler(api: Api) -> None:
    served = _served(api.app())
    declared = {route.key: route for route in api.routes()}
    assert len(declared) == len(api.routes()), "a route is declared twice"
    missing = sorted(set(served) - set(declared) - api.undeclared)
    assert not missing, f"served but not in the route table: {missing}"
    assert not set(declared) - set(served)
    wrong = sorted(key for key, route in declared.items()
                   if served[key].endpoint is not route.handler)
    assert not wrong, f"served by another handler than the table says: {wrong}"


POLICED = [a for a in APIS if a.table is not None]


@pytest.mark.parametrize("api", POLICED, ids=[a.name for a in POLICED])
def test_every_route_names_the_rule_its_policy_table_resolves(api: Api) -> None:
    assert api.table is not None
    table = api.table()
    wrong = []
    for route in api.routes():
        match = table.match(route.method, _concrete(route.path))
        if route.actions is not None:
            assert route.rule == BY_ACTION, route.key
            assert match.actions is not None, f"{route.key}: no action table in the policy"
            wrong += [(route.key, name) for name, action in route.actions.items()
                      if match.actions.get(name) != action.rule]
        elif match.rule is None or match.rule != route.rule or match.actions is not None:
            wrong.append((route.key, route.rule))
    assert not wrong, f"rules the policy table does not resolve so: {wrong}"


@pytest.mark.parametrize("api", APIS, ids=[a.name for a in APIS])
def test_every_route_reading_a_body_names_a_valid_json_schema(api: Api) -> None:
    readers = api.body_readers()
    versions = api.versions()
    for route in api.routes():
        reads = _depends_on(route.handler, readers)
        if reads:
            assert route.method in BODY_METHODS, route.key
            assert route.body is not None or route.actions is not None, \
                f"{route.method} {route.path} reads a body but names no schema"
        for version in _served_versions(route, versions):
            schema = body_at(route, version)
            if schema is not None:
                _check(schema, f"{route.method} {route.path} at {version}")


@pytest.mark.parametrize("api", APIS, ids=[a.name for a in APIS])
def test_microversion_ranges_are_ordered_and_served(api: Api) -> None:
    versions = [str(v) for v in api.versions()]
    for route in api.routes():
        for bound in (route.min_version, route.max_version):
            assert bound is None or bound in versions, (route.key, bound)
        if route.min_version and route.max_version:
            assert versions.index(route.min_version) <= versions.index(route.max_version)


def test_every_server_action_names_its_rule_and_a_valid_schema() -> None:
    from compute_api.api.microversion import MAX_VERSION, MIN_VERSION, Version
    from compute_api.api.server_actions import ACTION_BODIES, HANDLERS
    from compute_api.policies import ACTIONS

    assert set(ACTION_BODIES) == set(HANDLERS)
    for name, action in ACTION_BODIES.items():
        assert action.rule == ACTIONS[name].name
        for minor in range(MIN_VERSION.minor, MAX_VERSION.minor + 1):
            _check(schema_at(action.args, Version(2, minor)), f"action {name} at 2.{minor}")



def test_identity_routes_are_public_exactly_when_their_handler_takes_no_caller() -> None:
    """The identity API has no policy table: a route is public or needs a token (its
    admin-only handlers check the caller themselves, ``AdminContextDep``)."""
    from compute_api.api.deps import get_admin_context, get_context
    from compute_api.identity.api import ROUTES

    for route in ROUTES:
        assert route.rule in (PUBLIC, AUTHENTICATED), route.key
        takes_caller = _depends_on(route.handler, [get_context, get_admin_context])
        assert takes_caller == (route.rule == AUTHENTICATED), route.key
