"""From 2.102 every route refuses query parameters it does not know, as upstream's
schemas all do from then (several did from 2.75 already). Each route declares what it
takes (``Route.query``); ``gate`` turns that into the route's first dependency."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import Depends
from fastapi.params import Depends as DependsParam
from starlette.requests import Request

from common.routes import Route
from compute_api.api.microversion import Version
from compute_api.api.query import strict_params

STRICT_FROM = "2.102"


def refuse_unknown(allowed: frozenset[str] | None) -> Callable[[Request], None]:
    """A dependency raising BadRequest from 2.102 for a query parameter not in
    ``allowed`` (None: the handler checks its own, they depend on the caller or version)."""
    def check(request: Request) -> None:
        version: Version = request.state.api_version
        if allowed is None or not version.at_least(STRICT_FROM) or not request.query_params:
            return
        strict_params(request, set(allowed), version, since=STRICT_FROM)

    return check


def gate(route: Route) -> Sequence[DependsParam]:
    """The dependencies the compute API runs before each route's handler."""
    return [Depends(refuse_unknown(route.query))]
