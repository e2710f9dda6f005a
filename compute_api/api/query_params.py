"""From 2.102 every route refuses query parameters it does not know, as upstream's
schemas all do from then (several did from 2.75 already)."""

from __future__ import annotations

from starlette.requests import Request

from compute_api.api.microversion import Version
from compute_api.api.query import strict_params

STRICT_FROM = "2.102"

S = "/v2.1/servers"
SID = f"{S}/{{server_id}}"
QS = "/v2.1/os-quota-sets/{project_id}"
USAGE = ("start", "end", "limit", "marker")

# (method, route) -> the query parameters it takes from 2.102. None: its handler checks
# its own (they depend on the caller or the version). A route not here takes none.
QUERY_PARAMS: dict[tuple[str, str], frozenset[str] | None] = {
    ("GET", S): None, ("GET", f"{S}/detail"): None,
    ("GET", "/v2.1/flavors"): None, ("GET", "/v2.1/flavors/detail"): None,
    ("GET", "/v2.1/os-hypervisors"): None, ("GET", "/v2.1/os-hypervisors/detail"): None,
    ("GET", "/v2.1/os-hypervisors/{hypervisor_id}"): frozenset({"with_servers"}),
    # Removed before 2.102 (404 whatever the query).
    ("GET", "/v2.1/os-hosts"): None, ("GET", "/v2.1/images"): None,
    ("GET", "/v2.1/images/detail"): None,
    ("GET", "/v2.1/os-keypairs"): None, ("GET", "/v2.1/os-migrations"): None,
    ("GET", "/v2.1/os-services"): None, ("GET", "/v2.1/os-server-groups"): None,
    ("GET", f"{SID}/os-volume_attachments"): None,
    ("GET", "/v2.1/os-keypairs/{name}"): frozenset({"user_id"}),
    ("DELETE", "/v2.1/os-keypairs/{name}"): frozenset({"user_id"}),
    ("GET", "/v2.1/limits"): frozenset({"tenant_id"}),
    ("GET", QS): frozenset({"user_id"}), ("GET", f"{QS}/detail"): frozenset({"user_id"}),
    ("PUT", QS): frozenset({"user_id"}), ("DELETE", QS): frozenset({"user_id"}),
    ("GET", f"{SID}/os-instance-actions"): frozenset(
        {"limit", "marker", "changes-since", "changes-before"}),
    ("GET", "/v2.1/os-simple-tenant-usage"): frozenset({*USAGE, "detailed"}),
    ("GET", "/v2.1/os-simple-tenant-usage/{tenant_id}"): frozenset(USAGE),
}


def refuse_unknown(request: Request) -> None:
    """A dependency of every compute route. Raises BadRequest from 2.102 for a query
    parameter the route does not take."""
    version: Version = request.state.api_version
    if not version.at_least(STRICT_FROM) or not request.query_params:
        return
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return
    allowed = QUERY_PARAMS.get((request.method, path), frozenset())
    if allowed is not None:
        strict_params(request, set(allowed), version, since=STRICT_FROM)
