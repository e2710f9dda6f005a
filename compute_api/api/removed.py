"""APIs upstream removed: they answer 410 Gone, as upstream's do, not 404.

Clients and Tempest tell "this cloud never had it" (404) from "this API is gone" (410):
these are the nova-network, cells v1, cloudpipe, certificates, agent-build and console
proxies that the Compute API retired. Any valid token gets the 410; no rule applies.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from compute_api.api.errors import fault_response
from compute_api.removed_apis import REMOVED

GONE_MESSAGE = "This resource is no longer available. No forwarding address is given."

router = APIRouter(prefix="/v2.1")


async def _gone() -> JSONResponse:
    return fault_response(410, GONE_MESSAGE)


for _method, _path in REMOVED:
    router.add_api_route(_path, _gone, methods=[_method], include_in_schema=False,
                         name=f"removed {_method} {_path}")
