"""Query-string parsing for list requests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from common.context import RequestContext
from common.errors import BadRequest
from compute_api.servers import ListQuery


def _int(request: Request, name: str, minimum: int = 0) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {raw}. "
                         f"'{raw}' is not a 'integer'") from None
    if value < minimum:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {raw}. "
                         f"{value} is less than the minimum of {minimum}")
    return value


def _limit(request: Request, max_limit: int) -> int:
    value = _int(request, "limit", 0)
    return max_limit if value is None else min(value, max_limit)


def _bool(raw: str, name: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "t", "true", "on", "y", "yes", ""):
        return True
    if lowered in ("0", "f", "false", "off", "n", "no"):
        return False
    raise BadRequest(f"Invalid input for query parameters {name}. Value: {raw}.")


def _sort(request: Request, default_key: str, default_dir: str) -> tuple[str, str]:
    key = request.query_params.get("sort_key", default_key)
    direction = request.query_params.get("sort_dir", default_dir)
    if direction not in ("asc", "desc"):
        raise BadRequest(f"Invalid input for query parameters sort_dir. Value: {direction}.")
    return key, direction


def flavor_list_args(request: Request, ctx: RequestContext) -> dict[str, Any]:
    params = request.query_params
    is_public: bool | None = True
    raw = params.get("is_public")
    if raw is not None:
        is_public = None if raw.lower() == "none" else _bool(raw, "is_public")
        if not ctx.is_admin:
            is_public = True
    key, direction = _sort(request, "flavorid", "asc")
    if key not in ("flavorid", "name", "memory_mb", "vcpus", "root_gb", "created_at", "id"):
        raise BadRequest(f"Invalid input for query parameters sort_key. Value: {key}.")
    return {
        "is_public": is_public, "min_ram": _int(request, "minRam"),
        "min_disk": _int(request, "minDisk"),
        "limit": _limit(request, request.app.state.runtime.settings.api.max_limit),
        "marker": params.get("marker"), "sort_key": key, "sort_dir": direction,
    }


def _timestamp(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {raw}. "
                         f"'{raw}' is not a 'date-time'") from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def server_list_query(request: Request, ctx: RequestContext) -> ListQuery:
    params = request.query_params
    key, direction = _sort(request, "created_at", "desc")
    since = params.get("changes-since")
    all_tenants = params.get("all_tenants")
    return ListQuery(
        limit=_limit(request, request.app.state.runtime.settings.api.max_limit),
        marker=params.get("marker"), name=params.get("name"), status=params.get("status"),
        changes_since=_timestamp(since, "changes-since") if since else None,
        all_tenants=all_tenants is not None and _bool(all_tenants, "all_tenants"),
        project_id=params.get("project_id") or params.get("tenant_id"),
        sort_key=key, sort_dir=direction,
    )
