"""Version documents at the API root and at /v2.1/."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import Request

from common.routes import PUBLIC, Route
from compute_api.api.microversion import MAX_VERSION, MIN_VERSION

UPDATED = "2013-07-23T11:33:21Z"


def _v21(base: str) -> dict[str, Any]:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": str(MAX_VERSION),
        "min_version": str(MIN_VERSION),
        "updated": UPDATED,
        "links": [{"rel": "self", "href": f"{base}/v2.1/"},
                  {"rel": "describedby", "type": "text/html",
                   "href": "https://docs.openstack.org/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.compute+json;version=2.1"}],
    }


def base_url(request: Request) -> str:
    """The URL the app answering this request is mounted at (e.g. ``.../compute``)."""
    root = str(request.base_url).rstrip("/")
    # Starlette's base_url stops at the outermost app's root; add the mount path below it.
    app_root = request.scope.get("app_root_path")
    mount = str(request.scope.get("root_path", ""))
    if app_root is not None and mount.startswith(app_root):
        return root + mount[len(app_root):].rstrip("/")
    return root


def _v20(base: str) -> dict[str, Any]:
    """The v2.0 API: v2.1 without microversions, still listed by upstream."""
    return {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
            "updated": "2011-01-21T11:33:21Z",
            "links": [{"rel": "self", "href": f"{base}/v2/"},
                      {"rel": "describedby", "type": "text/html",
                       "href": "https://docs.openstack.org/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.compute+json;version=2"}]}


def root(request: Request) -> JSONResponse:
    base = base_url(request)
    keys = ("id", "status", "version", "min_version", "updated")
    # Upstream lists v2.0 first (clients and Tempest expect that order).
    listed = [{**{k: doc[k] for k in keys}, "links": [doc["links"][0]]}
              for doc in (_v20(base), _v21(base))]
    return JSONResponse({"versions": listed})


def v20(request: Request) -> dict[str, Any]:
    return {"version": _v20(base_url(request))}


def v21(request: Request) -> dict[str, Any]:
    return {"version": _v21(base_url(request))}


ROUTES: list[Route] = [
    Route("GET", "/", root, PUBLIC, include_in_schema=False),
    Route("GET", "/v2/", v20, PUBLIC, include_in_schema=False),
    Route("GET", "/v2", v20, PUBLIC, include_in_schema=False),
    Route("GET", "/v2.1/", v21, PUBLIC, include_in_schema=False),
    Route("GET", "/v2.1", v21, PUBLIC, include_in_schema=False),
]
