"""Query-string parsing for list requests."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from common import policy
from common.context import RequestContext
from common.errors import BadRequest
from common.validation import MAX_INT
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
    # Upstream sets no maximum. Every such parameter is a count (limit, offset) or a
    # lower bound on a 32-bit column (minRam, minDisk), which PostgreSQL compares as a
    # 32-bit integer: past MAX_INT it is refused there, while the answer is the same.
    return min(value, MAX_INT)


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


FLAVOR_PARAMS = {"limit", "marker", "is_public", "minRam", "minDisk", "sort_key", "sort_dir"}
# 2.102: flavors filtered by name (a regular expression, as upstream).
FLAVOR_NAME = "2.102"


def flavor_list_args(request: Request, ctx: RequestContext, version: Version
                     ) -> dict[str, Any]:
    params = request.query_params
    named = version.at_least(FLAVOR_NAME)
    strict_params(request, FLAVOR_PARAMS | ({"name"} if named else set()), version)
    name = params.get("name") if named else None
    if name is not None:
        _check_regex(name, "name")
    is_public: bool | None = True
    raw = params.get("is_public")
    if raw is not None:
        is_public = None if raw.lower() == "none" else _bool(raw, "is_public")
        if not policy.allowed(ctx, "os_compute_api:os-flavor-access"):
            is_public = True
    key, direction = _sort(request, "flavorid", "asc")
    if key not in ("flavorid", "name", "memory_mb", "vcpus", "root_gb", "created_at", "id"):
        raise BadRequest(f"Invalid input for query parameters sort_key. Value: {key}.")
    return {
        "is_public": is_public, "min_ram": _int(request, "minRam"),
        "min_disk": _int(request, "minDisk"),
        "limit": _limit(request, request.app.state.runtime.settings.api.max_limit),
        "marker": params.get("marker"), "sort_key": key, "sort_dir": direction,
        "project_id": ctx.project_id, "name": name,
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

# Query parameters upstream's server list schema knows (2.1); regex ones match anywhere.
_EXACT = {"user_id", "project_id", "tenant_id", "launch_index", "image_ref", "image",
          "vm_state", "task_state", "host", "uuid", "sort_key", "sort_dir", "all_tenants",
          "soft_deleted", "deleted", "status", "changes-since", "limit", "marker"}
_REGEX = {"kernel_id", "ramdisk_id", "hostname", "key_name", "power_state", "node", "flavor",
          "reservation_id", "launched_at", "terminated_at", "availability_zone", "name",
          "display_name", "description", "display_description", "locked_by",
          "root_device_name", "config_drive", "access_ip_v4", "access_ip_v6",
          "auto_disk_config", "progress", "ip", "ip6", "created_at"}
# Parameters naming joined tables: known, but refused as filters.
_JOINED = {"block_device_mapping", "services", "metadata", "system_metadata", "info_cache",
           "security_groups", "pci_devices"}
_BY_VERSION = (("2.26", {"tags", "tags-any", "not-tags", "not-tags-any"}),
               ("2.66", {"changes-before"}), ("2.73", {"locked"}))

# What a non-admin may filter by; upstream silently drops the rest for them.
_USER_FILTERS = {"reservation_id", "name", "status", "image", "flavor", "ip",
                 "changes-since", "all_tenants"}
_USER_FILTERS_BY_VERSION = (
    ("2.5", {"ip6"}), ("2.26", {"tags", "tags-any", "not-tags", "not-tags-any"}),
    ("2.66", {"changes-before"}), ("2.73", {"locked"}),
    ("2.83", {"availability_zone", "config_drive", "key_name", "created_at", "launched_at",
              "terminated_at", "power_state", "task_state", "vm_state", "progress",
              "user_id"}),
)
_PAGING = {"limit", "marker", "sort_key", "sort_dir"}

# Sort keys: valid ones, and ones upstream ignores (before 2.75) instead of refusing.
SORT_KEYS = {"access_ip_v4", "access_ip_v6", "auto_disk_config", "availability_zone",
             "config_drive", "created_at", "display_description", "display_name", "host",
             "hostname", "image_ref", "instance_type_id", "kernel_id", "key_name",
             "launch_index", "launched_at", "locked_by", "node", "power_state", "progress",
             "project_id", "ramdisk_id", "root_device_name", "task_state", "terminated_at",
             "updated_at", "user_id", "uuid", "vm_state"}
IGNORED_SORT_KEYS = {"architecture", "cell_name", "cleaned", "default_ephemeral_device",
                     "default_swap_device", "deleted", "deleted_at", "disable_terminate",
                     "ephemeral_gb", "ephemeral_key_uuid", "id", "key_data", "launched_on",
                     "locked", "memory_mb", "os_type", "reservation_id", "root_gb",
                     "shutdown_terminate", "user_data", "vcpus", "vm_mode"}


def params_at(version: Version, base: set[str],
              added: tuple[tuple[str, set[str]], ...]) -> set[str]:
    """``base`` plus the names each microversion in ``added`` brought, up to ``version``."""
    out = set(base)
    for since, names in added:
        if version.at_least(since):
            out |= names
    return out


def known_server_params(version: Version) -> set[str]:
    return params_at(version, _EXACT | _REGEX | _JOINED, _BY_VERSION)


def _user_filters(version: Version) -> set[str]:
    return params_at(version, _USER_FILTERS, _USER_FILTERS_BY_VERSION)


def change_window(since: str | None, before: str | None
                  ) -> tuple[datetime | None, datetime | None]:
    """``changes-since`` / ``changes-before`` as times. Raises BadRequest if since > before."""
    start = _timestamp(since, "changes-since") if since else None
    end = _timestamp(before, "changes-before") if before else None
    if start is not None and end is not None and start > end:
        raise BadRequest("The value of changes-since must be less than or equal to "
                         "changes-before.")
    return start, end


def _server_sort(request: Request, version: Version) -> list[tuple[str, str]]:
    """(key, direction) pairs; upstream pairs repeated sort_key and sort_dir values."""
    keys = request.query_params.getlist("sort_key")
    dirs = request.query_params.getlist("sort_dir")
    for direction in dirs:
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid input for query parameters sort_dir. Value: "
                             f"{direction}.")
    valid = SORT_KEYS | ({"locked"} if version.at_least("2.73") else set())
    ignored = set() if version.at_least("2.75") else (
        IGNORED_SORT_KEYS - ({"locked"} if version.at_least("2.73") else set()))
    out = []
    for index, key in enumerate(keys):
        if key in ignored:
            continue
        if key not in valid:
            raise BadRequest(f"Invalid input for query parameters sort_key. Value: {key}. "
                             f"'{key}' is not one of {sorted(valid)}")
        out.append((key, dirs[index] if index < len(dirs) else (dirs[0] if dirs else "desc")))
    if not out:
        out = [("created_at", dirs[0] if dirs else "desc")]
    return out


def server_list_query(request: Request, ctx: RequestContext, version: Version) -> ListQuery:
    """Parse a server list's query string the way upstream does for this version.

    From 2.75 unknown parameters are refused; joined-table filters always are. A
    non-admin's admin-only filters are dropped silently, as upstream does.
    """
    params = request.query_params
    known = known_server_params(version)
    if version.at_least("2.75"):
        strict_params(request, known, version)
    for name in params:
        if name in _JOINED or name.startswith("_"):
            raise BadRequest(f"Invalid filter field: {name}.")
    visible = set(params) & known
    if not policy.allowed(ctx, "os_compute_api:servers:allow_all_filters"):
        visible &= _user_filters(version) | _PAGING
    status = params.get("status") if "status" in visible else None
    if status and version.at_least("2.38") and status.upper() not in STATUSES:
        raise BadRequest("Invalid status value")
    changes_since, changes_before = change_window(
        params.get("changes-since") if "changes-since" in visible else None,
        params.get("changes-before") if "changes-before" in visible else None)
    all_tenants = params.get("all_tenants")
    locked = params.get("locked") if "locked" in visible else None
    deleted = params.get("deleted") if "deleted" in visible else None
    sort = _server_sort(request, version)
    filters = {name: params[name] for name in visible
               if name in (_EXACT | _REGEX) - _PAGING - {
                   "status", "changes-since", "all_tenants", "deleted", "soft_deleted",
                   "project_id", "tenant_id"}}
    for name in ("name", "display_name", "description", "display_description", "hostname",
                 "node", "key_name", "reservation_id", "availability_zone", "ip", "ip6"):
        if name in filters:
            _check_regex(filters[name], name)
    return ListQuery(
        changes_before=changes_before,
        locked=None if locked is None else _bool(locked, "locked"),
        deleted=None if deleted is None else _bool(deleted, "deleted"),
        **_tag_filters(request, version),
        limit=_limit(request, request.app.state.runtime.settings.api.max_limit),
        marker=params.get("marker"), status=status,
        changes_since=changes_since,
        all_tenants=all_tenants is not None and _bool(all_tenants, "all_tenants"),
        project_id=params.get("project_id") or params.get("tenant_id"),
        sort=sort, filters=filters,
    )


def _check_regex(pattern: str, name: str) -> None:
    try:
        re.compile(pattern)
    except re.error:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {pattern}. "
                         "It is not a valid regular expression.") from None


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
