"""The availability zone a server is created in, and the admin-only ``zone:host:node``.

Upstream's legacy forms: ``zone:host``, ``zone:host:node`` and ``zone::node`` name the
host (and node) to build on; only admins may use them (``servers:create:forced_host``).
Here they become the server's requested destination, as the 2.74 ``host`` /
``hypervisor_hostname`` fields do.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from common import policy
from common.compute_db import queries
from common.context import RequestContext
from common.errors import BadRequest, Forbidden
from compute_api import aggregates
from compute_api.aggregates import COMPUTE_BINARY, DEFAULT_ZONE

FORCED_HOST_RULE = "os_compute_api:servers:create:forced_host"


@dataclass(frozen=True)
class RequestedZone:
    zone: str | None
    host: str | None = None
    node: str | None = None


def parse(value: str | None) -> RequestedZone:
    """Split ``zone[:host[:node]]`` / ``zone::node``. Raises BadRequest past two colons."""
    if not value or ":" not in value:
        return RequestedZone(value or None)
    parts = value.split(":")
    if len(parts) > 3:
        raise BadRequest("Invalid input received: Unable to parse availability_zone")
    zone, host, node = [*parts, ""][:3]
    return RequestedZone(zone or None, host or None, node or None)


def available(session: Session) -> set[str]:
    """Zones with an enabled compute service (hosts in no zone are in the default one)."""
    of_host = aggregates.host_zones(session)
    return {of_host.get(svc.host, DEFAULT_ZONE)
            for svc in queries.list_services(session, COMPUTE_BINARY) if not svc.disabled}


def requested(session: Session, ctx: RequestContext, value: str | None,
              default: str | None) -> RequestedZone:
    """The zone (and forced host / node) a create asks for, checked as upstream.

    Raises BadRequest for a zone that is not available, Forbidden when a non-admin names
    a host or node.
    """
    wanted = parse(value)
    forced = wanted.host is not None or wanted.node is not None
    if forced and not policy.allowed(ctx, FORCED_HOST_RULE):
        raise Forbidden(f"Policy doesn't allow {FORCED_HOST_RULE} to be performed.")
    if wanted.zone is None:
        return RequestedZone(default or None, wanted.host, wanted.node)
    # A forced host skips the check, as upstream: the host decides.
    if not forced and wanted.zone not in available(session):
        raise BadRequest("The requested availability zone is not available")
    return wanted
