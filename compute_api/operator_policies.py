"""Default policy of the operator APIs: upstream's rule names, admin-only but for the
usage of one's own project and the extension list."""

from __future__ import annotations

from common.policy import RuleDefault

ADMIN = "rule:context_is_admin"
READER = "rule:project_reader_or_admin"
ANYONE = "@"

SVC = "/os-services"
HYP = "/os-hypervisors"
AGG = "/os-aggregates"
AGG_ACTION = f"{AGG}/{{aggregate_id}}/action"
HOSTS = "/os-hosts"


def _rule(name: str, check: str, description: str, *operations: tuple[str, str]
          ) -> RuleDefault:
    return RuleDefault(name, check, description, tuple(operations))


AUDIT = "/os-instance_usage_audit_log"

OPERATOR = [
    _rule("os_compute_api:os-instance-usage-audit-log:list", ADMIN,
          "List the usage audit of the last completed period", ("GET", AUDIT)),
    _rule("os_compute_api:os-instance-usage-audit-log:show", ADMIN,
          "Show the usage audit of the period completed before a time",
          ("GET", f"{AUDIT}/{{before_timestamp}}")),
    _rule("os_compute_api:os-services:list", ADMIN, "List services", ("GET", SVC)),
    _rule("os_compute_api:os-services:update", ADMIN,
          "Enable, disable or force down a service", ("PUT", f"{SVC}/{{service_id}}")),
    _rule("os_compute_api:os-services:delete", ADMIN, "Delete a service",
          ("DELETE", f"{SVC}/{{service_id}}")),
    _rule("os_compute_api:os-hypervisors:list", ADMIN, "List hypervisors", ("GET", HYP)),
    _rule("os_compute_api:os-hypervisors:list-detail", ADMIN,
          "List hypervisors with details", ("GET", f"{HYP}/detail")),
    _rule("os_compute_api:os-hypervisors:statistics", ADMIN,
          "Show hypervisor statistics (before 2.88)", ("GET", f"{HYP}/statistics")),
    _rule("os_compute_api:os-hypervisors:show", ADMIN, "Show a hypervisor",
          ("GET", f"{HYP}/{{hypervisor_id}}")),
    _rule("os_compute_api:os-hypervisors:uptime", ADMIN,
          "Show a hypervisor's uptime (before 2.88)", ("GET", f"{HYP}/{{hypervisor_id}}/uptime")),
    _rule("os_compute_api:os-hypervisors:search", ADMIN,
          "Search hypervisors by hostname (before 2.53)", ("GET", f"{HYP}/{{pattern}}/search")),
    _rule("os_compute_api:os-hypervisors:servers", ADMIN,
          "List the servers of hypervisors matching a hostname (before 2.53)",
          ("GET", f"{HYP}/{{pattern}}/servers")),
    _rule("os_compute_api:os-aggregates:index", ADMIN, "List aggregates", ("GET", AGG)),
    _rule("os_compute_api:os-aggregates:create", ADMIN, "Create an aggregate",
          ("POST", AGG)),
    _rule("os_compute_api:os-aggregates:show", ADMIN, "Show an aggregate",
          ("GET", f"{AGG}/{{aggregate_id}}")),
    _rule("os_compute_api:os-aggregates:update", ADMIN, "Update an aggregate",
          ("PUT", f"{AGG}/{{aggregate_id}}")),
    _rule("os_compute_api:os-aggregates:delete", ADMIN, "Delete an aggregate",
          ("DELETE", f"{AGG}/{{aggregate_id}}")),
    _rule("os_compute_api:os-simple-tenant-usage:list", ADMIN,
          "List the usage of all projects", ("GET", "/os-simple-tenant-usage")),
    _rule("os_compute_api:os-simple-tenant-usage:show", READER, "Show a project's usage",
          ("GET", "/os-simple-tenant-usage/{tenant_id}")),
    _rule("os_compute_api:os-hosts:list", ADMIN, "List hosts (before 2.43)", ("GET", HOSTS)),
    _rule("os_compute_api:os-hosts:show", ADMIN, "Show a host's resources (before 2.43)",
          ("GET", f"{HOSTS}/{{host_name}}")),
    _rule("os_compute_api:os-hosts:update", ADMIN, "Enable or disable a host (before 2.43)",
          ("PUT", f"{HOSTS}/{{host_name}}")),
    _rule("os_compute_api:os-hosts:reboot", ADMIN, "Reboot a host (before 2.43)",
          ("GET", f"{HOSTS}/{{host_name}}/reboot")),
    _rule("os_compute_api:os-hosts:shutdown", ADMIN, "Shut down a host (before 2.43)",
          ("GET", f"{HOSTS}/{{host_name}}/shutdown")),
    _rule("os_compute_api:os-hosts:start", ADMIN, "Start a host (before 2.43)",
          ("GET", f"{HOSTS}/{{host_name}}/startup")),
    _rule("os_compute_api:os-quota-class-sets:show", ADMIN, "Show a quota class",
          ("GET", "/os-quota-class-sets/{class_id}")),
    _rule("os_compute_api:os-quota-class-sets:update", ADMIN, "Update a quota class",
          ("PUT", "/os-quota-class-sets/{class_id}")),
    _rule("os_compute_api:extensions", ANYONE, "List the API extensions",
          ("GET", "/extensions"), ("GET", "/extensions/{alias}")),
    _rule("os_compute_api:os-server-external-events:create",
          "role:service or rule:context_is_admin",
          "Tell the compute service about events of servers (other services do)",
          ("POST", "/os-server-external-events")),
    _rule("os_compute_api:os-networks:list", READER, "List networks (before 2.36)",
          ("GET", "/os-networks")),
    _rule("os_compute_api:os-networks:show", READER, "Show a network (before 2.36)",
          ("GET", "/os-networks/{network_id}")),
    _rule("os_compute_api:os-tenant-networks:list", READER,
          "List the project's networks (before 2.36)", ("GET", "/os-tenant-networks")),
    _rule("os_compute_api:os-tenant-networks:show", READER,
          "Show one of the project's networks (before 2.36)",
          ("GET", "/os-tenant-networks/{network_id}")),
]

# POST /os-aggregates/{aggregate_id}/action: the body's one key names the action.
AGGREGATE_ACTIONS: dict[str, tuple[str, str, str]] = {
    "add_host": ("os_compute_api:os-aggregates:add_host", ADMIN, "Add a host to an aggregate"),
    "remove_host": ("os_compute_api:os-aggregates:remove_host", ADMIN,
                    "Remove a host from an aggregate"),
    "set_metadata": ("os_compute_api:os-aggregates:set_metadata", ADMIN,
                     "Set an aggregate's metadata"),
}
