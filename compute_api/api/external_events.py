"""/os-server-external-events (service or admin): events about servers, per-event codes."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.responses import JSONResponse

from common import validation
from common.errors import BadRequest
from common.routes import Route
from compute_api import external_events
from compute_api.api.deps import BodyDep, ContextDep, SessionDep, VersionDep


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
                           version: VersionDep) -> JSONResponse:
    validation.check(external_events.schema(version), body)
    _check_uuids(body["events"])
    status, events = external_events.accept(session, body["events"])
    return JSONResponse({"events": events}, status_code=status)


ROUTES: list[Route] = [
    Route("POST", "/v2.1/os-server-external-events", create_external_events,
          "os_compute_api:os-server-external-events:create", body=external_events.schema),
]
