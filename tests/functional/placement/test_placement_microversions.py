"""Every route on both sides of each microversion boundary that changes it.

Read-only cases look at one shared world built once per database; cases that write
start from fresh names (``{new}``, ``{c2}``...) so they stay independent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping

import httpx
import pytest

from .conftest import ADMIN
from .scenario import ABSENT, Step, run

# The world: {rp} (VCPU 8, MEMORY_MB 4096, DISK_GB 100, {rc}: 10; traits AVX2 and
# {trait}; aggregate {agg}) with child {child} (SRIOV_NET_VF 8, trait {ctrait}); consumer
# {consumer} ({project}/{user}) holds VCPU 2 and {rc} 1 on {rp}.
Names = dict[str, str]


@pytest.fixture(scope="module")
def world(placement_url: str) -> Iterator[Names]:
    tag = uuid.uuid4().hex[:8].upper()
    names = {
        "rp": str(uuid.uuid4()), "child": str(uuid.uuid4()), "agg": str(uuid.uuid4()),
        "consumer": str(uuid.uuid4()), "project": str(uuid.uuid4()), "user": str(uuid.uuid4()),
        "rc": f"CUSTOM_MV_{tag}", "trait": f"CUSTOM_MVT_{tag}", "ctrait": f"CUSTOM_MVC_{tag}",
        "tag": tag,
    }
    with httpx.Client(base_url=placement_url, timeout=60, headers={
            "X-Auth-Token": ADMIN, "OpenStack-API-Version": "placement latest"}) as api:
        n = names

        def call(method: str, path: str, body: object = None) -> None:
            response = api.request(method, path, json=body)
            assert response.status_code < 300, response.text

        call("PUT", f"/resource_classes/{n['rc']}")
        call("PUT", f"/traits/{n['trait']}")
        call("PUT", f"/traits/{n['ctrait']}")
        call("POST", "/resource_providers", {"name": f"mv-root-{tag}", "uuid": n["rp"]})
        call("POST", "/resource_providers", {"name": f"mv-child-{tag}", "uuid": n["child"],
                                             "parent_provider_uuid": n["rp"]})
        call("PUT", f"/resource_providers/{n['rp']}/inventories", {
            "resource_provider_generation": 0, "inventories": {
                "VCPU": {"total": 8}, "MEMORY_MB": {"total": 4096},
                "DISK_GB": {"total": 100}, n["rc"]: {"total": 10}}})
        call("PUT", f"/resource_providers/{n['rp']}/traits", {
            "resource_provider_generation": 1, "traits": ["HW_CPU_X86_AVX2", n["trait"]]})
        call("PUT", f"/resource_providers/{n['rp']}/aggregates", {
            "resource_provider_generation": 2, "aggregates": [n["agg"]]})
        call("PUT", f"/resource_providers/{n['child']}/inventories", {
            "resource_provider_generation": 0, "inventories": {"SRIOV_NET_VF": {"total": 8}}})
        call("PUT", f"/resource_providers/{n['child']}/traits", {
            "resource_provider_generation": 1, "traits": [n["ctrait"]]})
        call("PUT", f"/allocations/{n['consumer']}", {
            "allocations": {n["rp"]: {"resources": {"VCPU": 2, n["rc"]: 1}}},
            "project_id": n["project"], "user_id": n["user"], "consumer_generation": None,
            "consumer_type": "INSTANCE"})
        yield names


def get(path: str, version: str, status: int = 200, expect: object = None,
        params: dict[str, str] | list[tuple[str, str]] | None = None,
        headers: dict[str, object] | None = None) -> list[Step]:
    return [Step("GET", path, status, version=version, params=params, expect=expect,
                 headers=headers or {})]


RP = "/resource_providers/{rp}"
CHILD = "/resource_providers/{child}"
ROOT_ONLY = {"resource_providers": [{"uuid": "{rp}"}]}
NONE: dict[str, list[object]] = {"resource_providers": []}
LINKS_1_0 = ["self", "inventories", "usages"]


def links(*rels: str) -> dict[str, object]:
    return {"links": [{"rel": rel} for rel in rels]}


READS: dict[str, list[Step]] = {
    # GET /resource_providers: filters as they arrive.
    "rps-1.0": get("/resource_providers", "1.0", params={"name": "mv-root-{tag}"},
                   expect=ROOT_ONLY),
    "rps-uuid-1.0": get("/resource_providers", "1.0", params={"uuid": "{rp}"},
                        expect=ROOT_ONLY),
    "rps-member_of-1.2": get("/resource_providers", "1.2", 400, params={"member_of": "{agg}"}),
    "rps-member_of-1.3": get("/resource_providers", "1.3", params={"member_of": "{agg}"},
                             expect=ROOT_ONLY),
    "rps-member_of-in-1.3": get("/resource_providers", "1.3",
                                params={"member_of": "in:{agg},{other}"}, expect=ROOT_ONLY),
    "rps-member_of-twice-1.24": get(
        "/resource_providers", "1.24", params=[("member_of", "{agg}"), ("member_of", "{other}")],
        expect=NONE),
    "rps-member_of-not-1.31": get("/resource_providers", "1.31", 400,
                                  params={"member_of": "!{agg}", "name": "mv-root-{tag}"}),
    "rps-member_of-not-1.32": get("/resource_providers", "1.32",
                                  params={"member_of": "!{agg}", "name": "mv-root-{tag}"},
                                  expect=NONE),
    "rps-resources-1.3": get("/resource_providers", "1.3", 400, params={"resources": "{rc}:1"}),
    "rps-resources-1.4": get("/resource_providers", "1.4", params={"resources": "{rc}:1"},
                             expect=ROOT_ONLY),
    "rps-resources-too-much-1.4": get("/resource_providers", "1.4",
                                      params={"resources": "{rc}:10"}, expect=NONE),
    "rps-resources-unknown-1.4": get("/resource_providers", "1.4", 400,
                                     params={"resources": "CUSTOM_NOPE_{tag}:1"}),
    "rps-in_tree-1.13": get("/resource_providers", "1.13", 400, params={"in_tree": "{rp}"}),
    "rps-in_tree-1.14": get("/resource_providers", "1.14", params={"in_tree": "{child}"},
                            expect={"resource_providers": [{"uuid": "{rp}"},
                                                           {"uuid": "{child}"}]}),
    "rps-required-1.17": get("/resource_providers", "1.17", 400, params={"required": "{trait}"}),
    "rps-required-1.18": get("/resource_providers", "1.18", params={"required": "{trait}"},
                             expect=ROOT_ONLY),
    "rps-required-unknown-1.18": get("/resource_providers", "1.18", 400,
                                     params={"required": "CUSTOM_NOPE_{tag}"}),
    "rps-forbidden-1.21": get("/resource_providers", "1.21", 400,
                              params={"required": "!{trait}", "in_tree": "{rp}"}),
    "rps-forbidden-1.22": get("/resource_providers", "1.22",
                              params={"required": "!{trait}", "in_tree": "{rp}"},
                              expect={"resource_providers": [{"uuid": "{child}"}]}),
    "rps-required-in-1.38": get("/resource_providers", "1.38", 400,
                                params={"required": "in:{trait},{ctrait}"}),
    "rps-required-in-1.39": get("/resource_providers", "1.39",
                                params={"required": "in:{trait},{ctrait}"},
                                expect={"resource_providers": [{"uuid": "{rp}"},
                                                               {"uuid": "{child}"}]}),
    "rps-required-twice-1.39": get(
        "/resource_providers", "1.39", params=[("required", "{trait}"), ("required", "{ctrait}")],
        expect=NONE),
    # Provider views.
    "rp-1.0": get(RP, "1.0", expect={**links(*LINKS_1_0), "parent_provider_uuid": ABSENT,
                                    "root_provider_uuid": ABSENT}),
    "rp-1.1": get(RP, "1.1", expect=links(*LINKS_1_0, "aggregates")),
    "rp-1.5": get(RP, "1.5", expect=links(*LINKS_1_0, "aggregates")),
    "rp-1.6": get(RP, "1.6", expect=links(*LINKS_1_0, "aggregates", "traits")),
    "rp-1.10": get(RP, "1.10", expect=links(*LINKS_1_0, "aggregates", "traits")),
    "rp-1.11": get(RP, "1.11", expect=links(*LINKS_1_0, "aggregates", "traits", "allocations")),
    "rp-1.13": get(CHILD, "1.13", expect={"parent_provider_uuid": ABSENT}),
    "rp-1.14": get(CHILD, "1.14", expect={"parent_provider_uuid": "{rp}",
                                         "root_provider_uuid": "{rp}"}),
    "rp-root-1.14": get(RP, "1.14", expect={"parent_provider_uuid": None,
                                           "root_provider_uuid": "{rp}"}),
    "rp-headers-1.14": get(RP, "1.14", headers={"last-modified": ABSENT,
                                                "cache-control": ABSENT}),
    "rp-headers-1.15": get(RP, "1.15", headers={"cache-control": "no-cache"}),
    "rp-unknown": get("/resource_providers/{nope}", "1.0", 404),
    # Inventories.
    "inventories-1.0": get(RP + "/inventories", "1.0", expect={
        "resource_provider_generation": 4,
        "inventories": {"VCPU": {"total": 8, "reserved": 0, "allocation_ratio": 1.0}}}),
    "inventory-1.0": get(RP + "/inventories/DISK_GB", "1.0",
                         expect={"total": 100, "resource_provider_generation": 4}),
    "inventory-missing": get(RP + "/inventories/PCI_DEVICE", "1.0", 404),
    "inventory-unknown-class": get(RP + "/inventories/CUSTOM_NOPE_{tag}", "1.0", 404),
    "inventories-unknown-rp": get("/resource_providers/{nope}/inventories", "1.0", 404),
    "inventories-headers-1.15": get(RP + "/inventories", "1.15",
                                    headers={"cache-control": "no-cache"}),
    # Usages.
    "rp-usages-1.0": get(RP + "/usages", "1.0", expect={
        "usages": {"VCPU": 2, "MEMORY_MB": 0, "DISK_GB": 0, "{rc}": 1},
        "resource_provider_generation": 4}),
    "rp-usages-unknown": get("/resource_providers/{nope}/usages", "1.0", 404),
    "usages-1.8": get("/usages", "1.8", 404, params={"project_id": "{project}"}),
    "usages-1.9": get("/usages", "1.9", params={"project_id": "{project}"},
                      expect={"usages": {"VCPU": 2, "{rc}": 1}}),
    "usages-user-1.9": get("/usages", "1.9", params={"project_id": "{project}",
                                                     "user_id": "{nope}"},
                           expect={"usages": {}}),
    "usages-no-project-1.9": get("/usages", "1.9", 400),
    "usages-consumer_type-1.37": get("/usages", "1.37", 400, params={
        "project_id": "{project}", "consumer_type": "INSTANCE"}),
    "usages-1.38": get("/usages", "1.38", params={"project_id": "{project}"}, expect={
        "usages": {"INSTANCE": {"consumer_count": 1, "VCPU": 2, "{rc}": 1}}}),
    "usages-consumer_type-1.38": get("/usages", "1.38", params={
        "project_id": "{project}", "consumer_type": "MIGRATION"}, expect={"usages": {}}),
    # Aggregates.
    "aggregates-1.0": get(RP + "/aggregates", "1.0", 404),
    "aggregates-1.1": get(RP + "/aggregates", "1.1", expect={
        "aggregates": ["{agg}"], "resource_provider_generation": ABSENT}),
    "aggregates-1.18": get(RP + "/aggregates", "1.18", expect={
        "resource_provider_generation": ABSENT}),
    "aggregates-1.19": get(RP + "/aggregates", "1.19", expect={
        "aggregates": ["{agg}"], "resource_provider_generation": 4}),
    "aggregates-unknown-rp": get("/resource_providers/{nope}/aggregates", "1.19", 404),
    # Traits.
    "traits-1.5": get("/traits", "1.5", 404),
    "traits-1.6": get("/traits", "1.6", params={"name": "in:{trait},{ctrait}"},
                      expect={"traits": ["{ctrait}", "{trait}"]}),
    "traits-startswith-1.6": get("/traits", "1.6", params={"name": "startswith:CUSTOM_MVT_{tag}"},
                                 expect={"traits": ["{trait}"]}),
    "traits-associated-1.6": get("/traits", "1.6", params={
        "name": "startswith:CUSTOM_MV", "associated": "false"}),
    "traits-bad-filter-1.6": get("/traits", "1.6", 400, params={"name": "{trait}"}),
    "trait-1.5": get("/traits/{trait}", "1.5", 404),
    "trait-1.6": get("/traits/{trait}", "1.6", 204),
    "trait-standard-1.6": get("/traits/HW_CPU_X86_AVX2", "1.6", 204),
    "trait-unknown-1.6": get("/traits/CUSTOM_NOPE_{tag}", "1.6", 404),
    "rp-traits-1.5": get(RP + "/traits", "1.5", 404),
    "rp-traits-1.6": get(RP + "/traits", "1.6", expect={
        "traits": ["{trait}", "HW_CPU_X86_AVX2"], "resource_provider_generation": 4}),
    "rp-traits-unknown-rp": get("/resource_providers/{nope}/traits", "1.6", 404),
    # Resource classes.
    "rcs-1.1": get("/resource_classes", "1.1", 404),
    "rcs-1.2": get("/resource_classes", "1.2"),
    "rc-1.1": get("/resource_classes/{rc}", "1.1", 404),
    "rc-1.2": get("/resource_classes/{rc}", "1.2", expect={
        "name": "{rc}", "links": [{"rel": "self"}]}),
    "rc-standard-1.2": get("/resource_classes/VCPU", "1.2", expect={"name": "VCPU"}),
    "rc-unknown-1.2": get("/resource_classes/CUSTOM_NOPE_{tag}", "1.2", 404),
    # Allocations.
    "allocations-1.0": get("/allocations/{consumer}", "1.0", expect={
        "allocations": {"{rp}": {"resources": {"VCPU": 2, "{rc}": 1}, "generation": 4}},
        "project_id": ABSENT, "user_id": ABSENT}),
    "allocations-1.11": get("/allocations/{consumer}", "1.11", expect={"project_id": ABSENT}),
    "allocations-1.12": get("/allocations/{consumer}", "1.12", expect={
        "project_id": "{project}", "user_id": "{user}", "consumer_generation": ABSENT}),
    "allocations-1.27": get("/allocations/{consumer}", "1.27", expect={
        "consumer_generation": ABSENT}),
    "allocations-1.28": get("/allocations/{consumer}", "1.28", expect={
        "consumer_generation": 1, "consumer_type": ABSENT}),
    "allocations-1.37": get("/allocations/{consumer}", "1.37", expect={
        "consumer_type": ABSENT}),
    "allocations-1.38": get("/allocations/{consumer}", "1.38", expect={
        "consumer_type": "INSTANCE"}),
    "allocations-unknown-consumer": get("/allocations/{nope}", "1.28", expect={
        "allocations": {}, "consumer_generation": ABSENT}),
    "rp-allocations-1.0": get(RP + "/allocations", "1.0", expect={
        "allocations": {"{consumer}": {"resources": {"VCPU": 2, "{rc}": 1}}},
        "resource_provider_generation": 4}),
    "rp-allocations-unknown-rp": get("/resource_providers/{nope}/allocations", "1.0", 404),
    # Allocation candidates: {rc} exists only on {rp}, so answers are exact.
    "ac-1.9": get("/allocation_candidates", "1.9", 404, params={"resources": "{rc}:1"}),
    "ac-1.10": get("/allocation_candidates", "1.10", params={"resources": "{rc}:1"}, expect={
        "allocation_requests": [{"allocations": [
            {"resource_provider": {"uuid": "{rp}"}, "resources": {"{rc}": 1}}]}],
        "provider_summaries": {"{rp}": {"resources": {"{rc}": {"capacity": 10, "used": 1}},
                                        "traits": ABSENT}}}),
    "ac-1.11": get("/allocation_candidates", "1.11", params={"resources": "{rc}:1"}, expect={
        "allocation_requests": [{"allocations": [{"resource_provider": {"uuid": "{rp}"}}]}]}),
    "ac-1.12": get("/allocation_candidates", "1.12", params={"resources": "{rc}:1"}, expect={
        "allocation_requests": [{"allocations": {"{rp}": {"resources": {"{rc}": 1}}}}]}),
    "ac-no-resources-1.10": get("/allocation_candidates", "1.10", 400),
    "ac-too-much-1.10": get("/allocation_candidates", "1.10", params={"resources": "{rc}:10"},
                            expect={"allocation_requests": [], "provider_summaries": {}}),
    "ac-unknown-class-1.10": get("/allocation_candidates", "1.10", 400,
                                 params={"resources": "CUSTOM_NOPE_{tag}:1"}),
    "ac-limit-1.15": get("/allocation_candidates", "1.15", 400,
                         params={"resources": "{rc}:1", "limit": "1"}),
    "ac-limit-1.16": get("/allocation_candidates", "1.16",
                         params={"resources": "{rc}:1", "limit": "1"},
                         expect={"allocation_requests": [{}]}),
    "ac-limit-zero-1.16": get("/allocation_candidates", "1.16", 400,
                              params={"resources": "{rc}:1", "limit": "0"}),
    "ac-required-1.16": get("/allocation_candidates", "1.16", 400,
                            params={"resources": "{rc}:1", "required": "{trait}"}),
    "ac-required-1.17": get("/allocation_candidates", "1.17",
                            params={"resources": "{rc}:1", "required": "{trait}"},
                            expect={"provider_summaries": {"{rp}": {
                                "traits": ["{trait}", "HW_CPU_X86_AVX2"]}}}),
    "ac-required-missing-1.17": get("/allocation_candidates", "1.17",
                                    params={"resources": "{rc}:1", "required": "{ctrait}"},
                                    expect={"allocation_requests": []}),
    # No sharing providers here: trees without the trait are pruned in SQL, yet a trait
    # on the child still counts for resources taken from root and child together.
    "ac-required-across-tree-1.29": get("/allocation_candidates", "1.29", params={
        "resources": "{rc}:1,SRIOV_NET_VF:1", "required": "{ctrait}"},
        expect={"allocation_requests": [{"allocations": {
            "{rp}": {"resources": {"{rc}": 1}},
            "{child}": {"resources": {"SRIOV_NET_VF": 1}}}}]}),
    "ac-required-two-traits-1.29": get("/allocation_candidates", "1.29", params=[
        ("resources", "{rc}:1,SRIOV_NET_VF:1"), ("required", "{ctrait},{trait}")],
        expect={"allocation_requests": [{}]}),
    "ac-member_of-1.20": get("/allocation_candidates", "1.20", 400,
                             params={"resources": "{rc}:1", "member_of": "{agg}"}),
    "ac-member_of-1.21": get("/allocation_candidates", "1.21",
                             params={"resources": "{rc}:1", "member_of": "{agg}"},
                             expect={"allocation_requests": [{}]}),
    "ac-member_of-other-1.21": get("/allocation_candidates", "1.21",
                                   params={"resources": "{rc}:1", "member_of": "{other}"},
                                   expect={"allocation_requests": []}),
    "ac-forbidden-1.21": get("/allocation_candidates", "1.21", 400,
                             params={"resources": "{rc}:1", "required": "!{trait}"}),
    "ac-forbidden-1.22": get("/allocation_candidates", "1.22",
                             params={"resources": "{rc}:1", "required": "!{trait}"},
                             expect={"allocation_requests": []}),
    "ac-granular-1.24": get("/allocation_candidates", "1.24", 400,
                            params={"resources1": "{rc}:1"}),
    "ac-granular-1.25": get("/allocation_candidates", "1.25", params={"resources1": "{rc}:1"},
                            expect={"allocation_requests": [{"allocations": {
                                "{rp}": {"resources": {"{rc}": 1}}}}]}),
    "ac-granular-nested-1.28": get("/allocation_candidates", "1.28", params={
        "resources1": "{rc}:1", "resources2": "SRIOV_NET_VF:1", "group_policy": "isolate"},
        expect={"allocation_requests": []}),
    "ac-granular-nested-1.29": get("/allocation_candidates", "1.29",
                            params={"resources1": "{rc}:1", "resources2": "SRIOV_NET_VF:1",
                                    "group_policy": "isolate"},
                            expect={"allocation_requests": [{"allocations": {
                                "{rp}": {"resources": {"{rc}": 1}},
                                "{child}": {"resources": {"SRIOV_NET_VF": 1}}}}]}),
    "ac-granular-no-policy-1.25": get("/allocation_candidates", "1.25", 400, params={
        "resources1": "{rc}:1", "resources2": "SRIOV_NET_VF:1"}),
    "ac-summaries-1.26": get("/allocation_candidates", "1.26", params={"resources": "{rc}:1"},
                             expect={"provider_summaries": {"{rp}": {"resources": {
                                 "{rc}": {"capacity": 10, "used": 1}, "VCPU": ABSENT}}}}),
    "ac-summaries-1.27": get("/allocation_candidates", "1.27", params={"resources": "{rc}:1"},
                             expect={"provider_summaries": {"{rp}": {"resources": {
                                 "VCPU": {"capacity": 8, "used": 2}}}}}),
    "ac-nested-1.28": get("/allocation_candidates", "1.28",
                          params={"resources": "{rc}:1,SRIOV_NET_VF:1"},
                          expect={"allocation_requests": []}),
    "ac-nested-1.29": get("/allocation_candidates", "1.29",
                          params={"resources": "{rc}:1,SRIOV_NET_VF:1"},
                          expect={"allocation_requests": [{"allocations": {
                              "{rp}": {"resources": {"{rc}": 1}},
                              "{child}": {"resources": {"SRIOV_NET_VF": 1}}}}],
                              "provider_summaries": {"{child}": {
                                  "parent_provider_uuid": "{rp}",
                                  "root_provider_uuid": "{rp}"}}}),
    "ac-in_tree-1.30": get("/allocation_candidates", "1.30", 400,
                           params={"resources": "{rc}:1", "in_tree": "{child}"}),
    "ac-in_tree-1.31": get("/allocation_candidates", "1.31",
                           params={"resources": "{rc}:1", "in_tree": "{child}"},
                           expect={"allocation_requests": [{}]}),
    "ac-in_tree-unknown-1.31": get("/allocation_candidates", "1.31",
                                   params={"resources": "{rc}:1", "in_tree": "{nope}"},
                                   expect={"allocation_requests": []}),
    "ac-member_of-not-1.31": get("/allocation_candidates", "1.31", 400,
                                 params={"resources": "{rc}:1", "member_of": "!{agg}"}),
    "ac-member_of-not-1.32": get("/allocation_candidates", "1.32",
                                 params={"resources": "{rc}:1", "member_of": "!{agg}"},
                                 expect={"allocation_requests": []}),
    "ac-string-suffix-1.32": get("/allocation_candidates", "1.32", 400,
                                 params={"resources_CPU": "{rc}:1"}),
    "ac-string-suffix-1.33": get("/allocation_candidates", "1.33",
                                 params={"resources_CPU": "{rc}:1"},
                                 expect={"allocation_requests": [{"allocations": {
                                     "{rp}": {"resources": {"{rc}": 1}}}}]}),
    "ac-mappings-1.33": get("/allocation_candidates", "1.33", params={"resources": "{rc}:1"},
                            expect={"allocation_requests": [{"mappings": ABSENT}]}),
    "ac-mappings-1.34": get("/allocation_candidates", "1.34", params={"resources_X": "{rc}:1"},
                            expect={"allocation_requests": [{"mappings": {"_X": ["{rp}"]}}]}),
    "ac-root_required-1.34": get("/allocation_candidates", "1.34", 400,
                                 params={"resources": "{rc}:1", "root_required": "{trait}"}),
    "ac-root_required-1.35": get("/allocation_candidates", "1.35",
                                 params={"resources": "SRIOV_NET_VF:1",
                                         "root_required": "{trait}"},
                                 expect={"allocation_requests": [{"allocations": {
                                     "{child}": {"resources": {"SRIOV_NET_VF": 1}}}}]}),
    "ac-root_forbidden-1.35": get("/allocation_candidates", "1.35",
                                  params={"resources": "SRIOV_NET_VF:1",
                                          "root_required": "!{trait}", "in_tree": "{rp}"},
                                  expect={"allocation_requests": []}),
    "ac-same_subtree-1.35": get("/allocation_candidates", "1.35", 400, params={
        "resources_A": "{rc}:1", "resources_B": "SRIOV_NET_VF:1", "group_policy": "none",
        "same_subtree": "_A,_B"}),
    "ac-same_subtree-1.36": get("/allocation_candidates", "1.36", params={
        "resources_A": "{rc}:1", "resources_B": "SRIOV_NET_VF:1", "group_policy": "none",
        "same_subtree": "_A,_B"}, expect={"allocation_requests": [{"mappings": {
            "_A": ["{rp}"], "_B": ["{child}"]}}]}),
    "ac-same_subtree-unknown-1.36": get("/allocation_candidates", "1.36", 400, params={
        "resources_A": "{rc}:1", "group_policy": "none", "same_subtree": "_A,_Z"}),
    "ac-required-in-1.38": get("/allocation_candidates", "1.38", 400, params={
        "resources": "{rc}:1", "required": "in:{trait},{ctrait}"}),
    "ac-required-in-1.39": get("/allocation_candidates", "1.39", params={
        "resources": "{rc}:1", "required": "in:{trait},{ctrait}"},
        expect={"allocation_requests": [{}]}),
    "ac-headers-1.15": get("/allocation_candidates", "1.15", params={"resources": "{rc}:1"},
                           headers={"cache-control": "no-cache"}),
    # The version document, reshaper and unknown routes.
    "root": [Step("GET", "/", 200, token=None, version=None,
                  expect={"versions": [{"max_version": "1.39"}]})],
    "root-1.39": [Step("GET", "/", 200, token=None, version="1.39",
                       headers={"openstack-api-version": "placement 1.39"})],
    "reshaper-1.29": [Step("POST", "/reshaper", 404, {}, version="1.29")],
    # A service's call (upstream's default policy for the reshaper).
    "reshaper-bad-body-1.30": [Step("POST", "/reshaper", 400, {}, version="1.30",
                                    send_headers={"X-Roles": "service"})],
}


def write(*steps: Step) -> list[Step]:
    return list(steps)


def new_rp(version: str = "latest") -> Step:
    return Step("POST", "/resource_providers", 200 if version == "latest" else 201,
                {"name": "mv-{new}", "uuid": "{new}"}, version=version)


def inventory(total: int = 8, reserved: int = 0) -> dict[str, object]:
    return {"resource_provider_generation": 0,
            "inventories": {"VCPU": {"total": total, "reserved": reserved}}}


def alloc_new(version: str, body: Mapping[str, object], status: int = 204,
              then: tuple[Step, ...] = ()) -> list[Step]:
    """A fresh provider with 8 VCPU, then consumer {c2} writes ``body`` at ``version``."""
    return [new_rp(), Step("PUT", "/resource_providers/{new}/inventories", 200, inventory()),
            Step("PUT", "/allocations/{c2}", status, body, version=version), *then]


LIST_BODY = {"allocations": [{"resource_provider": {"uuid": "{new}"}, "resources": {"VCPU": 1}}]}
DICT_BODY = {"allocations": {"{new}": {"resources": {"VCPU": 1}}},
             "project_id": "{project}", "user_id": "{user}"}

WRITES: dict[str, list[Step]] = {
    # POST /resource_providers: body or not, parents, uuids.
    "post-rp-1.0": write(Step("POST", "/resource_providers", 201, {"name": "mv-{new}"},
                              version="1.0", headers={"content-length": "0"})),
    "post-rp-1.19": write(new_rp("1.19"), Step("GET", "/resource_providers/{new}", 200,
                                               version="1.19", expect={"uuid": "{new}"})),
    "post-rp-1.20": write(Step("POST", "/resource_providers", 200,
                               {"name": "mv-{new}", "uuid": "{new}"}, version="1.20",
                               expect={"uuid": "{new}", "generation": 0,
                                       "root_provider_uuid": "{new}"},
                               headers={"location": "{base}/resource_providers/{new}"})),
    "post-rp-parent-1.13": write(Step("POST", "/resource_providers", 400, {
        "name": "mv-{new}", "parent_provider_uuid": "{rp}"}, version="1.13")),
    "post-rp-parent-1.14": write(Step("POST", "/resource_providers", 201, {
        "name": "mv-{new}", "uuid": "{new}", "parent_provider_uuid": "{rp}"}, version="1.14"),
        Step("GET", "/resource_providers/{new}", 200, version="1.14",
             expect={"root_provider_uuid": "{rp}"}),
        Step("DELETE", "/resource_providers/{new}", 204)),
    "post-rp-no-name": write(Step("POST", "/resource_providers", 400, {"uuid": "{new}"})),
    "post-rp-bad-uuid": write(Step("POST", "/resource_providers", 400,
                                   {"name": "mv-{new}", "uuid": "nope"})),
    # PUT /resource_providers/{uuid}: parents change from 1.37.
    "put-rp-1.0": write(new_rp(), Step("PUT", "/resource_providers/{new}", 200,
                                       {"name": "mv2-{new}"}, version="1.0",
                                       expect={"name": "mv2-{new}", "generation": 0})),
    "put-rp-parent-1.13": write(new_rp(), Step("PUT", "/resource_providers/{new}", 400, {
        "name": "mv-{new}", "parent_provider_uuid": "{rp}"}, version="1.13")),
    "put-rp-adopt-1.14": write(new_rp(), Step("PUT", "/resource_providers/{new}", 200, {
        "name": "mv-{new}", "parent_provider_uuid": "{rp}"}, version="1.14",
        expect={"root_provider_uuid": "{rp}"}), Step("DELETE", "/resource_providers/{new}", 204)),
    "put-rp-reparent-1.36": write(
        new_rp(), Step("POST", "/resource_providers", 200, {
            "name": "mv-{kid}", "uuid": "{kid}", "parent_provider_uuid": "{new}"}),
        Step("PUT", "/resource_providers/{kid}", 400, {
            "name": "mv-{kid}", "parent_provider_uuid": "{rp}"}, version="1.36")),
    "put-rp-reparent-1.37": write(
        new_rp(), Step("POST", "/resource_providers", 200, {
            "name": "mv-{kid}", "uuid": "{kid}", "parent_provider_uuid": "{new}"}),
        Step("PUT", "/resource_providers/{kid}", 200, {
            "name": "mv-{kid}", "parent_provider_uuid": "{rp}"}, version="1.37",
            expect={"parent_provider_uuid": "{rp}", "root_provider_uuid": "{rp}"}),
        Step("DELETE", "/resource_providers/{kid}", 204)),
    "put-rp-unknown": write(Step("PUT", "/resource_providers/{nope}", 404, {"name": "x-{nope}"})),
    "delete-rp-unknown": write(Step("DELETE", "/resource_providers/{nope}", 404)),
    "delete-rp-in-use": write(Step("DELETE", RP, 409)),
    # Inventories.
    "put-inventories-1.0": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/inventories", 200, inventory(), version="1.0",
        expect={"resource_provider_generation": 1})),
    "put-inventories-reserved-1.25": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/inventories", 400, inventory(8, 8), version="1.25")),
    "put-inventories-reserved-1.26": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/inventories", 200, inventory(8, 8), version="1.26")),
    "put-inventories-stale": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/inventories", 200, inventory()), Step(
        "PUT", "/resource_providers/{new}/inventories", 409, inventory())),
    "put-inventories-unknown-class": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/inventories", 400, {
            "resource_provider_generation": 0, "inventories": {"CUSTOM_NOPE": {"total": 1}}})),
    "put-inventories-in-use": write(Step(
        "PUT", RP + "/inventories", 409, {"resource_provider_generation": 4, "inventories": {
            "MEMORY_MB": {"total": 4096}, "DISK_GB": {"total": 100}, "{rc}": {"total": 10}}})),
    "post-inventory-1.0": write(new_rp(), Step(
        "POST", "/resource_providers/{new}/inventories", 201,
        {"resource_class": "VCPU", "total": 4, "resource_provider_generation": 0},
        version="1.0", expect={"total": 4, "resource_provider_generation": 1}), Step(
        "POST", "/resource_providers/{new}/inventories", 409,
        {"resource_class": "VCPU", "total": 4, "resource_provider_generation": 1})),
    "put-inventory-1.0": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/inventories", 200, inventory()), Step(
        "PUT", "/resource_providers/{new}/inventories/VCPU", 200,
        {"total": 16, "resource_provider_generation": 1}, version="1.0",
        expect={"total": 16, "resource_provider_generation": 2})),
    "delete-inventory-1.0": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/inventories", 200, inventory()), Step(
        "DELETE", "/resource_providers/{new}/inventories/VCPU", 204, version="1.0"), Step(
        "GET", "/resource_providers/{new}/inventories/VCPU", 404)),
    "delete-inventory-in-use": write(Step("DELETE", RP + "/inventories/VCPU", 409)),
    "delete-inventories-1.4": write(new_rp(), Step(
        "DELETE", "/resource_providers/{new}/inventories", 405, version="1.4")),
    "delete-inventories-1.5": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/inventories", 200, inventory()), Step(
        "DELETE", "/resource_providers/{new}/inventories", 204, version="1.5"), Step(
        "GET", "/resource_providers/{new}/inventories", 200,
        expect={"inventories": {}, "resource_provider_generation": 2})),
    "delete-inventories-in-use-1.5": write(Step("DELETE", RP + "/inventories", 409,
                                                version="1.5")),
    # Aggregates: a list before 1.19, a dict with the generation from 1.19.
    "put-aggregates-1.0": write(new_rp(), Step("PUT", "/resource_providers/{new}/aggregates",
                                               404, ["{agg}"], version="1.0")),
    "put-aggregates-1.1": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/aggregates", 200, ["{agg}"], version="1.1",
        expect={"aggregates": ["{agg}"]})),
    "put-aggregates-dict-1.18": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/aggregates", 400,
        {"aggregates": ["{agg}"], "resource_provider_generation": 0}, version="1.18")),
    "put-aggregates-list-1.19": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/aggregates", 400, ["{agg}"], version="1.19")),
    "put-aggregates-1.19": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/aggregates", 200,
        {"aggregates": ["{agg}"], "resource_provider_generation": 0}, version="1.19",
        expect={"aggregates": ["{agg}"], "resource_provider_generation": 1}), Step(
        "PUT", "/resource_providers/{new}/aggregates", 409,
        {"aggregates": [], "resource_provider_generation": 0}, version="1.19")),
    "put-aggregates-bad-uuid-1.19": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/aggregates", 400,
        {"aggregates": ["nope"], "resource_provider_generation": 0}, version="1.19")),
    # Traits.
    "put-trait-1.5": write(Step("PUT", "/traits/CUSTOM_MV_{suffix}", 404, version="1.5")),
    "put-trait-1.6": write(Step("PUT", "/traits/CUSTOM_MV_{suffix}", 201, version="1.6",
                                headers={"location": "{base}/traits/CUSTOM_MV_{suffix}"}),
                           Step("PUT", "/traits/CUSTOM_MV_{suffix}", 204, version="1.6"),
                           Step("DELETE", "/traits/CUSTOM_MV_{suffix}", 204, version="1.6"),
                           Step("DELETE", "/traits/CUSTOM_MV_{suffix}", 404, version="1.6")),
    "put-trait-not-custom-1.6": write(Step("PUT", "/traits/MV_{suffix}", 400, version="1.6")),
    "delete-trait-standard-1.6": write(Step("DELETE", "/traits/HW_CPU_X86_AVX2", 400,
                                            version="1.6")),
    "delete-trait-in-use-1.6": write(Step("DELETE", "/traits/{trait}", 409, version="1.6")),
    "put-rp-traits-1.5": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/traits", 404,
        {"traits": [], "resource_provider_generation": 0}, version="1.5")),
    "put-rp-traits-1.6": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/traits", 200,
        {"traits": ["{trait}"], "resource_provider_generation": 0}, version="1.6",
        expect={"traits": ["{trait}"], "resource_provider_generation": 1}), Step(
        "DELETE", "/resource_providers/{new}/traits", 204, version="1.6"), Step(
        "GET", "/resource_providers/{new}/traits", 200,
        expect={"traits": [], "resource_provider_generation": 2})),
    "put-rp-traits-no-generation-1.6": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/traits", 400, {"traits": ["{trait}"]}, version="1.6")),
    "put-rp-traits-unknown-1.6": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/traits", 400,
        {"traits": ["CUSTOM_NOPE_{suffix}"], "resource_provider_generation": 0}, version="1.6")),
    "put-rp-traits-stale-1.6": write(new_rp(), Step(
        "PUT", "/resource_providers/{new}/traits", 409,
        {"traits": [], "resource_provider_generation": 5}, version="1.6")),
    "delete-rp-traits-1.5": write(new_rp(), Step(
        "DELETE", "/resource_providers/{new}/traits", 404, version="1.5")),
    # Resource classes: PUT renames before 1.7 and creates from 1.7.
    "post-rc-1.1": write(Step("POST", "/resource_classes", 404, {"name": "CUSTOM_MV_{suffix}"},
                              version="1.1")),
    "post-rc-1.2": write(Step("POST", "/resource_classes", 201, {"name": "CUSTOM_MV_{suffix}"},
                              version="1.2",
                              headers={"location": "{base}/resource_classes/CUSTOM_MV_{suffix}"}),
                         Step("POST", "/resource_classes", 409, {"name": "CUSTOM_MV_{suffix}"},
                              version="1.2"),
                         Step("DELETE", "/resource_classes/CUSTOM_MV_{suffix}", 204,
                              version="1.2")),
    "post-rc-not-custom-1.2": write(Step("POST", "/resource_classes", 400, {"name": "MV_X"},
                                         version="1.2")),
    "put-rc-rename-1.6": write(
        Step("POST", "/resource_classes", 201, {"name": "CUSTOM_MV_{suffix}"}, version="1.2"),
        Step("PUT", "/resource_classes/CUSTOM_MV_{suffix}", 200,
             {"name": "CUSTOM_MV2_{suffix}"}, version="1.6",
             expect={"name": "CUSTOM_MV2_{suffix}"}),
        Step("GET", "/resource_classes/CUSTOM_MV_{suffix}", 404, version="1.6")),
    "put-rc-no-body-1.6": write(Step("PUT", "/resource_classes/CUSTOM_MV_{suffix}", 400,
                                     version="1.6")),
    "put-rc-1.7": write(Step("PUT", "/resource_classes/CUSTOM_MV_{suffix}", 201, version="1.7"),
                        Step("PUT", "/resource_classes/CUSTOM_MV_{suffix}", 204, version="1.7"),
                        Step("GET", "/resource_classes/CUSTOM_MV_{suffix}", 200, version="1.7")),
    "put-rc-not-custom-1.7": write(Step("PUT", "/resource_classes/MV_{suffix}", 400,
                                        version="1.7")),
    "delete-rc-standard-1.2": write(Step("DELETE", "/resource_classes/VCPU", 400,
                                         version="1.2")),
    "delete-rc-in-use-1.2": write(Step("DELETE", "/resource_classes/{rc}", 409, version="1.2")),
    "delete-rc-unknown-1.2": write(Step("DELETE", "/resource_classes/CUSTOM_NOPE_{suffix}", 404,
                                        version="1.2")),
    # PUT /allocations/{consumer}: the body format of each era.
    "put-alloc-list-1.0": alloc_new("1.0", LIST_BODY),
    "put-alloc-list-1.7": alloc_new("1.7", LIST_BODY),
    "put-alloc-list-no-project-1.8": alloc_new("1.8", LIST_BODY, 400),
    "put-alloc-list-1.8": alloc_new("1.8", {**LIST_BODY, "project_id": "{project}",
                                            "user_id": "{user}"}),
    "put-alloc-dict-1.11": alloc_new("1.11", DICT_BODY, 400),
    "put-alloc-dict-1.12": alloc_new("1.12", DICT_BODY),
    "put-alloc-list-1.12": alloc_new("1.12", {**LIST_BODY, "project_id": "{project}",
                                              "user_id": "{user}"}, 400),
    "put-alloc-no-generation-1.27": alloc_new("1.27", DICT_BODY),
    "put-alloc-no-generation-1.28": alloc_new("1.28", DICT_BODY, 400),
    "put-alloc-generation-1.28": alloc_new("1.28", {**DICT_BODY, "consumer_generation": None}),
    "put-alloc-stale-generation-1.28": alloc_new("1.28", {**DICT_BODY,
                                                          "consumer_generation": 3}, 409),
    "put-alloc-consumer_type-1.37": alloc_new("1.37", {
        **DICT_BODY, "consumer_generation": None, "consumer_type": "INSTANCE"}, 400),
    "put-alloc-no-consumer_type-1.38": alloc_new("1.38", {**DICT_BODY,
                                                          "consumer_generation": None}, 400),
    "put-alloc-consumer_type-1.38": alloc_new("1.38", {
        **DICT_BODY, "consumer_generation": None, "consumer_type": "MIGRATION"}, then=(
        Step("GET", "/allocations/{c2}", 200, version="1.38",
             expect={"consumer_type": "MIGRATION", "consumer_generation": 1}),)),
    "put-alloc-empty-1.0": [Step("PUT", "/allocations/{c2}", 400, {"allocations": []},
                                 version="1.0")],
    "put-alloc-empty-dict-1.28": [Step("PUT", "/allocations/{c2}", 204, {
        **DICT_BODY, "allocations": {}, "consumer_generation": None}, version="1.28")],
    "put-alloc-over-capacity": alloc_new("1.28", {
        **DICT_BODY, "allocations": {"{new}": {"resources": {"VCPU": 9}}},
        "consumer_generation": None}, 409),
    "put-alloc-unknown-rp": [Step("PUT", "/allocations/{c2}", 400, {
        **DICT_BODY, "allocations": {"{nope}": {"resources": {"VCPU": 1}}},
        "consumer_generation": None}, version="1.28")],
    "put-alloc-no-inventory": alloc_new("1.28", {
        **DICT_BODY, "allocations": {"{new}": {"resources": {"DISK_GB": 1}}},
        "consumer_generation": None}, 409),
    # A malformed uuid in a path is an unknown resource (see README).
    "put-alloc-bad-consumer": [Step("PUT", "/allocations/nope", 400, DICT_BODY,
                                    version="1.12")],
    # POST /allocations from 1.13.
    "post-allocs-1.12": [Step("POST", "/allocations", 404, {}, version="1.12")],
    "post-allocs-1.13": [new_rp(), Step(
        "PUT", "/resource_providers/{new}/inventories", 200, inventory()), Step(
        "POST", "/allocations", 204, {"{c2}": {
            "allocations": {"{new}": {"resources": {"VCPU": 1}}},
            "project_id": "{project}", "user_id": "{user}"}}, version="1.13"), Step(
        "GET", "/allocations/{c2}", 200, version="1.13",
        expect={"allocations": {"{new}": {"resources": {"VCPU": 1}}}})],
    "post-allocs-no-generation-1.28": [Step("POST", "/allocations", 400, {"{c2}": {
        "allocations": {}, "project_id": "{project}", "user_id": "{user}"}}, version="1.28")],
    # DELETE /allocations/{consumer}.
    "delete-alloc": alloc_new("1.28", {**DICT_BODY, "consumer_generation": None}, then=(
        Step("DELETE", "/allocations/{c2}", 204, version="1.0"),
        Step("DELETE", "/allocations/{c2}", 404, version="1.0"),
        Step("GET", "/resource_providers/{new}/usages", 200,
             expect={"usages": {"VCPU": 0}}))),
}


@pytest.mark.parametrize("steps", list(READS.values()), ids=list(READS))
def test_read(api: httpx.Client, world: Names, steps: list[Step]) -> None:
    run(api, steps, world)


@pytest.mark.parametrize("steps", list(WRITES.values()), ids=list(WRITES))
def test_write(api: httpx.Client, world: Names, steps: list[Step]) -> None:
    run(api, steps, world)


def test_every_route_is_covered() -> None:
    """Each route template of the app appears in some case above."""
    from placement.app import placement_routes

    templates = {route.path for route in placement_routes()}
    used = {step.path for steps in [*READS.values(), *WRITES.values()] for step in steps}

    def covers(template: str, path: str) -> bool:
        t_parts, p_parts = template.strip("/").split("/"), path.strip("/").split("/")
        return len(t_parts) == len(p_parts) and all(
            t == p or t.startswith("{") for t, p in zip(t_parts, p_parts, strict=True))

    missing = [t for t in templates if not any(covers(t, p) for p in used)]
    assert not missing, missing
