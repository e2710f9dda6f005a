"""APIs upstream removed: they answer 410 Gone, as upstream's do, not 404.

Clients and Tempest tell "this cloud never had it" (404) from "this API is gone" (410):
these are the nova-network, cells v1, cloudpipe, certificates, agent-build and console
proxies that the Compute API retired. Any valid token gets the 410; no rule applies.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from common.routes import AUTHENTICATED, Route
from compute_api.api.errors import fault_response
from compute_api.removed_apis import REMOVED

GONE_MESSAGE = "This resource is no longer available. No forwarding address is given."


async def _gone() -> JSONResponse:
    return fault_response(410, GONE_MESSAGE)


ROUTES: list[Route] = [
    Route(method, f"/v2.1{path}", _gone, AUTHENTICATED, include_in_schema=False,
          options={"name": f"removed {method} {path}"})
    for method, path in REMOVED
]
