"""Resource providers, inventories, traits, aggregates and resource classes."""

from __future__ import annotations

import httpx
import pytest

from .scenario import ABSENT, Step, run

INV = {"VCPU": {"total": 8}, "MEMORY_MB": {"total": 4096, "reserved": 512}}

PROVIDERS = [
    Step("POST", "/resource_providers", 201, {"name": "old-{rp}", "uuid": "{rp}"}, version="1.19",
         headers={"location": "{base}/resource_providers/{rp}"}),
    Step("GET", "/resource_providers/{rp}", 200, version="1.0",
         expect={"uuid": "{rp}", "generation": 0, "parent_provider_uuid": ABSENT}),
    Step("POST", "/resource_providers", 200, {"name": "new-{child}", "uuid": "{child}",
                                              "parent_provider_uuid": "{rp}"},
         expect={"root_provider_uuid": "{rp}", "parent_provider_uuid": "{rp}"}),
    Step("POST", "/resource_providers", 409, {"name": "new-{child}"},
         code="placement.duplicate_name"),
    Step("POST", "/resource_providers", 409, {"name": "x-{other}", "uuid": "{rp}"},
         code="placement.duplicate_name"),
    Step("POST", "/resource_providers", 400,
         {"name": "x-{other}", "parent_provider_uuid": "{nope}"}),
    Step("POST", "/resource_providers", 400, {"name": "x-{other}", "bogus": 1}),
    Step("POST", "/resource_providers", 400, {"name": "x-{other}", "parent_provider_uuid": "{rp}"},
         version="1.13"),
    Step("GET", "/resource_providers", 200, params={"name": "new-{child}"},
         expect={"resource_providers": [{"uuid": "{child}"}]}),
    Step("GET", "/resource_providers", 200, params={"in_tree": "{child}"},
         expect={"resource_providers": [{"uuid": "{rp}"}, {"uuid": "{child}"}]}),
    Step("GET", "/resource_providers", 400, params={"in_tree": "{child}"}, version="1.13"),
    Step("GET", "/resource_providers", 400, params={"bogus": "1"}),
    Step("PUT", "/resource_providers/{rp}", 200, {"name": "renamed-{rp}"},
         expect={"name": "renamed-{rp}"}),
    Step("PUT", "/resource_providers/{child}", 400, {"name": "c-{child}",
                                                    "parent_provider_uuid": None}, version="1.36"),
    Step("PUT", "/resource_providers/{rp}", 400, {"name": "r-{rp}",
                                                 "parent_provider_uuid": "{child}"}),
    Step("DELETE", "/resource_providers/{rp}", 409,
         code="placement.resource_provider.cannot_delete_parent"),
    Step("PUT", "/resource_providers/{child}", 200, {"name": "c-{child}",
                                                    "parent_provider_uuid": None},
         expect={"root_provider_uuid": "{child}", "parent_provider_uuid": None}),
    Step("DELETE", "/resource_providers/{rp}", 204),
    Step("GET", "/resource_providers/{rp}", 404),
    Step("DELETE", "/resource_providers/{child}", 204),
]

INVENTORIES = [
    Step("POST", "/resource_providers", 200, {"name": "inv-{rp}", "uuid": "{rp}"}),
    Step("PUT", "/resource_providers/{rp}/inventories", 200,
         {"resource_provider_generation": 0, "inventories": INV},
         expect={"resource_provider_generation": 1, "inventories": {
             "VCPU": {"total": 8, "reserved": 0, "min_unit": 1, "max_unit": 2147483647,
                      "step_size": 1, "allocation_ratio": 1.0}}}),
    Step("PUT", "/resource_providers/{rp}/inventories", 409,
         {"resource_provider_generation": 0, "inventories": INV},
         code="placement.concurrent_update"),
    Step("PUT", "/resource_providers/{rp}/inventories", 400,
         {"resource_provider_generation": 1, "inventories": {"VCPU": {"total": 1, "reserved": 2}}}),
    Step("PUT", "/resource_providers/{rp}/inventories", 400,
         {"resource_provider_generation": 1, "inventories": {"VCPU": {"total": 1, "reserved": 1}}},
         version="1.25"),
    Step("PUT", "/resource_providers/{rp}/inventories", 400,
         {"resource_provider_generation": 1, "inventories": {"NOPE": {"total": 1}}}),
    Step("PUT", "/resource_providers/{rp}/inventories", 400,
         {"resource_provider_generation": 1, "inventories": {"VCPU": {"total": "1"}}}),
    Step("GET", "/resource_providers/{rp}/inventories/MEMORY_MB", 200,
         expect={"total": 4096, "reserved": 512, "resource_provider_generation": 1}),
    Step("PUT", "/resource_providers/{rp}/inventories/VCPU", 200,
         {"resource_provider_generation": 1, "total": 16, "allocation_ratio": 2},
         expect={"total": 16, "allocation_ratio": 2.0, "resource_provider_generation": 2}),
    Step("PUT", "/allocations/{consumer}", 204, {
        "allocations": {"{rp}": {"resources": {"VCPU": 4}}}, "project_id": "p", "user_id": "u",
        "consumer_generation": None, "consumer_type": "INSTANCE"}),
    Step("GET", "/resource_providers/{rp}/usages", 200,
         expect={"usages": {"VCPU": 4, "MEMORY_MB": 0}, "resource_provider_generation": 3}),
    # Shrinking below usage is allowed, as upstream does (a full host's reserve may grow).
    Step("PUT", "/resource_providers/{rp}/inventories/VCPU", 200,
         {"resource_provider_generation": 3, "total": 2}),
    Step("DELETE", "/resource_providers/{rp}/inventories/VCPU", 409,
         code="placement.inventory.inuse"),
    Step("DELETE", "/resource_providers/{rp}/inventories", 405, version="1.4"),
    Step("DELETE", "/resource_providers/{rp}/inventories", 409, code="placement.inventory.inuse"),
    Step("PUT", "/resource_providers/{rp}/inventories", 409,
         {"resource_provider_generation": 4, "inventories": {"MEMORY_MB": {"total": 1}}},
         code="placement.inventory.inuse"),
    Step("DELETE", "/resource_providers/{rp}/inventories/MEMORY_MB", 204),
    Step("GET", "/resource_providers/{rp}/inventories/MEMORY_MB", 404),
    Step("DELETE", "/resource_providers/{rp}", 409, code="placement.resource_provider.inuse"),
    Step("DELETE", "/allocations/{consumer}", 204),
    Step("DELETE", "/resource_providers/{rp}/inventories", 204),
    Step("GET", "/resource_providers/{rp}/inventories", 200,
         expect={"inventories": {}, "resource_provider_generation": 6}),
    Step("POST", "/resource_providers/{rp}/inventories", 201,
         {"resource_class": "DISK_GB", "total": 100},
         headers={"location": "{base}/resource_providers/{rp}/inventories/DISK_GB"}),
]

TRAITS = [
    Step("PUT", "/traits/CUSTOM_T_{suffix}", 404, version="1.5"),
    Step("PUT", "/traits/NOT_CUSTOM", 400),
    Step("PUT", "/traits/CUSTOM_GOLD", 201),
    Step("PUT", "/traits/CUSTOM_GOLD", 204),
    Step("GET", "/traits/CUSTOM_GOLD", 204),
    Step("GET", "/traits/CUSTOM_NOPE", 404),
    Step("GET", "/traits", 200, params={"name": "in:CUSTOM_GOLD,HW_CPU_X86_AVX2"},
         expect={"traits": ["CUSTOM_GOLD", "HW_CPU_X86_AVX2"]}),
    Step("GET", "/traits", 400, params={"name": "CUSTOM_GOLD"}),
    Step("POST", "/resource_providers", 200, {"name": "tr-{rp}", "uuid": "{rp}"}),
    Step("PUT", "/resource_providers/{rp}/traits", 200,
         {"traits": ["CUSTOM_GOLD", "HW_CPU_X86_AVX2"], "resource_provider_generation": 0},
         expect={"traits": ["CUSTOM_GOLD", "HW_CPU_X86_AVX2"], "resource_provider_generation": 1}),
    Step("PUT", "/resource_providers/{rp}/traits", 409,
         {"traits": [], "resource_provider_generation": 0}, code="placement.concurrent_update"),
    Step("PUT", "/resource_providers/{rp}/traits", 400,
         {"traits": ["CUSTOM_NOPE_NOPE"], "resource_provider_generation": 1}),
    Step("GET", "/resource_providers", 200, params={"required": "CUSTOM_GOLD,!HW_CPU_X86_SSE",
                                                   "name": "tr-{rp}"},
         expect={"resource_providers": [{"uuid": "{rp}"}]}),
    Step("GET", "/resource_providers", 200, params={"required": "!CUSTOM_GOLD", "name": "tr-{rp}"},
         expect={"resource_providers": []}),
    Step("DELETE", "/traits/CUSTOM_GOLD", 409),
    Step("DELETE", "/traits/HW_CPU_X86_AVX2", 400),
    Step("DELETE", "/resource_providers/{rp}/traits", 204),
    Step("GET", "/resource_providers/{rp}/traits", 200,
         expect={"traits": [], "resource_provider_generation": 2}),
    Step("DELETE", "/resource_providers/{rp}", 204),
]

AGGREGATES = [
    Step("POST", "/resource_providers", 200, {"name": "ag-{rp}", "uuid": "{rp}"}),
    Step("GET", "/resource_providers/{rp}/aggregates", 404, version="1.0"),
    Step("PUT", "/resource_providers/{rp}/aggregates", 200, ["{agg1}"], version="1.18",
         expect={"aggregates": ["{agg1}"], "resource_provider_generation": ABSENT}),
    Step("PUT", "/resource_providers/{rp}/aggregates", 400, ["{agg1}"]),
    Step("PUT", "/resource_providers/{rp}/aggregates", 409,
         {"aggregates": ["{agg2}"], "resource_provider_generation": 0}),
    Step("PUT", "/resource_providers/{rp}/aggregates", 200,
         {"aggregates": ["{agg2}"], "resource_provider_generation": 1},
         expect={"aggregates": ["{agg2}"], "resource_provider_generation": 2}),
    Step("GET", "/resource_providers", 200, params={"member_of": "in:{agg1},{agg2}"},
         expect={"resource_providers": [{"uuid": "{rp}"}]}),
    Step("GET", "/resource_providers", 200, params={"member_of": "{agg1}"},
         expect={"resource_providers": []}),
    Step("GET", "/resource_providers", 200,
         params={"member_of": "!{agg2}", "name": "ag-{rp}"}, expect={"resource_providers": []}),
    Step("GET", "/resource_providers", 400, params={"member_of": "!{agg2}"}, version="1.31"),
]

RESOURCE_CLASSES = [
    Step("GET", "/resource_classes", 404, version="1.1"),
    Step("POST", "/resource_classes", 201, {"name": "CUSTOM_FPGA_{suffix}"},
         headers={"location": "{base}/resource_classes/CUSTOM_FPGA_{suffix}"}),
    Step("POST", "/resource_classes", 409, {"name": "CUSTOM_FPGA_{suffix}"}),
    Step("POST", "/resource_classes", 400, {"name": "FPGA"}),
    Step("GET", "/resource_classes/CUSTOM_FPGA_{suffix}", 200,
         expect={"name": "CUSTOM_FPGA_{suffix}"}),
    Step("PUT", "/resource_classes/CUSTOM_FPGA_{suffix}", 204),
    Step("PUT", "/resource_classes/CUSTOM_NEW_{suffix}", 201),
    Step("PUT", "/resource_classes/CUSTOM_NEW_{suffix}", 200, {"name": "CUSTOM_RENAMED_{suffix}"},
         version="1.6", expect={"name": "CUSTOM_RENAMED_{suffix}"}),
    Step("DELETE", "/resource_classes/VCPU", 400),
    Step("DELETE", "/resource_classes/CUSTOM_RENAMED_{suffix}", 204),
    Step("GET", "/resource_classes/CUSTOM_RENAMED_{suffix}", 404),
]


def _suffixed(steps: list[Step]) -> list[Step]:
    return steps


@pytest.mark.parametrize(
    "steps",
    [PROVIDERS, INVENTORIES, TRAITS, AGGREGATES, RESOURCE_CLASSES],
    ids=["providers", "inventories", "traits", "aggregates", "resource_classes"],
)
def test_scenario(api: httpx.Client, steps: list[Step]) -> None:
    run(api, steps)
