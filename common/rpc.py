"""RPC plumbing over oslo.messaging: transports, clients, servers, context and errors.

Payloads are JSON dicts produced by pydantic models (``model_dump(mode="json")``);
the request context travels in the message's context; errors from ``common.errors``
come back to the caller as the same classes.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import threading
import uuid
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

with warnings.catch_warnings():
    # oslo.messaging imports oslo.service, which imports eventlet (never monkeypatched
    # here): eventlet warns that it is deprecated, and dnspython, which it imports,
    # that cryptography's DSA is. Neither concerns us; both printed on every start.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    warnings.filterwarnings("ignore", message=r"DSA is deprecated")
    import oslo_messaging as om
    from oslo_config import cfg
    from oslo_messaging import opts as om_opts
    from oslo_messaging._metrics import client as _metrics_client
    from oslo_messaging._tracing import client as _tracing_client

from common import errors, memory_transport
from common.context import RequestContext, request_id_var
from common.settings import MessagingSettings

LOG = logging.getLogger(__name__)

EXCHANGE = "kilonova"
ALLOWED_REMOTE_MODULES = ["common.errors"]
# A message routed to a queue that serves many hosts names its host in this argument;
# ``endpoint`` takes it off and binds it to ``routed_host_var`` for the call.
ROUTED_HOST = "routed_host"
routed_host_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "routed_host", default=None)

F = TypeVar("F", bound=Callable[..., Any])


def _make_conf() -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    conf([], project="kilonova", default_config_files=[], default_config_dirs=[])
    # oslo.messaging 18.x reads these groups on every call() but registers them only
    # on the global cfg.CONF: a private ConfigOpts needs them registered by hand.
    conf.register_opts(_tracing_client.oslo_messaging_tracing, group="oslo_messaging_tracing")
    conf.register_opts(_metrics_client.oslo_messaging_metrics, group="oslo_messaging_metrics")
    return conf


def messaging_from(cfg: MessagingSettings) -> Messaging:
    """The process's bus connection as ``[messaging]`` configures it."""
    return Messaging(cfg.transport_url, cfg.rpc_timeout, cfg.heartbeat_rate,
                     cfg.topic_prefix, cfg.rpc_conn_pool_size, cfg.executor_thread_pool_size)


class ContextSerializer(om.NoOpSerializer):  # type: ignore[misc]
    """Puts our RequestContext on the wire and takes it off again."""

    def serialize_context(self, ctxt: Any) -> dict[str, Any]:
        if isinstance(ctxt, RequestContext):
            return ctxt.to_dict()
        return dict(ctxt or {})

    def deserialize_context(self, ctxt: dict[str, Any]) -> RequestContext:
        return RequestContext.from_dict(ctxt)


class Messaging:
    """One process's connection to the message bus; build once, share, close at exit."""

    def __init__(self, transport_url: str, rpc_timeout: int = 60,
                 heartbeat_rate: int = 3, topic_prefix: str = "", conn_pool_size: int = 30,
                 executor_threads: int = 64) -> None:
        self.url = transport_url
        self.rpc_timeout = rpc_timeout
        self.conf = _make_conf()
        # Registered ahead of the transport and servers, which read them as they start.
        for group, opts in om_opts.list_opts():
            self.conf.register_opts(opts, group=group)
        self.conf.set_override("rpc_conn_pool_size", conn_pool_size,
                               group="oslo_messaging_rabbit")
        self.conf.set_override("executor_thread_pool_size", executor_threads)
        self._heartbeat_rate = heartbeat_rate
        self._lock = threading.Lock()
        self._transport: Any = None
        self._serializer = ContextSerializer()
        # The in-memory bus is one per process: scope this bus's topics so that two
        # embedded clouds in one process (tests) never consume each other's messages.
        self._scope = topic_prefix or (
            f"m{uuid.uuid4().hex[:8]}." if "memory" in transport_url else "")

    @property
    def transport(self) -> Any:
        with self._lock:
            if self._transport is None:
                if "memory" in self.url:
                    memory_transport.install()
                self._transport = om.get_rpc_transport(
                    self.conf, url=self.url, allowed_remote_exmods=ALLOWED_REMOTE_MODULES
                )
                # Registered by the transport; read when its first connection opens.
                self.conf.set_override("heartbeat_rate", self._heartbeat_rate,
                                       group="oslo_messaging_rabbit")
                if "memory" in self.url:
                    # kombu's in-memory transport has no heartbeats; silence the warning.
                    self.conf.set_override(
                        "heartbeat_timeout_threshold", 0, group="oslo_messaging_rabbit"
                    )
            return self._transport

    def client(self, topic: str, version: str) -> Any:
        target = om.Target(exchange=EXCHANGE, topic=self._scope + topic, version=version)
        return om.get_rpc_client(self.transport, target, serializer=self._serializer)

    def server(self, topic: str, server: str, endpoints: list[Any]) -> Any:
        target = om.Target(exchange=EXCHANGE, topic=self._scope + topic, server=server)
        return om.get_rpc_server(
            self.transport, target, endpoints, serializer=self._serializer
        )

    def close(self) -> None:
        with self._lock:
            if self._transport is not None:
                self._transport.cleanup()
                self._transport = None


class RpcClient:
    """Base of every service's RPC client: pinned version, errors translated.

    ``router`` maps a server (a host) to the queue that serves it, when one process
    serves many hosts; the message then names its host (``ROUTED_HOST``).
    """

    topic: str = ""
    version: str = "1.0"

    def __init__(self, messaging: Messaging,
                 router: Callable[[str], str] | None = None) -> None:
        self._client = messaging.client(self.topic, self.version)
        self._timeout: float = messaging.rpc_timeout
        self._router = router

    def _route(self, server: str | None, kwargs: dict[str, Any]) -> str | None:
        if server is None or self._router is None:
            return server
        queue = self._router(server)
        if queue != server:
            kwargs[ROUTED_HOST] = server
        return queue

    def _call(
        self,
        ctx: RequestContext,
        method: str,
        *,
        server: str | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        server = self._route(server, kwargs)
        cctx = self._client.prepare(server=server, timeout=timeout or self._timeout)
        try:
            return cctx.call(ctx, method, **kwargs)
        except om.MessagingTimeout as exc:
            raise errors.ServiceUnavailable(
                f"{self.topic}.{method} got no answer within {timeout or self._timeout}s"
            ) from exc
        except om.MessageDeliveryFailure as exc:
            raise errors.ServiceUnavailable(f"{self.topic}.{method}: {exc}") from exc

    def _call_repeatable(self, ctx: RequestContext, method: str, *, attempts: int = 3,
                         **kwargs: Any) -> Any:
        """A call safe to repeat (a read, or a report that sets what it says), asked up to
        ``attempts`` times within one RPC timeout.

        A message taken by a process that then died is never answered: asking again,
        after a share of the timeout, reaches a live one instead of waiting it all out.
        """
        share = self._timeout / attempts
        for attempt in range(1, attempts + 1):
            try:
                return self._call(ctx, method, timeout=share, **kwargs)
            except errors.ServiceUnavailable:
                if attempt == attempts:
                    raise
                LOG.warning("%s.%s got no answer within %.0fs; asking again (%d of %d)",
                            self.topic, method, share, attempt + 1, attempts)
        raise AssertionError("unreachable")

    def _cast(self, ctx: RequestContext, method: str, *, server: str | None = None,
              **kwargs: Any) -> None:
        server = self._route(server, kwargs)
        cctx = self._client.prepare(server=server) if server else self._client
        try:
            cctx.cast(ctx, method, **kwargs)
        except om.MessageDeliveryFailure as exc:
            raise errors.ServiceUnavailable(f"{self.topic}.{method}: {exc}") from exc


def endpoint(func: F) -> F:
    """Wrap an RPC endpoint method: bind the request id for logs, log unexpected errors.

    Errors from ``common.errors`` travel back to the caller; anything else is a bug,
    logged here with its traceback before oslo.messaging reports it.
    """

    @functools.wraps(func)
    def wrapper(self: Any, ctx: RequestContext, **kwargs: Any) -> Any:
        token = request_id_var.set(ctx.request_id)
        routed = routed_host_var.set(kwargs.pop(ROUTED_HOST, None))
        try:
            return func(self, ctx, **kwargs)
        except errors.ControlPlaneError as exc:
            # Expected errors go back to the caller without a traceback in our log.
            raise om.ExpectedException() from exc
        except Exception:
            LOG.exception("RPC %s failed", func.__name__)
            raise
        finally:
            routed_host_var.reset(routed)
            request_id_var.reset(token)

    return wrapper  # type: ignore[return-value]
