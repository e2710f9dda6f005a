"""Default policy of placement: upstream's rule names and defaults.

Admin (or service) only, except a project's reader may see its project's usages. Every
rule takes project-scoped tokens only: a system-scoped token is refused, as upstream.
"""

from __future__ import annotations

from common.policy import RouteTable, RuleDefault

RULE = "rule:admin_or_service_api"
PROJECT = ("project",)
RP = "/resource_providers"
RPU = "/resource_providers/{uuid}"


def _rule(name: str, description: str, *operations: tuple[str, str]) -> RuleDefault:
    return RuleDefault(name, RULE, description, tuple(operations), PROJECT)


DEFAULTS: list[RuleDefault] = [
    RuleDefault("admin_api", "role:admin", "Decides who counts as an administrator.",
                scope_types=PROJECT),
    RuleDefault("service_api", "role:service", "Decides who counts as a service.",
                scope_types=PROJECT),
    RuleDefault("admin_or_service_api", "role:admin or role:service",
                "Default rule for most placement APIs.", scope_types=PROJECT),
    RuleDefault("project_reader_api", "role:reader and project_id:%(project_id)s",
                "A reader of the project concerned."),
    RuleDefault("admin_or_project_reader_or_service_api",
                "role:admin or rule:project_reader_api or role:service",
                "Default rule for project level reader APIs.", scope_types=PROJECT),
    _rule("placement:resource_providers:list", "List resource providers", ("GET", RP)),
    _rule("placement:resource_providers:create", "Create a resource provider", ("POST", RP)),
    _rule("placement:resource_providers:show", "Show a resource provider", ("GET", RPU)),
    _rule("placement:resource_providers:update", "Update a resource provider", ("PUT", RPU)),
    _rule("placement:resource_providers:delete", "Delete a resource provider",
          ("DELETE", RPU)),
    _rule("placement:resource_providers:inventories:list", "List inventories",
          ("GET", f"{RPU}/inventories")),
    _rule("placement:resource_providers:inventories:create", "Create an inventory",
          ("POST", f"{RPU}/inventories")),
    _rule("placement:resource_providers:inventories:show", "Show an inventory",
          ("GET", f"{RPU}/inventories/{{resource_class}}")),
    _rule("placement:resource_providers:inventories:update", "Update inventories",
          ("PUT", f"{RPU}/inventories"), ("PUT", f"{RPU}/inventories/{{resource_class}}")),
    _rule("placement:resource_providers:inventories:delete", "Delete inventories",
          ("DELETE", f"{RPU}/inventories"),
          ("DELETE", f"{RPU}/inventories/{{resource_class}}")),
    _rule("placement:resource_providers:aggregates:list", "List a provider's aggregates",
          ("GET", f"{RPU}/aggregates")),
    _rule("placement:resource_providers:aggregates:update", "Set a provider's aggregates",
          ("PUT", f"{RPU}/aggregates")),
    _rule("placement:resource_providers:usages", "Show a provider's usages",
          ("GET", f"{RPU}/usages")),
    RuleDefault("placement:usages", "rule:admin_or_project_reader_or_service_api",
                "Show a project's usages", (("GET", "/usages"),), PROJECT),
    _rule("placement:traits:list", "List traits", ("GET", "/traits")),
    _rule("placement:traits:show", "Check a trait", ("GET", "/traits/{name}")),
    _rule("placement:traits:update", "Create a trait", ("PUT", "/traits/{name}")),
    _rule("placement:traits:delete", "Delete a trait", ("DELETE", "/traits/{name}")),
    _rule("placement:resource_providers:traits:list", "List a provider's traits",
          ("GET", f"{RPU}/traits")),
    _rule("placement:resource_providers:traits:update", "Set a provider's traits",
          ("PUT", f"{RPU}/traits")),
    _rule("placement:resource_providers:traits:delete", "Delete a provider's traits",
          ("DELETE", f"{RPU}/traits")),
    _rule("placement:resource_classes:list", "List resource classes",
          ("GET", "/resource_classes")),
    _rule("placement:resource_classes:create", "Create a resource class",
          ("POST", "/resource_classes")),
    _rule("placement:resource_classes:show", "Show a resource class",
          ("GET", "/resource_classes/{name}")),
    _rule("placement:resource_classes:update", "Create or update a resource class",
          ("PUT", "/resource_classes/{name}")),
    _rule("placement:resource_classes:delete", "Delete a resource class",
          ("DELETE", "/resource_classes/{name}")),
    _rule("placement:allocations:list", "List a consumer's allocations",
          ("GET", "/allocations/{consumer_uuid}")),
    _rule("placement:allocations:manage", "Write allocations of many consumers",
          ("POST", "/allocations")),
    _rule("placement:allocations:update", "Write a consumer's allocations",
          ("PUT", "/allocations/{consumer_uuid}")),
    _rule("placement:allocations:delete", "Delete a consumer's allocations",
          ("DELETE", "/allocations/{consumer_uuid}")),
    _rule("placement:resource_providers:allocations:list", "List a provider's allocations",
          ("GET", f"{RPU}/allocations")),
    _rule("placement:allocation_candidates:list", "List allocation candidates",
          ("GET", "/allocation_candidates")),
    # Services only (nova-compute reshapes its own trees), as upstream's default.
    RuleDefault("placement:reshaper:reshape", "rule:service_api",
                "Reshape provider inventories and allocations", (("POST", "/reshaper"),),
                PROJECT),
]


# The first microversion of the routes some rules guard: below it the route does not
# exist (the router answers 404 or 405 to anyone, before any policy).
SINCE: dict[str, tuple[int, int]] = {
    "placement:usages": (1, 9),
    "placement:allocations:manage": (1, 13),
    "placement:allocation_candidates:list": (1, 10),
    "placement:reshaper:reshape": (1, 30),
    **{d.name: (1, 6) for d in DEFAULTS if d.name.startswith(
        ("placement:traits:", "placement:resource_providers:traits:"))},
    **{d.name: (1, 2) for d in DEFAULTS if d.name.startswith("placement:resource_classes:")},
}


def route_table() -> RouteTable:
    return RouteTable(DEFAULTS, public=[("GET", "/"), ("GET", "/openapi.json")])
