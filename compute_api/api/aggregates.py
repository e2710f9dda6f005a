"""/os-aggregates: host aggregates, their hosts and metadata (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from common.context import RequestContext
from common.errors import BadRequest
from common.openapi import model_schema, wrapped
from common.routes import BY_ACTION, ActionBody, Route
from compute_api import aggregates
from compute_api.aggregates import AggregateInfo
from compute_api.api.deps import (
    AdminContextDep,
    AfterCommit,
    AfterCommitDep,
    BodyDep,
    ReadSessionDep,
    RuntimeDep,
    SessionDep,
    VersionDep,
)
from compute_api.api.microversion import Version
from compute_api.api.operator_schemas import (
    AggregateCreate,
    AggregateHostBody,
    AggregateMetadataBody,
    AggregateUpdate,
)
from compute_api.api.schemas import member, parse
from compute_api.api.views import usage_time
from compute_api.policies import AGGREGATE_ACTION_TABLE
from compute_api.runtime import Runtime


def _view(info: AggregateInfo, version: Version, full: bool = True) -> dict[str, Any]:
    agg = info.row
    out: dict[str, Any] = {
        "id": agg.id, "name": agg.name, "availability_zone": info.zone,
        "created_at": usage_time(agg.created_at), "updated_at": usage_time(agg.updated_at),
        "deleted": False, "deleted_at": None}
    if full:
        out.update({"hosts": info.hosts, "metadata": info.metadata})
    if version.at_least("2.41"):
        out["uuid"] = str(agg.uuid)
    return out


def list_aggregates(ctx: AdminContextDep, session: ReadSessionDep,
                    version: VersionDep) -> dict[str, Any]:
    return {"aggregates": [_view(a, version) for a in aggregates.list_all(session)]}


def create_aggregate(body: BodyDep, ctx: AdminContextDep, session: SessionDep,
                     version: VersionDep) -> dict[str, Any]:
    spec: AggregateCreate = parse(AggregateCreate, body, "aggregate")
    info = aggregates.create(session, spec.name, spec.availability_zone)
    return {"aggregate": _view(info, version, full=False)}


def show_aggregate(aggregate_id: str, ctx: AdminContextDep, session: ReadSessionDep,
                   version: VersionDep) -> dict[str, Any]:
    return {"aggregate": _view(aggregates.get(session, aggregate_id), version)}


def update_aggregate(aggregate_id: str, body: BodyDep, ctx: AdminContextDep,
                     session: SessionDep, version: VersionDep) -> dict[str, Any]:
    spec: AggregateUpdate = parse(AggregateUpdate, body, "aggregate")
    given = spec.model_fields_set
    if not given:
        raise BadRequest("Invalid input for field/attribute aggregate. Value: {}. {} "
                         "does not have enough properties")
    info = aggregates.update(session, aggregate_id, spec.name, spec.availability_zone,
                             "availability_zone" in given)
    return {"aggregate": _view(info, version)}


def delete_aggregate(aggregate_id: str, ctx: AdminContextDep, session: SessionDep) -> Response:
    aggregates.delete(session, aggregate_id)
    return Response(status_code=200)


def _mirror(runtime: Runtime, after_commit: AfterCommit, ctx: RequestContext,
            info: AggregateInfo, host: str, member_now: bool) -> None:
    after_commit(runtime.conductor.set_host_aggregate, ctx, host, info.row.uuid, member_now)


def aggregate_action(aggregate_id: str, body: BodyDep, ctx: AdminContextDep,
                     session: SessionDep, version: VersionDep, runtime: RuntimeDep,
                     after_commit: AfterCommitDep) -> dict[str, Any]:
    action = next(iter(body), None) if isinstance(body, dict) and len(body) == 1 else None
    if action in ("add_host", "remove_host"):
        host = parse(AggregateHostBody, body, action).host
        change = aggregates.add_host if action == "add_host" else aggregates.remove_host
        info = change(session, aggregate_id, host)
        _mirror(runtime, after_commit, ctx, info, host, action == "add_host")
    elif action == "set_metadata":
        spec: AggregateMetadataBody = parse(AggregateMetadataBody, body, action)
        info = aggregates.set_metadata(session, aggregate_id, spec.metadata)
    else:
        member(body, "add_host")  # upstream's message for a body naming no action
        raise BadRequest("Invalid request body: unknown aggregate action.")
    return {"aggregate": _view(info, version)}


# What the handlers accept; the models above give the messages.
CREATE_BODY = wrapped("aggregate", model_schema(AggregateCreate))
UPDATE_BODY = wrapped("aggregate", model_schema(AggregateUpdate))
_ARGS = {"add_host": model_schema(AggregateHostBody),
         "remove_host": model_schema(AggregateHostBody),
         "set_metadata": model_schema(AggregateMetadataBody)}
ACTIONS = {key: ActionBody(rule.name, _ARGS[key])
           for key, rule in AGGREGATE_ACTION_TABLE.items()}


ROUTES: list[Route] = [
    Route("GET", "/v2.1/os-aggregates", list_aggregates, "os_compute_api:os-aggregates:index"),
    Route("POST", "/v2.1/os-aggregates", create_aggregate, "os_compute_api:os-aggregates:create",
          body=CREATE_BODY),
    Route("GET", "/v2.1/os-aggregates/{aggregate_id}", show_aggregate,
          "os_compute_api:os-aggregates:show"),
    Route("PUT", "/v2.1/os-aggregates/{aggregate_id}", update_aggregate,
          "os_compute_api:os-aggregates:update", body=UPDATE_BODY),
    Route("DELETE", "/v2.1/os-aggregates/{aggregate_id}", delete_aggregate,
          "os_compute_api:os-aggregates:delete"),
    Route("POST", "/v2.1/os-aggregates/{aggregate_id}/action", aggregate_action, BY_ACTION,
          actions=ACTIONS),
]
