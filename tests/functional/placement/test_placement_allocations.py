"""Allocations, consumers and usages across microversions."""

from __future__ import annotations

import httpx
import pytest

from .scenario import ABSENT, Step, run

SETUP = [
    Step("POST", "/resource_providers", 200, {"name": "a-{rp}", "uuid": "{rp}"}),
    Step("PUT", "/resource_providers/{rp}/inventories", 200, {
        "resource_provider_generation": 0,
        "inventories": {"VCPU": {"total": 4, "max_unit": 2},
                        "DISK_GB": {"total": 100, "step_size": 10}}}),
]


def _put(consumer: str, resources: dict[str, int], generation: object = None,
         status: int = 204, project: str = "{project}", version: str = "latest",
         **extra: object) -> Step:
    body: dict[str, object] = {
        "allocations": {"{rp}": {"resources": resources}}, "project_id": project,
        "user_id": "{user}", "consumer_generation": generation, "consumer_type": "INSTANCE",
    }
    return Step("PUT", f"/allocations/{{{consumer}}}", status, body | extra, version=version)


ALLOCATIONS = [
    *SETUP,
    _put("c1", {"VCPU": 2, "DISK_GB": 20}),
    Step("GET", "/allocations/{c1}", 200, expect={
        "allocations": {"{rp}": {"generation": 2, "resources": {"VCPU": 2, "DISK_GB": 20}}},
        "consumer_generation": 1, "project_id": "{project}", "user_id": "{user}",
        "consumer_type": "INSTANCE"}),
    Step("GET", "/allocations/{c1}", 200, version="1.27", expect={
        "consumer_generation": ABSENT, "project_id": "{project}"}),
    Step("GET", "/allocations/{c1}", 200, version="1.11", expect={"project_id": ABSENT}),
    _put("c1", {"VCPU": 1}, generation=None, status=409),
    _put("c1", {"VCPU": 1}, generation=5, status=409),
    _put("c2", {"VCPU": 1}, generation=3, status=409),
    _put("c2", {"VCPU": 3}, status=409),  # max_unit
    _put("c2", {"DISK_GB": 15}, status=409),  # step_size
    _put("c2", {"VCPU": 2, "DISK_GB": 90}, status=409),  # capacity
    _put("c2", {"NOPE": 1}, status=400),
    _put("c2", {"VCPU": 0}, status=400),
    Step("PUT", "/allocations/{c2}", 400, {"allocations": {"{nope}": {"resources": {"VCPU": 1}}},
                                           "project_id": "p", "user_id": "u",
                                           "consumer_generation": None,
                                           "consumer_type": "INSTANCE"}),
    Step("PUT", "/allocations/{c2}", 400, {"allocations": {"{rp}": {"resources": {"VCPU": 1}}},
                                           "project_id": "p", "user_id": "u",
                                           "consumer_generation": None}),
    _put("c2", {"VCPU": 2}, version="1.37", consumer_type=ABSENT),
    Step("GET", "/resource_providers/{rp}/allocations", 200, expect={"allocations": {
        "{c1}": {"resources": {"VCPU": 2, "DISK_GB": 20}}, "{c2}": {"resources": {"VCPU": 2}}}}),
    Step("GET", "/usages", 200, params={"project_id": "{project}"}, version="1.37",
         expect={"usages": {"VCPU": 4, "DISK_GB": 20}}),
    Step("GET", "/usages", 200, params={"project_id": "{project}"}, expect={"usages": {
        "INSTANCE": {"consumer_count": 1, "VCPU": 2, "DISK_GB": 20},
        "unknown": {"consumer_count": 1, "VCPU": 2}}}),
    Step("GET", "/usages", 200, params={"project_id": "{project}", "consumer_type": "all"},
         expect={"usages": {"all": {"consumer_count": 2, "VCPU": 4, "DISK_GB": 20}}}),
    Step("GET", "/usages", 200, params={"project_id": "{project}", "consumer_type": "unknown"},
         expect={"usages": {"unknown": {"consumer_count": 1, "VCPU": 2}}}),
    Step("GET", "/usages", 200, params={"project_id": "{project}", "user_id": "nobody"},
         expect={"usages": {}}),
    Step("GET", "/usages", 400, version="1.37", params={"project_id": "x", "consumer_type": "A"}),
    Step("GET", "/usages", 404, version="1.8", params={"project_id": "x"}),
    Step("GET", "/usages", 400),
    Step("PUT", "/allocations/{c1}", 204, {
        "allocations": {}, "project_id": "{project}", "user_id": "{user}",
        "consumer_generation": 1, "consumer_type": "INSTANCE"}),
    Step("GET", "/allocations/{c1}", 200, expect={"allocations": {},
                                                  "consumer_generation": ABSENT}),
    Step("DELETE", "/allocations/{c1}", 404),
    Step("DELETE", "/allocations/{c2}", 204),
    Step("GET", "/resource_providers/{rp}/usages", 200,
         expect={"usages": {"VCPU": 0, "DISK_GB": 0}}),
]

OLD_FORMATS = [
    *SETUP,
    Step("PUT", "/allocations/{c1}", 204, {"allocations": [
        {"resource_provider": {"uuid": "{rp}"}, "resources": {"VCPU": 1}}]}, version="1.7"),
    Step("PUT", "/allocations/{c1}", 400, {"allocations": [
        {"resource_provider": {"uuid": "{rp}"}, "resources": {"VCPU": 1}}]}, version="1.8"),
    Step("PUT", "/allocations/{c1}", 204, {"allocations": [
        {"resource_provider": {"uuid": "{rp}"}, "resources": {"VCPU": 1}}],
        "project_id": "{project}", "user_id": "{user}"}, version="1.8"),
    Step("PUT", "/allocations/{c1}", 204, {
        "allocations": {"{rp}": {"resources": {"VCPU": 2}}},
        "project_id": "{project}", "user_id": "{user}"}, version="1.12"),
    Step("PUT", "/allocations/{c1}", 400, {
        "allocations": {}, "project_id": "{project}", "user_id": "{user}"}, version="1.12"),
    Step("POST", "/allocations", 404, {}, version="1.12"),
    Step("POST", "/allocations", 204, {
        "{c1}": {"allocations": {}, "project_id": "{project}", "user_id": "{user}",
                 "consumer_generation": 3, "consumer_type": "INSTANCE"},
        "{c3}": {"allocations": {"{rp}": {"resources": {"VCPU": 1}}}, "project_id": "{project}",
                 "user_id": "{user}", "consumer_generation": None, "consumer_type": "MIGRATION"},
    }),
    Step("GET", "/allocations/{c1}", 200, expect={"allocations": {}}),
    Step("GET", "/allocations/{c3}", 200, expect={"consumer_type": "MIGRATION"}),
    Step("GET", "/usages", 200, params={"project_id": "{project}", "consumer_type": "MIGRATION"},
         expect={"usages": {"MIGRATION": {"consumer_count": 1, "VCPU": 1}}}),
    Step("DELETE", "/allocations/{c3}", 204),
]


@pytest.mark.parametrize("steps", [ALLOCATIONS, OLD_FORMATS], ids=["latest", "old_formats"])
def test_scenario(api: httpx.Client, steps: list[Step]) -> None:
    run(api, steps)
