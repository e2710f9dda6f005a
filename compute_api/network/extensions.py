"""The API extensions this subset serves: clients (and Tempest) decide what to use from
this list, so it names only what is implemented."""

from __future__ import annotations

from typing import Any

from compute_api.network.faults import ExtensionNotFound

_UPDATED = "2024-01-01T00:00:00-00:00"

EXTENSIONS: dict[str, tuple[str, str]] = {
    "security-group": ("security-group", "The security groups extension."),
    "stateful-security-group": ("Stateful security group",
                                "Indicates if the security group is stateful or not"),
    "standard-attr-description": ("standard-attr-description",
                                  "Extension to add descriptions to standard attributes"),
    "standard-attr-timestamp": ("Resource timestamps",
                                "Adds created_at and updated_at fields to all Neutron "
                                "resources that have Neutron standard attributes."),
    "standard-attr-revisions": ("Resource revision numbers",
                                "This extension will display the revision number of "
                                "neutron resources."),
    "project-id": ("project_id field enabled",
                   "Extension that indicates that project_id field is enabled."),
    "quotas": ("Quota management support", "Expose functions for quotas management per "
               "tenant"),
    "quota_details": ("Quota details extension", "Expose functions for quotas usage "
                      "statistics per project"),
    "allowed-address-pairs": ("Allowed Address Pairs", "Provides allowed address pairs"),
    "binding": ("Port Binding", "Expose port bindings of a virtual port to external "
                "application"),
    "port-security": ("Port Security", "Provides port security"),
    "external-net": ("Neutron external network", "Adds external network attribute to "
                     "network resource."),
    "provider": ("Provider Network", "Expose mapping of virtual networks to physical "
                 "networks"),
    "net-mtu": ("Network MTU", "Provides MTU attribute for a network resource."),
    "net-mtu-writable": ("Network MTU (writable)", "Provides a writable MTU attribute for a "
                         "network resource."),
    "pagination": ("Pagination support", "Extension that indicates that pagination is "
                   "enabled."),
    "sorting": ("Sorting support", "Extension that indicates that sorting is enabled."),
    "router": ("Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 "
               "Neutron networks and access to external networks via a NAT gateway."),
    "ext-gw-mode": ("Neutron L3 Configurable external gateway mode", "Extension of the "
                    "router abstraction for specifying whether SNAT should occur on the "
                    "external gateway"),
    "fip-port-details": ("Floating IP Port Details Extension", "Add port_details attribute "
                         "to Floating IP resource"),
}


def extension_view(alias: str) -> dict[str, Any]:
    name, description = EXTENSIONS[alias]
    return {"alias": alias, "name": name, "description": description, "updated": _UPDATED,
            "links": []}


def listed() -> list[dict[str, Any]]:
    return [extension_view(alias) for alias in EXTENSIONS]


def shown(alias: str) -> dict[str, Any]:
    """One extension. Raises ExtensionNotFound."""
    if alias not in EXTENSIONS:
        raise ExtensionNotFound(alias)
    return extension_view(alias)
