"""Default policy of the Compute API: upstream Nova's rule names and new defaults.

Readers of a project may look at its resources, members may create and change them,
admins may do anything, including the operator APIs. Routes without a rule of their
own (versions; flavor list and show) need no token or any valid token, as upstream.
"""

from __future__ import annotations

from typing import NamedTuple

from common.policy import RouteTable, RuleDefault
from common.states import Action
from compute_api.operator_policies import AGG_ACTION, AGGREGATE_ACTIONS, OPERATOR
from compute_api.removed_apis import REMOVED

ADMIN = "rule:context_is_admin"
READER = "rule:project_reader_or_admin"
MEMBER = "rule:project_member_or_admin"
ADMIN_OR_OWNER = "(rule:context_is_admin) or user_id:%(user_id)s"
ANYONE = "@"

S = "/servers"
SID = "/servers/{server_id}"
ACTION = f"{SID}/action"


class ActionRule(NamedTuple):
    """An action of POST .../action: its policy rule and the lifecycle actions it starts."""

    name: str
    check: str
    description: str
    # ``common.states.Action``s it begins (their rules say from where); none: no task.
    starts: tuple[Action, ...] = ()


def _rule(name: str, check: str, description: str, *operations: tuple[str, str]
          ) -> RuleDefault:
    return RuleDefault(name, check, description, tuple(operations))


BASE = [
    _rule("context_is_admin", "role:admin", "Decides who counts as an administrator."),
    _rule("admin_api", "rule:context_is_admin", "Default rule for administrator APIs."),
    _rule("project_member_api", "role:member and project_id:%(project_id)s",
          "Default rule for project level APIs that change something."),
    _rule("project_reader_api", "role:reader and project_id:%(project_id)s",
          "Default rule for project level read only APIs."),
    _rule("project_member_or_admin", "rule:project_member_api or rule:context_is_admin",
          "Default rule for project member and admin APIs."),
    _rule("project_reader_or_admin", "rule:project_reader_api or rule:context_is_admin",
          "Default rule for project reader and admin APIs."),
]

SERVERS = [
    _rule("os_compute_api:servers:index", READER, "List servers", ("GET", S)),
    _rule("os_compute_api:servers:detail", READER, "List servers with details",
          ("GET", f"{S}/detail")),
    _rule("os_compute_api:servers:index:get_all_tenants", ADMIN,
          "List servers of all projects (all_tenants)"),
    _rule("os_compute_api:servers:detail:get_all_tenants", ADMIN,
          "List servers of all projects with details (all_tenants)"),
    _rule("os_compute_api:servers:allow_all_filters", ADMIN,
          "Filter server lists by any attribute"),
    _rule("os_compute_api:servers:show", READER, "Show a server", ("GET", SID)),
    _rule("os_compute_api:servers:show:host_status", ADMIN,
          "Show a server's host_status (2.16)"),
    _rule("os_compute_api:os-extended-server-attributes", ADMIN,
          "Show a server's OS-EXT-SRV-ATTR attributes (host, instance name, ...)"),
    _rule("os_compute_api:servers:create", MEMBER, "Create a server", ("POST", S)),
    _rule("os_compute_api:servers:create:forced_host", ADMIN,
          "Create a server on a given host (availability_zone zone:host)"),
    _rule("compute:servers:create:requested_destination", ADMIN,
          "Create a server on a given host or node (2.74 host, hypervisor_hostname)"),
    _rule("os_compute_api:servers:update", MEMBER, "Update a server", ("PUT", SID)),
    _rule("os_compute_api:servers:delete", MEMBER, "Delete a server", ("DELETE", SID)),
]

# POST /servers/{server_id}/action: the body's one key names the action, its policy rule
# and the lifecycle actions it starts (``common.states.ACTIONS`` says from where). The
# handlers in ``api/server_actions.py`` are keyed the same; a unit test holds them together.
_A = ActionRule
ACTIONS: dict[str, ActionRule] = {
    "reboot": _A("os_compute_api:servers:reboot", MEMBER, "Reboot a server",
                 (Action.REBOOT_SOFT, Action.REBOOT_HARD)),
    "resize": _A("os_compute_api:servers:resize", MEMBER, "Resize a server", (Action.RESIZE,)),
    "confirmResize": _A("os_compute_api:servers:confirm_resize", MEMBER, "Confirm a resize",
                        (Action.CONFIRM_RESIZE,)),
    "revertResize": _A("os_compute_api:servers:revert_resize", MEMBER, "Revert a resize",
                       (Action.REVERT_RESIZE,)),
    "rebuild": _A("os_compute_api:servers:rebuild", MEMBER, "Rebuild a server",
                  (Action.REBUILD,)),
    "createImage": _A("os_compute_api:servers:create_image", MEMBER, "Snapshot a server",
                      (Action.SNAPSHOT,)),
    "os-start": _A("os_compute_api:servers:start", MEMBER, "Start a server", (Action.START,)),
    "os-stop": _A("os_compute_api:servers:stop", MEMBER, "Stop a server", (Action.STOP,)),
    "trigger_crash_dump": _A("os_compute_api:servers:trigger_crash_dump", MEMBER,
                             "Trigger a crash dump in a server"),
    "pause": _A("os_compute_api:os-pause-server:pause", MEMBER, "Pause a server",
                (Action.PAUSE,)),
    "unpause": _A("os_compute_api:os-pause-server:unpause", MEMBER, "Unpause a server",
                  (Action.UNPAUSE,)),
    "suspend": _A("os_compute_api:os-suspend-server:suspend", MEMBER, "Suspend a server",
                  (Action.SUSPEND,)),
    "resume": _A("os_compute_api:os-suspend-server:resume", MEMBER, "Resume a server",
                 (Action.RESUME,)),
    "lock": _A("os_compute_api:os-lock-server:lock", MEMBER, "Lock a server"),
    "unlock": _A("os_compute_api:os-lock-server:unlock", MEMBER, "Unlock a server"),
    "os-getConsoleOutput": _A("os_compute_api:os-console-output", MEMBER,
                              "Show a server's console output"),
    "changePassword": _A("os_compute_api:os-admin-password", MEMBER,
                         "Change a server's administrator password",
                         (Action.CHANGE_PASSWORD,)),
    "rescue": _A("os_compute_api:os-rescue", MEMBER, "Rescue a server", (Action.RESCUE,)),
    "unrescue": _A("os_compute_api:os-unrescue", MEMBER, "Unrescue a server",
                   (Action.UNRESCUE,)),
    "shelve": _A("os_compute_api:os-shelve:shelve", MEMBER, "Shelve a server",
                 (Action.SHELVE,)),
    "unshelve": _A("os_compute_api:os-shelve:unshelve", MEMBER, "Unshelve a server",
                   (Action.UNSHELVE,)),
    "shelveOffload": _A("os_compute_api:os-shelve:shelve_offload", ADMIN,
                        "Offload a shelved server", (Action.SHELVE_OFFLOAD,)),
    "createBackup": _A("os_compute_api:os-create-backup", MEMBER, "Back up a server",
                       (Action.BACKUP,)),
    "forceDelete": _A("os_compute_api:os-deferred-delete:force", MEMBER,
                      "Force-delete a soft-deleted server", (Action.DELETE,)),
    "restore": _A("os_compute_api:os-deferred-delete:restore", MEMBER,
                  "Restore a soft-deleted server", (Action.RESTORE,)),
    "migrate": _A("os_compute_api:os-migrate-server:migrate", ADMIN, "Cold-migrate a server",
                  (Action.MIGRATE,)),
    "os-migrateLive": _A("os_compute_api:os-migrate-server:migrate_live", ADMIN,
                         "Live-migrate a server", (Action.LIVE_MIGRATE,)),
    "evacuate": _A("os_compute_api:os-evacuate", ADMIN, "Evacuate a server",
                   (Action.EVACUATE,)),
    "os-resetState": _A("os_compute_api:os-admin-actions:reset_state", ADMIN,
                        "Reset a server's state"),
    "injectNetworkInfo": _A("os_compute_api:os-admin-actions:inject_network_info", ADMIN,
                            "Inject network information into a server"),
    "addSecurityGroup": _A("os_compute_api:os-security-groups:add", MEMBER,
                           "Add a security group to a server"),
    "removeSecurityGroup": _A("os_compute_api:os-security-groups:remove", MEMBER,
                              "Remove a security group from a server"),
    "addFloatingIp": _A("os_compute_api:os-floating-ips:add", MEMBER,
                        "Associate a floating IP with a server (until 2.43)"),
    "removeFloatingIp": _A("os_compute_api:os-floating-ips:remove", MEMBER,
                           "Disassociate a floating IP from a server (until 2.43)"),
}


def _action_rules(path: str, actions: dict[str, ActionRule]) -> list[RuleDefault]:
    return [_rule(a.name, a.check, f"{a.description} (action {key})",
                  ("POST", f"{path} ({key})"))
            for key, a in actions.items()]


ACTION_RULES = [*_action_rules(ACTION, ACTIONS),
                _rule("os_compute_api:os-lock-server:unlock:unlock_override", ADMIN,
                      "Unlock a server another user locked"),
                _rule("os_compute_api:os-shelve:unshelve_to_host", ADMIN,
                      "Unshelve an offloaded server to a given host (2.91 host)")]

SERVER_ITEMS = [
    _rule("os_compute_api:server-metadata:index", READER, "List a server's metadata",
          ("GET", f"{SID}/metadata")),
    _rule("os_compute_api:server-metadata:show", READER, "Show a server metadata item",
          ("GET", f"{SID}/metadata/{{key}}")),
    _rule("os_compute_api:server-metadata:create", MEMBER, "Add server metadata",
          ("POST", f"{SID}/metadata")),
    _rule("os_compute_api:server-metadata:update_all", MEMBER, "Replace server metadata",
          ("PUT", f"{SID}/metadata")),
    _rule("os_compute_api:server-metadata:update", MEMBER, "Set a server metadata item",
          ("PUT", f"{SID}/metadata/{{key}}")),
    _rule("os_compute_api:server-metadata:delete", MEMBER, "Delete a server metadata item",
          ("DELETE", f"{SID}/metadata/{{key}}")),
    _rule("os_compute_api:os-server-tags:index", READER, "List a server's tags",
          ("GET", f"{SID}/tags")),
    _rule("os_compute_api:os-server-tags:show", READER, "Check a server tag",
          ("GET", f"{SID}/tags/{{tag}}")),
    _rule("os_compute_api:os-server-tags:update_all", MEMBER, "Replace a server's tags",
          ("PUT", f"{SID}/tags")),
    _rule("os_compute_api:os-server-tags:delete_all", MEMBER, "Delete a server's tags",
          ("DELETE", f"{SID}/tags")),
    _rule("os_compute_api:os-server-tags:update", MEMBER, "Add a server tag",
          ("PUT", f"{SID}/tags/{{tag}}")),
    _rule("os_compute_api:os-server-tags:delete", MEMBER, "Delete a server tag",
          ("DELETE", f"{SID}/tags/{{tag}}")),
    _rule("os_compute_api:os-instance-actions:list", READER, "List a server's actions",
          ("GET", f"{SID}/os-instance-actions")),
    _rule("os_compute_api:os-instance-actions:show", READER, "Show a server action",
          ("GET", f"{SID}/os-instance-actions/{{request_id}}")),
    _rule("os_compute_api:os-instance-actions:events", ADMIN,
          "Show the events of a server action (before 2.51)"),
    _rule("os_compute_api:os-server-password:show", READER, "Show a server's password",
          ("GET", f"{SID}/os-server-password")),
    _rule("os_compute_api:os-server-password:clear", MEMBER, "Clear a server's password",
          ("DELETE", f"{SID}/os-server-password")),
    _rule("os_compute_api:ips:index", READER, "List a server's addresses",
          ("GET", f"{SID}/ips")),
    _rule("os_compute_api:ips:show", READER, "Show a server's addresses on one network",
          ("GET", f"{SID}/ips/{{network_label}}")),
    _rule("os_compute_api:os-security-groups:list", READER,
          "List the security groups of a server's ports, or the project's (before 2.36)",
          ("GET", f"{SID}/os-security-groups"), ("GET", "/os-security-groups")),
    _rule("os_compute_api:os-attach-interfaces:list", READER,
          "List a server's interfaces", ("GET", f"{SID}/os-interface")),
    _rule("os_compute_api:os-attach-interfaces:show", READER,
          "Show a server's interface", ("GET", f"{SID}/os-interface/{{port_id}}")),
    _rule("os_compute_api:os-attach-interfaces:create", MEMBER,
          "Attach an interface to a server", ("POST", f"{SID}/os-interface")),
    _rule("os_compute_api:os-attach-interfaces:delete", MEMBER,
          "Detach an interface from a server",
          ("DELETE", f"{SID}/os-interface/{{port_id}}")),
    _rule("os_compute_api:os-volumes-attachments:index", READER,
          "List a server's volume attachments", ("GET", f"{SID}/os-volume_attachments")),
    _rule("os_compute_api:os-volumes-attachments:show", READER,
          "Show a server's volume attachment",
          ("GET", f"{SID}/os-volume_attachments/{{volume_id}}")),
]

FLAVORS = [
    _rule("os_compute_api:os-flavor-manage:create", ADMIN, "Create a flavor",
          ("POST", "/flavors")),
    _rule("os_compute_api:os-flavor-manage:update", ADMIN, "Update a flavor's description",
          ("PUT", "/flavors/{flavor_id}")),
    _rule("os_compute_api:os-flavor-manage:delete", ADMIN, "Delete a flavor",
          ("DELETE", "/flavors/{flavor_id}")),
    _rule("os_compute_api:os-flavor-extra-specs:index", READER, "List a flavor's extra specs",
          ("GET", "/flavors/{flavor_id}/os-extra_specs")),
    _rule("os_compute_api:os-flavor-extra-specs:show", READER, "Show a flavor extra spec",
          ("GET", "/flavors/{flavor_id}/os-extra_specs/{key}")),
    _rule("os_compute_api:os-flavor-extra-specs:create", ADMIN, "Add flavor extra specs",
          ("POST", "/flavors/{flavor_id}/os-extra_specs")),
    _rule("os_compute_api:os-flavor-extra-specs:update", ADMIN, "Set a flavor extra spec",
          ("PUT", "/flavors/{flavor_id}/os-extra_specs/{key}")),
    _rule("os_compute_api:os-flavor-extra-specs:delete", ADMIN, "Delete a flavor extra spec",
          ("DELETE", "/flavors/{flavor_id}/os-extra_specs/{key}")),
    _rule("os_compute_api:os-flavor-access", ADMIN,
          "List a flavor's projects; list private flavors too (is_public=false or none)",
          ("GET", "/flavors/{flavor_id}/os-flavor-access")),
]

# POST /flavors/{flavor_id}/action
FLAVOR_ACTIONS: dict[str, ActionRule] = {
    "addTenantAccess": ActionRule("os_compute_api:os-flavor-access:add_tenant_access", ADMIN,
                                  "Let a project use a private flavor"),
    "removeTenantAccess": ActionRule("os_compute_api:os-flavor-access:remove_tenant_access",
                                     ADMIN, "Stop a project using a private flavor"),
}
FLAVOR_ACTION = "/flavors/{flavor_id}/action"

OTHERS = [
    _rule("os_compute_api:os-keypairs:index", ADMIN_OR_OWNER, "List key pairs",
          ("GET", "/os-keypairs")),
    _rule("os_compute_api:os-keypairs:create", ADMIN_OR_OWNER, "Create a key pair",
          ("POST", "/os-keypairs")),
    _rule("os_compute_api:os-keypairs:show", ADMIN_OR_OWNER, "Show a key pair",
          ("GET", "/os-keypairs/{name}")),
    _rule("os_compute_api:os-keypairs:delete", ADMIN_OR_OWNER, "Delete a key pair",
          ("DELETE", "/os-keypairs/{name}")),
    _rule("os_compute_api:os-server-groups:create", MEMBER, "Create a server group",
          ("POST", "/os-server-groups")),
    _rule("os_compute_api:os-server-groups:index", READER, "List server groups",
          ("GET", "/os-server-groups")),
    _rule("os_compute_api:os-server-groups:index:all_projects", ADMIN,
          "List the server groups of all projects"),
    _rule("os_compute_api:os-server-groups:show", READER, "Show a server group",
          ("GET", "/os-server-groups/{group_id}")),
    _rule("os_compute_api:os-server-groups:delete", MEMBER, "Delete a server group",
          ("DELETE", "/os-server-groups/{group_id}")),
    _rule("os_compute_api:limits", ANYONE, "Show rate and absolute limits",
          ("GET", "/limits")),
    _rule("os_compute_api:limits:other_project", ADMIN,
          "Show another project's limits (tenant_id)"),
    _rule("os_compute_api:os-quota-sets:show", READER, "Show a project's quota",
          ("GET", "/os-quota-sets/{project_id}")),
    _rule("os_compute_api:os-quota-sets:detail", READER, "Show a project's quota usage",
          ("GET", "/os-quota-sets/{project_id}/detail")),
    _rule("os_compute_api:os-quota-sets:defaults", ANYONE, "Show the default quota",
          ("GET", "/os-quota-sets/{project_id}/defaults")),
    _rule("os_compute_api:os-quota-sets:update", ADMIN, "Update a project's quota",
          ("PUT", "/os-quota-sets/{project_id}")),
    _rule("os_compute_api:os-quota-sets:delete", ADMIN, "Revert a project's quota",
          ("DELETE", "/os-quota-sets/{project_id}")),
    _rule("os_compute_api:os-availability-zone:list", ANYONE, "List availability zones",
          ("GET", "/os-availability-zone")),
    _rule("os_compute_api:os-availability-zone:detail", ADMIN,
          "List availability zones with their hosts", ("GET", "/os-availability-zone/detail")),
    _rule("os_compute_api:os-migrations:index", ADMIN, "List migrations",
          ("GET", "/os-migrations")),
    _rule("os_compute_api:os-server-diagnostics", ADMIN, "Show a server's diagnostics",
          ("GET", f"{SID}/diagnostics")),
    _rule("compute:server:topology:index", READER, "Show a server's NUMA topology (2.78)",
          ("GET", f"{SID}/topology")),
    _rule("compute:server:topology:host:index", ADMIN,
          "Show the host side of a server's NUMA topology (2.78)"),
    _rule("os_compute_api:servers:migrations:index", ADMIN,
          "List a server's live migrations in progress", ("GET", f"{SID}/migrations")),
    _rule("os_compute_api:servers:migrations:show", ADMIN,
          "Show a server's live migration in progress",
          ("GET", f"{SID}/migrations/{{migration_id}}")),
    _rule("os_compute_api:servers:migrations:force_complete", ADMIN,
          "Force a server's live migration in progress to complete (2.22)",
          ("POST", f"{SID}/migrations/{{migration_id}}/action")),
    _rule("os_compute_api:servers:migrations:delete", ADMIN,
          "Abort a server's live migration in progress (2.24)",
          ("DELETE", f"{SID}/migrations/{{migration_id}}")),
]

# The proxies of the network API's security groups and floating IPs (before 2.36).
NETWORK_PROXIES = [
    _rule("os_compute_api:os-security-groups:show", READER, "Show a security group",
          ("GET", "/os-security-groups/{group_id}")),
    _rule("os_compute_api:os-security-groups:create", MEMBER, "Create a security group",
          ("POST", "/os-security-groups")),
    _rule("os_compute_api:os-security-groups:update", MEMBER, "Update a security group",
          ("PUT", "/os-security-groups/{group_id}")),
    _rule("os_compute_api:os-security-groups:delete", MEMBER, "Delete a security group",
          ("DELETE", "/os-security-groups/{group_id}"), ("DELETE", "/os-security-groups/")),
    _rule("os_compute_api:os-security-groups:rule:create", MEMBER,
          "Create a security group rule", ("POST", "/os-security-group-rules")),
    _rule("os_compute_api:os-security-groups:rule:delete", MEMBER,
          "Delete a security group rule", ("DELETE", "/os-security-group-rules/{rule_id}")),
    _rule("os_compute_api:os-floating-ips:list", READER, "List the project's floating IPs",
          ("GET", "/os-floating-ips")),
    _rule("os_compute_api:os-floating-ips:show", READER, "Show a floating IP",
          ("GET", "/os-floating-ips/{floating_ip_id}")),
    _rule("os_compute_api:os-floating-ips:create", MEMBER, "Allocate a floating IP",
          ("POST", "/os-floating-ips")),
    _rule("os_compute_api:os-floating-ips:delete", MEMBER, "Release a floating IP",
          ("DELETE", "/os-floating-ips/{floating_ip_id}")),
]

FLAVOR_ACTION_RULES = _action_rules(FLAVOR_ACTION, FLAVOR_ACTIONS)
AGGREGATE_ACTION_TABLE = {key: ActionRule(*rule) for key, rule in AGGREGATE_ACTIONS.items()}
AGGREGATE_ACTION_RULES = _action_rules(AGG_ACTION, AGGREGATE_ACTION_TABLE)

DEFAULTS: list[RuleDefault] = [*BASE, *SERVERS, *ACTION_RULES, *SERVER_ITEMS, *FLAVORS,
                               *FLAVOR_ACTION_RULES, *OTHERS, *NETWORK_PROXIES, *OPERATOR,
                               *AGGREGATE_ACTION_RULES]


# The /images view (until 2.35): any valid token, as upstream's proxy; the image's own
# visibility and ownership decide in the handler, as Glance does behind the proxy.
IMAGE_PROXY = [("GET", "/images"), ("DELETE", "/images"), ("GET", "/images/detail"),
               ("GET", "/images/{image_id}"),
               ("DELETE", "/images/{image_id}"), ("GET", "/images/{image_id}/metadata"),
               ("POST", "/images/{image_id}/metadata"), ("PUT", "/images/{image_id}/metadata"),
               ("GET", "/images/{image_id}/metadata/{key}"),
               ("PUT", "/images/{image_id}/metadata/{key}"),
               ("DELETE", "/images/{image_id}/metadata/{key}")]


def route_table() -> RouteTable:
    """The compute API's (method, path) -> rule table (paths below /v2.1)."""
    actions = (*ACTION_RULES, *FLAVOR_ACTION_RULES, *AGGREGATE_ACTION_RULES)
    routed = [d for d in DEFAULTS if d not in actions]
    return RouteTable(
        routed, prefix="/v2.1",
        public=[("GET", "/"), ("GET", "/v2.1"), ("GET", "/v2"), ("GET", "/openapi.json")],
        authenticated=[("GET", "/flavors"), ("GET", "/flavors/detail"),
                       ("GET", "/flavors/{flavor_id}"), *REMOVED, *IMAGE_PROXY],
        actions={("POST", path): {key: rule.name for key, rule in table.items()}
                 for path, table in ((ACTION, ACTIONS), (FLAVOR_ACTION, FLAVOR_ACTIONS),
                                     (AGG_ACTION, AGGREGATE_ACTION_TABLE))},
    )

