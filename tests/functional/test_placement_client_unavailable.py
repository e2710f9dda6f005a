"""A placement whose database is away a moment (503 + Retry-After) is asked again for a
read or a delete, within a bound; a write is not repeated."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from common.errors import ServiceUnavailable
from placement import client as placement_client
from placement.client import PlacementClient


class _Flaky(BaseHTTPRequestHandler):
    unavailable = 0  # answers of 503 still to give
    seen: list[str] = []

    def _answer(self) -> None:
        type(self).seen.append(self.command)
        if type(self).unavailable > 0:
            type(self).unavailable -= 1
            body = b'{"errors": [{"status": 503, "code": "placement.undefined_code"}]}'
            self.send_response(503)
            self.send_header("Retry-After", "0")
        else:
            body = b'{"allocations": {}}' if self.command == "GET" else b""
            self.send_response(200 if self.command == "GET" else 204)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_DELETE = do_PUT = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def placement() -> Iterator[PlacementClient]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Flaky.seen = []
    client = PlacementClient(f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield client
    finally:
        client.close()
        server.shutdown()


def test_a_read_and_a_delete_wait_out_a_short_outage(placement: PlacementClient) -> None:
    consumer = uuid.uuid4()
    _Flaky.unavailable = 2
    assert placement.get_allocations(consumer) == {"allocations": {}}
    assert _Flaky.seen == ["GET"] * 3
    _Flaky.unavailable, _Flaky.seen = 2, []
    placement.delete_allocations(consumer)
    assert _Flaky.seen == ["DELETE"] * 3


def test_an_outage_longer_than_the_patience_fails_within_it(
        placement: PlacementClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(placement_client, "UNAVAILABLE_PATIENCE", 0.5)
    _Flaky.unavailable = 10**6
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        placement.get_allocations(uuid.uuid4())
    assert time.monotonic() - started < 2.0
    _Flaky.unavailable = 0


def test_a_write_is_not_repeated(placement: PlacementClient) -> None:
    _Flaky.unavailable = 1
    with pytest.raises(ServiceUnavailable):
        placement.claim(uuid.uuid4(), {str(uuid.uuid4()): {"VCPU": 1}}, "p", "u")
    assert _Flaky.seen == ["PUT"]
