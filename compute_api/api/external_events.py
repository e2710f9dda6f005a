"""/os-server-external-events (service or admin): events about servers, per-event codes."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.responses import JSONResponse

from common import validation
from common.errors import BadRequest
from common.routes import Route
from compute_api import external_events
from compute_api.api.deps import BodyDep, ContextDep, RuntimeDep, SessionDep, VersionDep
from compute_api.api.microversion import Version

# (event name, the microversion that added it)
NAMES = [("network-changed", "2.1"), ("network-vif-plugged", "2.1"),
         ("network-vif-unplugged", "2.1"), ("network-vif-deleted", "2.1"),
         ("volume-extended", "2.51"), ("power-update", "2.76"),
         ("accelerator-request-bound", "2.82"), ("volume-reimaged", "2.93")]


def events_schema(version: Version) -> dict[str, Any]:
    """The body at ``version``: each microversion adds event names."""
    return external_events.schema([name for name, since in NAMES if version.at_least(since)])


def _check_uuids(events: list[dict[str, Any]]) -> None:
    for event in events:
        value = str(event["server_uuid"])
        try:
            uuid.UUID(value)
        except ValueError:
            raise BadRequest(f"Invalid input for field/attribute server_uuid. Value: "
                             f"{validation.shorten(value)}. '{value}' is not a 'uuid'"
                             ) from None


def create_external_events(body: BodyDep, ctx: ContextDep, session: SessionDep,
                           version: VersionDep, runtime: RuntimeDep) -> JSONResponse:
    validation.check(events_schema(version), body)
    _check_uuids(body["events"])
    status, events = external_events.accept(session, body["events"], runtime.neutron)
    return JSONResponse({"events": events}, status_code=status)


ROUTES: list[Route] = [
    Route("POST", "/v2.1/os-server-external-events", create_external_events,
          "os_compute_api:os-server-external-events:create", body=events_schema),
]
