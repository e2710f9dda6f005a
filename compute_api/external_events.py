"""os-server-external-events: what other services tell us happened to a server.

An event for a server that has a host is accepted and recorded as an event of the
server's latest instance action (its name, the tag in ``details``); a server that does
not exist gets 404 for its event, one without a host 422, an event that needs a tag and
has none 400 (upstream's per-event codes; the request answers 207 when any failed).
With ``[network] backend = neutron``, ``network-changed`` and ``network-vif-deleted``
(Neutron's news that a server's port changed: an address, a floating IP, a port deleted)
also rewrite the server's ``addresses`` from Neutron's answer; otherwise they are
recorded only (the builtin network API rewrites ``addresses`` itself).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.models import Instance, InstanceAction, InstanceActionEvent
from common.db import utcnow
from common.errors import ControlPlaneError
from common.neutron import NeutronClient, NeutronView

LOG = logging.getLogger(__name__)

STATUSES = ["failed", "completed", "in-progress"]
TAG_REQUIRED = frozenset({"volume-extended", "power-update", "accelerator-request-bound"})
_RESULT = {"completed": "Success", "failed": "Error"}


def schema(names: Sequence[str]) -> dict[str, Any]:
    """The request body's JSON schema, taking events of ``names`` (the microversion
    decides which)."""
    event = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "enum": list(names)},
            "server_uuid": {"type": "string", "format": "uuid"},
            "status": {"type": "string", "enum": STATUSES},
            "tag": {"type": "string", "maxLength": 255},
        },
        "required": ["name", "server_uuid"], "additionalProperties": False,
    }
    return {"type": "object",
            "properties": {"events": {"type": "array", "minItems": 1, "items": event}},
            "required": ["events"], "additionalProperties": False}


def _servers(session: Session, events: Sequence[dict[str, Any]]) -> dict[str, Instance]:
    wanted = set()
    for event in events:
        try:
            wanted.add(uuid.UUID(str(event["server_uuid"])))
        except ValueError:
            continue
    rows = session.scalars(sa.select(Instance).where(
        Instance.uuid.in_(wanted), Instance.deleted.is_(False))).all()
    return {str(inst.uuid): inst for inst in rows}


def _record(session: Session, inst: Instance, event: dict[str, Any], status: str) -> None:
    action_id = session.scalar(
        sa.select(InstanceAction.id).where(InstanceAction.instance_uuid == inst.uuid)
        .order_by(InstanceAction.start_time.desc(), InstanceAction.id.desc()).limit(1))
    if action_id is None:
        return
    now = utcnow()
    session.add(InstanceActionEvent(
        action_id=action_id, event=str(event["name"]), start_time=now,
        finish_time=None if status == "in-progress" else now, result=_RESULT.get(status),
        host=inst.host, details=event.get("tag")))


# Neutron's events that a server's ports (and so its addresses) changed.
PORTS_CHANGED = frozenset({"network-changed", "network-vif-deleted"})


def accept(session: Session, events: list[dict[str, Any]],
           neutron: NeutronClient | None = None) -> tuple[int, list[dict[str, Any]]]:
    """Record the events of servers that have a host; (HTTP status, events with codes).
    ``neutron``: the external Neutron a server's changed ports are read from again."""
    servers = _servers(session, events)
    answered = []
    code_all = 200
    changed: list[Instance] = []
    for event in events:
        out = dict(event)
        inst = servers.get(str(event["server_uuid"]))
        if inst is None:
            code = 404
        elif event["name"] in TAG_REQUIRED and event.get("tag") is None:
            code = 400
        elif not inst.host:
            code = 422
        else:
            code = 200
            _record(session, inst, event, str(event.get("status", "completed")))
            if neutron is not None and event["name"] in PORTS_CHANGED:
                changed.append(inst)
        out["code"] = code
        out["status"] = "completed" if code == 200 else "failed"
        if code != 200:
            code_all = 207
        answered.append(out)
    for inst in {i.uuid: i for i in changed}.values():
        assert neutron is not None
        _refresh_addresses(neutron, inst)
    session.flush()
    return code_all, answered


def _refresh_addresses(neutron: NeutronClient, inst: Instance) -> None:
    """The server's ``addresses`` from its ports in Neutron now, in the order it got
    them; a Neutron that does not answer leaves them as they were (logged)."""
    try:
        ports = neutron.server_ports(str(inst.uuid), inst.project_id,
                                     inst.network_request)
        inst.addresses = NeutronView.read(neutron, ports).addresses()
    except ControlPlaneError as exc:
        LOG.warning("addresses of %s not refreshed from Neutron: %s", inst.uuid, exc.message)
