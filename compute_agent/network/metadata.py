"""The metadata service a host's guests reach at http://169.254.169.254/.

One small threaded HTTP server per network, which the data plane puts in that network's
namespace. A request is known by the network its server serves and its source address,
taken from the socket (never from a header a guest could forge); the conductor answers
whose it is, only for a guest on this host (``metadata_for``), and ``common/metadata.py``
renders the path asked for. An address nobody on this host holds gets a 404, as does any
path the tree lacks: a guest sees its own documents or nothing.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common import metadata
from common.context import admin_context
from common.errors import Forbidden, NotFound, ServiceUnavailable
from common.messages import InstancePayload
from conductor.rpc.client import ConductorClient

LOG = logging.getLogger(__name__)

LISTEN_ADDRESS = "169.254.169.254"
LISTEN_PORT = 80
# cloud-init asks a few dozen paths at boot: one conductor call answers them all.
CACHE_SECONDS = 5.0

# (network id, source address) -> the instance holding it, with its metadata facts.
# Raises NotFound or Forbidden when no guest of this host holds the address.
Lookup = Callable[[uuid.UUID, str], InstancePayload]


def conductor_lookup(conductor: ConductorClient, host: str) -> Lookup:
    """Ask the conductor, as ``host`` (it answers only about this host's guests)."""

    def lookup(network_id: uuid.UUID, address: str) -> InstancePayload:
        return conductor.metadata_for(admin_context(), host, network_id, address)

    return lookup


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = metadata.TEXT


NOT_FOUND = Answer(404, b"404 Not Found")


def _guest_address(peer: str) -> str:
    """The guest's address as the socket saw it (an IPv4-mapped IPv6 one unwrapped)."""
    try:
        found = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return peer
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return str(found.ipv4_mapped)
    return str(found)


class MetadataService:
    """The answers of one network's metadata service, by source address and path."""

    def __init__(self, network_id: uuid.UUID, lookup: Lookup,
                 cache_seconds: float = CACHE_SECONDS) -> None:
        self.network_id = network_id
        self._lookup = lookup
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, InstancePayload]] = {}
        self._guard = threading.Lock()

    def _instance(self, address: str) -> InstancePayload:
        now = time.monotonic()
        with self._guard:
            kept = self._cache.get(address)
            if kept is not None and kept[0] > now:
                return kept[1]
        found = self._lookup(self.network_id, address)
        if self._cache_seconds > 0:
            with self._guard:
                self._cache = {a: v for a, v in self._cache.items() if v[0] > now}
                self._cache[address] = (now + self._cache_seconds, found)
        return found

    def answer(self, source: str, path: str) -> Answer:
        """The answer to a GET of ``path`` from the guest address ``source``."""
        address = _guest_address(source)
        try:
            instance = self._instance(address)
        except Forbidden:
            LOG.warning("network %s: %s is not a guest of this host", self.network_id,
                        address)
            return NOT_FOUND
        except NotFound:
            return NOT_FOUND
        except ServiceUnavailable as exc:
            LOG.warning("network %s: metadata of %s unavailable: %s", self.network_id,
                        address, exc)
            return Answer(503, b"503 Service Unavailable")
        try:
            doc = metadata.lookup(instance, path.split("?", 1)[0], address)
        except NotFound:
            return NOT_FOUND
        return Answer(200, doc.body, doc.content_type)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "kilonova-metadata"
    protocol_version = "HTTP/1.1"

    def _send(self, answer: Answer, body: bool) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if body:
            self.wfile.write(answer.body)

    def do_GET(self) -> None:
        self._send(self.server.service.answer(self.client_address[0], self.path), True)

    def do_HEAD(self) -> None:
        self._send(self.server.service.answer(self.client_address[0], self.path), False)

    def log_message(self, format: str, *args: object) -> None:
        LOG.debug("metadata %s: " + format, self.client_address[0], *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: MetadataService,
                 sock: socket.socket | None) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler, bind_and_activate=sock is None)
        self.service = service
        if sock is not None:
            # A socket made elsewhere (inside the network's namespace) replaces ours.
            self.socket.close()
            self.socket = sock
            self.server_address = sock.getsockname()
            self.server_activate()


class MetadataServer:
    """The metadata service of one network, listening on ``listen``:``port`` (the
    well-known address by default; tests bind 127.0.0.1 and port 0) or on ``sock``, a
    bound socket the data plane made in the network's namespace."""

    def __init__(self, network_id: uuid.UUID, lookup: Lookup,
                 listen: str = LISTEN_ADDRESS, port: int = LISTEN_PORT,
                 sock: socket.socket | None = None,
                 cache_seconds: float = CACHE_SECONDS) -> None:
        self.service = MetadataService(network_id, lookup, cache_seconds)
        self._server = _Server((listen, port), self.service, sock)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens (the port chosen when 0 was asked)."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> MetadataServer:
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name=f"metadata-{self.service.network_id}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
