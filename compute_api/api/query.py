"""Query-string parsing for list requests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from common.context import RequestContext
from common.errors import BadRequest
from compute_api.api.microversion import Version
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


def _tag_filters(request: Request, version: Version) -> dict[str, list[str] | None]:
    if not version.at_least("2.26"):
        return {}
    out: dict[str, list[str] | None] = {}
    for param, key in (("tags", "tags"), ("tags-any", "tags_any"), ("not-tags", "not_tags"),
                       ("not-tags-any", "not_tags_any")):
        raw = request.query_params.get(param)
        out[key] = [t for t in raw.split(",") if t] if raw else None
    return out


# The statuses a server list may be filtered by; others are refused from 2.38.
STATUSES = {"ACTIVE", "BUILD", "DELETED", "ERROR", "HARD_REBOOT", "MIGRATING", "PASSWORD",
            "PAUSED", "REBOOT", "REBUILD", "RESCUE", "RESIZE", "REVERT_RESIZE", "SHELVED",
            "SHELVED_OFFLOADED", "SHUTOFF", "SOFT_DELETED", "SUSPENDED", "UNKNOWN",
            "VERIFY_RESIZE"}


def server_list_query(request: Request, ctx: RequestContext, version: Version) -> ListQuery:
    params = request.query_params
    status = params.get("status")
    if status and version.at_least("2.38") and status.upper() not in STATUSES:
        raise BadRequest("Invalid status value")
    key, direction = _sort(request, "created_at", "desc")
    since = params.get("changes-since")
    before = params.get("changes-before") if version.at_least("2.66") else None
    if since and before and _timestamp(since, "changes-since") > _timestamp(
            before, "changes-before"):
        raise BadRequest("The value of changes-since must be less than or equal to "
                         "changes-before.")
    all_tenants = params.get("all_tenants")
    locked = params.get("locked") if version.at_least("2.73") else None
    return ListQuery(
        changes_before=_timestamp(before, "changes-before") if before else None,
        locked=None if locked is None else _bool(locked, "locked"),
        **_tag_filters(request, version),
        limit=_limit(request, request.app.state.runtime.settings.api.max_limit),
        marker=params.get("marker"), name=params.get("name"), status=params.get("status"),
        changes_since=_timestamp(since, "changes-since") if since else None,
        all_tenants=all_tenants is not None and _bool(all_tenants, "all_tenants"),
        project_id=params.get("project_id") or params.get("tenant_id"),
        sort_key=key, sort_dir=direction,
    )


def x_int(request: Request, name: str, minimum: int = 0) -> int | None:
    """An integer query parameter (None if absent). Raises BadRequest."""
    return _int(request, name, minimum)


def strict_params(request: Request, allowed: set[str], version: Version,
                  since: str = "2.75") -> None:
    """From ``since``, unknown query parameters are refused as upstream's schemas do."""
    if not version.at_least(since):
        return
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise BadRequest(f"Invalid input for query parameters {unknown[0]}. Additional "
                         f"properties are not allowed ('{unknown[0]}' was unexpected)")


def bool_param(raw: str, name: str) -> bool:
    return _bool(raw, name)


def parse_timestamp(raw: str, name: str) -> datetime:
    return _timestamp(raw, name)
