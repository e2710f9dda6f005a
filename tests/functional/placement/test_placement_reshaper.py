"""POST /reshaper moves inventory and allocations in one step."""

from __future__ import annotations

import httpx
import pytest

from .scenario import Step, run

# POST /reshaper is for services (upstream's default policy).
SERVICE = {"X-Roles": "admin,service"}

INV = {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8},
                                                           "MEMORY_MB": {"total": 1024}}}


def _alloc(rp: str, generation: int | None) -> dict[str, object]:
    return {"allocations": {rp: {"resources": {"VCPU": 2}}}, "project_id": "{project}",
            "user_id": "{user}", "consumer_generation": generation,
            "consumer_type": "INSTANCE"}


MOVE_VCPU_TO_CHILD = [
    Step("POST", "/resource_providers", 200, {"name": "root-{root}", "uuid": "{root}"}),
    Step("PUT", "/resource_providers/{root}/inventories", 200, INV),
    Step("PUT", "/allocations/{c1}", 204, _alloc("{root}", None)),
    Step("POST", "/resource_providers", 200, {"name": "numa-{numa}", "uuid": "{numa}",
                                              "parent_provider_uuid": "{root}"}),
    Step("POST", "/reshaper", 404, send_headers=SERVICE, json={}, version="1.29"),
    Step("POST", "/reshaper", 400, send_headers=SERVICE, json={"inventories": {}}),
    Step("POST", "/reshaper", 409, send_headers=SERVICE, json={
        "inventories": {"{root}": {"resource_provider_generation": 0,
                                   "inventories": {"MEMORY_MB": {"total": 1024}}}},
        "allocations": {}}, code="placement.concurrent_update"),
    Step("POST", "/reshaper", 409, send_headers=SERVICE, json={
        "inventories": {"{root}": {"resource_provider_generation": 2,
                                   "inventories": {"MEMORY_MB": {"total": 1024}}}},
        "allocations": {}}, code="placement.inventory.inuse"),
    Step("POST", "/reshaper", 400, send_headers=SERVICE, json={
        "inventories": {"{nope}": {"resource_provider_generation": 0, "inventories": {}}},
        "allocations": {}}, code="placement.resource_provider.not_found"),
    Step("POST", "/reshaper", 204, send_headers=SERVICE, json={
        "inventories": {
            "{root}": {"resource_provider_generation": 2,
                       "inventories": {"MEMORY_MB": {"total": 1024}}},
            "{numa}": {"resource_provider_generation": 0,
                       "inventories": {"VCPU": {"total": 8}}},
        },
        "allocations": {"{c1}": _alloc("{numa}", 1)}}),
    Step("GET", "/resource_providers/{root}/inventories", 200,
         expect={"inventories": {"MEMORY_MB": {"total": 1024}}}),
    Step("GET", "/resource_providers/{numa}/usages", 200, expect={"usages": {"VCPU": 2}}),
    Step("GET", "/allocations/{c1}", 200, expect={"consumer_generation": 2}),
]


@pytest.mark.parametrize("steps", [MOVE_VCPU_TO_CHILD], ids=["move_vcpu_to_child"])
def test_scenario(api: httpx.Client, steps: list[Step]) -> None:
    run(api, steps)
