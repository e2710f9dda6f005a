"""Each compute route's declared microversion range (``Route.min_version`` /
``max_version``) is the one it serves: just outside it, the route answers 404 as
upstream answers a route its microversion does not have."""

from __future__ import annotations

import uuid

import pytest

from cli.embedded import EmbeddedCloud
from common.routes import BODY_METHODS, Route
from compute_api.api.microversion import Version
from compute_api.app import compute_routes
from tests.cloud import CloudClient

# The API contract: the same on every backend, checked on production's.
pytestmark = pytest.mark.production_backend


def _outside(route: Route) -> list[str]:
    """The microversions just below and just above the route's range."""
    out = []
    if route.min_version is not None:
        low = Version.parse(route.min_version)
        out.append(f"{low.major}.{low.minor - 1}")
    if route.max_version is not None:
        high = Version.parse(route.max_version)
        out.append(f"{high.major}.{high.minor + 1}")
    return out


CASES = [(route, version) for route in compute_routes() for version in _outside(route)]


@pytest.mark.parametrize(("route", "version"), CASES,
                         ids=[f"{r.method} {r.path} @{v}" for r, v in CASES])
def test_route_is_not_found_outside_its_microversions(shared_cloud: EmbeddedCloud,
                                                      route: Route, version: str) -> None:
    client = CloudClient(shared_cloud.base_url, version=version)
    try:
        path = route.path
        while "{" in path:
            start, end = path.index("{"), path.index("}")
            path = path[:start] + str(uuid.uuid4()) + path[end + 1:]
        body = {} if route.method in BODY_METHODS else None
        resp = client.http.request(route.method, f"/compute{path}", json=body)
    finally:
        client.close()
    assert resp.status_code == 404, resp.text
    assert resp.json() == {"itemNotFound": {"code": 404,
                                            "message": "The resource could not be found."}}
