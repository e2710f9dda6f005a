"""Creates providers, inventories, traits, aggregates and allocations through the API.

Upstream's gabbi fixtures write their data with placement's own objects; ours go
through the real HTTP API instead, so the data the tests see is whatever our API makes
of the same requests. Allocations are written at 1.28, as data older than consumer
types (upstream's fixtures give their consumers no type either).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx


class SeedError(RuntimeError):
    """The API refused a fixture's request."""


class Seeder:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self._known_classes: set[str] = set()
        self._known_traits: set[str] = set()

    def call(self, method: str, path: str, body: Any = None, version: str = "1.39") -> Any:
        response = self.client.request(
            method, path, json=body,
            headers={"openstack-api-version": f"placement {version}"},
        )
        if response.status_code >= 300:
            raise SeedError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def _generation(self, rp: str) -> int:
        generation: int = self.call("GET", f"/resource_providers/{rp}")["generation"]
        return generation

    def provider(self, name: str, *aggregates: str, parent: str | None = None,
                 rp_uuid: str | None = None) -> str:
        """Create a provider; returns its uuid."""
        rp = rp_uuid or str(uuid.uuid4())
        body: dict[str, Any] = {"name": name, "uuid": rp}
        if parent:
            body["parent_provider_uuid"] = parent
        self.call("POST", "/resource_providers", body)
        if aggregates:
            self.aggregates(rp, *aggregates)
        return rp

    def aggregates(self, rp: str, *aggregates: str) -> None:
        self.call("PUT", f"/resource_providers/{rp}/aggregates",
                  {"aggregates": list(aggregates),
                   "resource_provider_generation": self._generation(rp)})

    def resource_class(self, name: str) -> None:
        if name.startswith("CUSTOM_") and name not in self._known_classes:
            self.call("PUT", f"/resource_classes/{name}")
            self._known_classes.add(name)

    def inventory(self, rp: str, resource_class: str, total: int, **fields: Any) -> None:
        """Add one inventory; ``max_unit`` defaults to ``total`` as upstream's do."""
        self.resource_class(resource_class)
        fields.setdefault("max_unit", total)
        body = {"resource_class": resource_class, "total": total, **fields,
                "resource_provider_generation": self._generation(rp)}
        self.call("POST", f"/resource_providers/{rp}/inventories", body)

    def traits(self, rp: str, *names: str) -> None:
        for name in names:
            if name.startswith("CUSTOM_") and name not in self._known_traits:
                self.call("PUT", f"/traits/{name}")
                self._known_traits.add(name)
        self.call("PUT", f"/resource_providers/{rp}/traits",
                  {"traits": list(names), "resource_provider_generation": self._generation(rp)})

    def allocate(self, rp: str, resources: dict[str, int], user: str, project: str) -> str:
        """Allocate ``resources`` of ``rp`` to a new consumer; returns the consumer."""
        consumer = str(uuid.uuid4())
        self.call("PUT", f"/allocations/{consumer}", {
            "allocations": {rp: {"resources": resources}},
            "project_id": project, "user_id": user, "consumer_generation": None,
        }, version="1.28")
        return consumer
