"""Default policy of the network API: Neutron's rule names and its new defaults.

The route rule is checked against the caller's own project; the handlers then hide other
projects' resources (404, as Neutron). Admin-only attributes have their own rules
(``create_network:provider:network_type``, ``get_port:binding:vif_type``), checked where
the attribute is written or shown.
"""

from __future__ import annotations

from common.policy import RouteTable, RuleDefault

ADMIN = "role:admin"
READER = "role:admin or (role:reader and project_id:%(project_id)s)"
MEMBER = "role:admin or (role:member and project_id:%(project_id)s)"

_COLLECTIONS = {"network": "/v2.0/networks", "subnet": "/v2.0/subnets",
                "port": "/v2.0/ports", "security_group": "/v2.0/security-groups",
                "security_group_rule": "/v2.0/security-group-rules",
                "router": "/v2.0/routers", "floatingip": "/v2.0/floatingips"}


def _crud(resource: str, path: str) -> list[RuleDefault]:
    item = f"{path}/{{item_id}}"
    return [
        RuleDefault(f"create_{resource}", MEMBER, f"Create a {resource}", (("POST", path),)),
        RuleDefault(f"get_{resource}", READER, f"List or show {resource}s",
                    (("GET", path), ("GET", item))),
        RuleDefault(f"update_{resource}", MEMBER, f"Update a {resource}", (("PUT", item),)),
        RuleDefault(f"delete_{resource}", MEMBER, f"Delete a {resource}",
                    (("DELETE", item),)),
    ]


_ADMIN_ATTRIBUTES = {
    "network": ("shared", "router:external", "provider:network_type",
                "provider:physical_network", "provider:segmentation_id"),
    "port": ("binding:host_id", "binding:vnic_type", "binding:profile", "binding:vif_type",
             "binding:vif_details"),
}


def _attribute_rules() -> list[RuleDefault]:
    out = []
    for resource, names in _ADMIN_ATTRIBUTES.items():
        for name in names:
            for verb in ("create", "update", "get"):
                out.append(RuleDefault(f"{verb}_{resource}:{name}", ADMIN,
                                       f"{verb.capitalize()} {name} of a {resource}"))
    out.append(RuleDefault("create_port:mac_address", MEMBER, "Choose a port's MAC address"))
    out.append(RuleDefault("update_port:mac_address", ADMIN, "Change a port's MAC address"))
    return out


def _router_rules() -> list[RuleDefault]:
    item = "/v2.0/routers/{item_id}"
    out = [RuleDefault("add_router_interface", MEMBER, "Add an interface to a router",
                       (("PUT", f"{item}/add_router_interface"),)),
           RuleDefault("remove_router_interface", MEMBER, "Remove an interface from a router",
                       (("PUT", f"{item}/remove_router_interface"),))]
    for verb in ("create", "update"):
        for name in ("enable_snat", "external_fixed_ips"):
            out.append(RuleDefault(f"{verb}_router:external_gateway_info:{name}", ADMIN,
                                   f"{verb.capitalize()} a router's gateway {name}"))
    out.append(RuleDefault("create_floatingip:floating_ip_address", ADMIN,
                           "Choose a floating IP's address"))
    return out


DEFAULTS: list[RuleDefault] = [
    *(rule for resource, path in _COLLECTIONS.items() for rule in _crud(resource, path)),
    *_attribute_rules(),
    *_router_rules(),
    RuleDefault("get_quota", READER, "Show a project's network quotas",
                (("GET", "/v2.0/quotas"), ("GET", "/v2.0/quotas/{project_id}"),
                 ("GET", "/v2.0/quotas/{project_id}/default"),
                 ("GET", "/v2.0/quotas/{project_id}/details"))),
    RuleDefault("update_quota", ADMIN, "Change a project's network quotas",
                (("PUT", "/v2.0/quotas/{project_id}"),)),
    RuleDefault("delete_quota", ADMIN, "Reset a project's network quotas",
                (("DELETE", "/v2.0/quotas/{project_id}"),)),
]


def route_table() -> RouteTable:
    return RouteTable(DEFAULTS, public=[("GET", "/"), ("GET", "/openapi.json")],
                      authenticated=[("GET", "/v2.0/"), ("GET", "/v2.0/extensions"),
                                     ("GET", "/v2.0/extensions/{alias}"),
                                     ("GET", "/v2.0/agents"),
                                     ("GET", "/v2.0/agents/{agent_id}")])
