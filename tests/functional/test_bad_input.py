"""Bad input gets the upstream error body and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient

GOOD_IMAGE = "{image}"
GOOD_FLAVOR = "small"


def _server(**fields: Any) -> dict[str, Any]:
    body = {"name": "x", "flavorRef": GOOD_FLAVOR, "imageRef": GOOD_IMAGE, "networks": "none"}
    body.update(fields)
    return {"server": {k: v for k, v in body.items() if v is not ...}}


# (description, method, path, body or raw bytes, expected status, error key, text in message)
CASES: list[tuple[str, str, str, Any, int, str, str]] = [
    ("unknown flavor", "POST", "/servers", _server(flavorRef="nope"), 400, "badRequest",
     "Invalid flavorRef"),
    ("unknown image", "POST", "/servers",
     _server(imageRef="6b0cbd68-5bd5-4cfa-9c8c-6c5a5c1b8f8e"), 400, "badRequest",
     "Can not find requested image"),
    ("image not a uuid", "POST", "/servers", _server(imageRef="cirros"), 400, "badRequest",
     "imageRef"),
    ("malformed json", "POST", "/servers", b'{"server": {', 400, "badRequest", "Malformed"),
    ("empty body", "POST", "/servers", b"", 400, "badRequest", ""),
    ("body not an object", "POST", "/servers", [1, 2], 400, "badRequest", "server"),
    ("missing server key", "POST", "/servers", {"srv": {}}, 400, "badRequest", "server"),
    ("unknown field", "POST", "/servers", _server(colour="blue"), 400, "badRequest",
     "'colour' was unexpected"),
    ("unknown top-level field", "POST", "/servers", {**_server(), "extra": 1}, 400,
     "badRequest", "'extra' was unexpected"),
    ("missing name", "POST", "/servers", _server(name=...), 400, "badRequest", "name"),
    ("name wrong type", "POST", "/servers", _server(name=12), 400, "badRequest", "name"),
    ("empty name", "POST", "/servers", _server(name=""), 400, "badRequest", "name"),
    ("name with edge spaces", "POST", "/servers", _server(name=" x "), 400, "badRequest",
     "whitespace"),
    ("missing flavorRef", "POST", "/servers", _server(flavorRef=...), 400, "badRequest",
     "flavorRef"),
    ("min_count zero", "POST", "/servers", _server(min_count=0), 400, "badRequest",
     "min_count"),
    ("min over max", "POST", "/servers", _server(min_count=3, max_count=2), 400,
     "badRequest", "min_count"),
    ("metadata not strings", "POST", "/servers", _server(metadata={"a": 1}), 400,
     "badRequest", "metadata"),
    ("user_data not base64", "POST", "/servers", _server(user_data="%%%"), 400,
     "badRequest", "user_data"),
    ("huge user_data", "POST", "/servers", _server(user_data="QUFB" * 20000), 400,
     "badRequest", "user_data"),
    ("networks missing at 2.37+", "POST", "/servers", _server(networks=...), 400,
     "badRequest", "networks"),
    ("networks bad string", "POST", "/servers", _server(networks="some"), 400, "badRequest",
     "networks"),
    ("server not found", "GET", "/servers/6b0cbd68-5bd5-4cfa-9c8c-6c5a5c1b8f8e", None, 404,
     "itemNotFound", "could not be found"),
    ("server id not a uuid", "GET", "/servers/abc", None, 404, "itemNotFound", ""),
    ("delete unknown server", "DELETE", "/servers/6b0cbd68-5bd5-4cfa-9c8c-6c5a5c1b8f8e",
     None, 404, "itemNotFound", ""),
    ("bad limit", "GET", "/servers?limit=abc", None, 400, "badRequest", "limit"),
    ("negative limit", "GET", "/servers?limit=-1", None, 400, "badRequest", "limit"),
    ("bad marker", "GET", "/servers?marker=nope", None, 400, "badRequest", "marker"),
    ("bad sort key", "GET", "/servers/detail?sort_key=password", None, 400, "badRequest",
     "sort_key"),
    ("flavor not found", "GET", "/flavors/nope", None, 404, "itemNotFound", "nope"),
    ("flavor missing ram", "POST", "/flavors", {"flavor": {"name": "f", "vcpus": 1,
                                                           "disk": 1}}, 400, "badRequest",
     "ram"),
    ("flavor ram as text", "POST", "/flavors", {"flavor": {"name": "f", "ram": "lots",
                                                           "vcpus": 1, "disk": 1}}, 400,
     "badRequest", "ram"),
    ("flavor unknown field", "POST", "/flavors", {"flavor": {"name": "f", "ram": 1,
                                                             "vcpus": 1, "disk": 1,
                                                             "gpu": 1}}, 400, "badRequest",
     "'gpu' was unexpected"),
    ("flavor duplicate", "POST", "/flavors", {"flavor": {"name": "small", "ram": 1,
                                                         "vcpus": 1, "disk": 1}}, 409,
     "conflictingRequest", "already exists"),
    ("unknown route", "GET", "/nowhere", None, 404, "itemNotFound", ""),
    ("wrong method", "PATCH", "/servers", None, 405, "badMethod", ""),
]


@pytest.fixture(scope="module")
def image(shared_client: CloudClient) -> str:
    shared_client.create_flavor(GOOD_FLAVOR)
    return shared_client.create_image()


def _count_instances(cloud: EmbeddedCloud) -> int:
    import sqlalchemy as sa

    from common.compute_db.models import Instance
    from common.db import create_engine

    engine = create_engine(cloud.settings.compute_db_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(Instance)) or 0)
    finally:
        engine.dispose()


@pytest.mark.parametrize(("what", "method", "path", "body", "status", "key", "text"), CASES,
                         ids=[c[0] for c in CASES])
def test_bad_input_is_refused_in_upstream_format_and_writes_nothing(
    shared_cloud: EmbeddedCloud, shared_client: CloudClient, image: str, what: str,
    method: str, path: str, body: Any, status: int, key: str, text: str,
) -> None:
    before = _count_instances(shared_cloud)
    if isinstance(body, bytes):
        resp = shared_client.compute(method, path, content=body,
                                     headers={"Content-Type": "application/json"})
    elif body is None:
        resp = shared_client.compute(method, path)
    else:
        import json

        raw = json.dumps(body).replace(GOOD_IMAGE, image)
        resp = shared_client.compute(method, path, content=raw,
                                     headers={"Content-Type": "application/json"})

    assert resp.status_code == status, resp.text
    error = resp.json()[key]
    assert error["code"] == status
    assert text in error["message"]
    assert _count_instances(shared_cloud) == before
