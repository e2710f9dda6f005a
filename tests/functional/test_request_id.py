"""One request id follows a request from HTTP through every RPC hop into the logs."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest

from common.log import _RequestIdFilter
from tests.cloud import CloudClient


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.addFilter(_RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured() -> Iterator[_Capture]:
    handler = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_request_id_reaches_conductor_scheduler_and_agent_logs(
    client: CloudClient, captured: _Capture
) -> None:
    flavor = client.create_flavor()
    image = client.create_image()
    rid = f"req-{uuid.uuid4()}"
    resp = client.compute("POST", "/servers", headers={"X-OpenStack-Request-ID": rid}, json={
        "server": {"name": "traced", "flavorRef": flavor, "imageRef": image,
                   "networks": "none"}})
    assert resp.status_code == 202
    assert resp.headers["x-openstack-request-id"] == rid
    assert resp.headers["x-compute-request-id"] == rid
    client.wait_status(resp.json()["server"]["id"], {"ACTIVE"})

    mine = {r.name: r.getMessage() for r in captured.records
            if getattr(r, "request_id", None) == rid}
    assert "scheduler.manager" in mine  # API -> conductor -> scheduler
    assert "conductor.flows.build" in mine  # scheduler's answer back in the conductor
    assert "is active on" in mine["conductor.hosts"]  # conductor -> agent -> conductor


def test_malformed_request_ids_are_replaced(client: CloudClient) -> None:
    resp = client.compute("GET", "/flavors", headers={"X-OpenStack-Request-ID": "evil; drop"})
    assert resp.status_code == 200
    assert resp.headers["x-openstack-request-id"].startswith("req-")
    assert "evil" not in resp.headers["x-openstack-request-id"]
