"""Tokens, microversions, error bodies, headers and mounting under a prefix."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.utils import parsedate_to_datetime
from pathlib import Path

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from common.errors import SchemaBehind
from placement.api.deps import get_session
from placement.app import create_app
from tests.httpserver import serve

from .conftest import placement_settings
from .scenario import ABSENT, Step, run

REQUEST_ID = "req-12345678-1234-1234-1234-123456789abc"

PROTOCOL = [
    Step("GET", "/", 200, token=None, version=None,
         headers={"openstack-api-version": "placement 1.0", "vary": "openstack-api-version"},
         expect={"versions": [{"id": "v1.0", "min_version": "1.0", "max_version": "1.39",
                               "status": "CURRENT"}]}),
    Step("GET", "/resource_providers", 401, token=None),
    # noauth takes any name as a user (upstream's noauth2); only a malformed token fails.
    Step("GET", "/resource_providers", 401, token="garbage:"),
    Step("GET", "/resource_providers", 403, token="alice:demo"),
    Step("GET", "/resource_providers", 406, version="1.40"),
    Step("GET", "/resource_providers", 400, version="1.x"),
    Step("GET", "/resource_providers", 200, version="1.39",
         headers={"openstack-api-version": "placement 1.39", "cache-control": "no-cache"}),
    Step("GET", "/resource_providers", 200, version="1.14",
         headers={"openstack-api-version": "placement 1.14", "cache-control": ABSENT,
                  "last-modified": ABSENT}),
    Step("GET", "/resource_providers", 200, version=None,
         headers={"openstack-api-version": "placement 1.0"}),
    Step("GET", "/nowhere", 404, expect={"errors": [{"status": 404, "title": "Not Found"}]}),
    Step("PATCH", "/resource_providers", 405, headers={"allow": "GET, POST"}),
    Step("GET", "/resource_providers/{rp}", 404, version="1.22",
         expect={"errors": [{"status": 404, "code": ABSENT}]}),
    Step("GET", "/resource_providers/{rp}", 404, version="1.23",
         code="placement.undefined_code"),
    Step("GET", "/resource_providers/not-a-uuid", 404),
]


PAGING = [
    Step("POST", "/resource_providers", 200, {"name": "page-{a}", "uuid": "{a}"}),
    Step("POST", "/resource_providers", 200, {"name": "page-{b}", "uuid": "{b}"}),
    Step("GET", "/resource_providers", 200, params={"marker": "{a}", "limit": "1"},
         expect={"resource_providers": [{"uuid": "{b}"}]}),
    Step("GET", "/resource_providers", 200, params={"marker": "{b}"},
         expect={"resource_providers": []}),
    Step("GET", "/resource_providers", 400, params={"marker": "{nope}"}),
    Step("GET", "/resource_providers", 400, params={"limit": "0"}),
]

CACHE_HEADERS = [
    Step("POST", "/resource_providers", 200, {"name": "cache-{a}", "uuid": "{a}"},
         headers={"cache-control": "no-cache"}),
    Step("PUT", "/resource_providers/{a}", 200, {"name": "cache2-{a}"}, version="1.15",
         headers={"cache-control": "no-cache"}),
    Step("GET", "/resource_providers/{a}/usages", 200, version="1.14",
         headers={"cache-control": ABSENT, "last-modified": ABSENT}),
    Step("DELETE", "/resource_providers/{a}", 204, headers={"cache-control": ABSENT}),
]


@pytest.mark.parametrize("steps", [PROTOCOL, PAGING, CACHE_HEADERS],
                         ids=["protocol", "paging", "cache_headers"])
def test_scenario(api: httpx.Client, steps: list[Step]) -> None:
    run(api, steps)


def test_last_modified_is_an_http_date(api: httpx.Client) -> None:
    r = api.post("/resource_providers", json={"name": f"lm-{uuid.uuid4()}"})
    provider = r.json()["uuid"]
    modified = api.get(f"/resource_providers/{provider}").headers["last-modified"]
    assert parsedate_to_datetime(modified).year >= 2024


def test_body_must_be_json(api: httpx.Client) -> None:
    r = api.post("/resource_providers", content=b"name=x",
                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    r = api.post("/resource_providers", content=b"{nope",
                 headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert "Malformed JSON" in r.json()["errors"][0]["detail"]


def test_request_id_is_reused_or_made(api: httpx.Client) -> None:
    r = api.get("/resource_providers", headers={"x-openstack-request-id": REQUEST_ID})
    assert r.headers["x-openstack-request-id"] == REQUEST_ID
    r = api.get("/resource_providers/nope")
    made = r.headers["x-openstack-request-id"]
    assert made.startswith("req-") and made != REQUEST_ID
    assert r.json()["errors"][0]["request_id"] == made


def test_mounted_under_a_prefix(placement_db: str, tmp_path: Path) -> None:
    child = create_app(placement_settings(tmp_path, placement_db))

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with child.router.lifespan_context(child):
            yield

    parent = Starlette(routes=[Mount("/placement", app=child)], lifespan=lifespan)
    with serve(parent) as base, httpx.Client(
        base_url=base + "/placement",
        headers={"X-Auth-Token": "admin:admin", "OpenStack-API-Version": "placement latest"},
    ) as client:
        assert client.get("/").json()["versions"][0]["links"][0]["href"] == ""
        r = client.post("/resource_providers", json={"name": f"mounted-{tmp_path.name}"})
        assert r.status_code == 200, r.text
        # Absolute, as upstream's; the body's links stay relative to the host.
        assert r.headers["location"].startswith(f"{base}/placement/resource_providers/")
        assert base + r.json()["links"][0]["href"] == r.headers["location"]


def test_refuses_to_start_on_an_old_schema(tmp_path: Path) -> None:
    app = create_app(placement_settings(tmp_path, f"sqlite:///{tmp_path / 'empty.sqlite'}"))

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(SchemaBehind):
        anyio.run(start)


def test_unexpected_errors_are_500_with_our_headers(placement_db: str, tmp_path: Path) -> None:
    app = create_app(placement_settings(tmp_path, placement_db))

    def broken() -> None:
        raise RuntimeError("database on fire")

    app.dependency_overrides[get_session] = broken
    with serve(app) as base:
        r = httpx.get(base + "/resource_providers", headers={"X-Auth-Token": "admin:admin"})
    assert r.status_code == 500
    assert r.headers["x-openstack-request-id"].startswith("req-")
    assert r.json()["errors"][0]["request_id"] == r.headers["x-openstack-request-id"]
    assert "fire" not in r.text
