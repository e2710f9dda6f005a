"""GET /allocation_candidates over flat, nested and sharing providers."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

Names = dict[str, str]
Allocation = dict[str, dict[str, int]]


def _provider(api: httpx.Client, name: str, inventories: dict[str, int],
              parent: str | None = None, traits: list[str] | None = None,
              aggregates: list[str] | None = None) -> str:
    rp = str(uuid.uuid4())
    body: dict[str, Any] = {"name": f"{name}-{rp}", "uuid": rp}
    if parent:
        body["parent_provider_uuid"] = parent
    assert api.post("/resource_providers", json=body).status_code == 200
    generation = 0
    if inventories:
        r = api.put(f"/resource_providers/{rp}/inventories", json={
            "resource_provider_generation": generation,
            "inventories": {rc: {"total": total} for rc, total in inventories.items()}})
        assert r.status_code == 200, r.text
        generation += 1
    if traits:
        for trait in traits:
            api.put(f"/traits/{trait}")
        r = api.put(f"/resource_providers/{rp}/traits",
                    json={"traits": traits, "resource_provider_generation": generation})
        assert r.status_code == 200, r.text
        generation += 1
    if aggregates:
        r = api.put(f"/resource_providers/{rp}/aggregates",
                    json={"aggregates": aggregates, "resource_provider_generation": generation})
        assert r.status_code == 200, r.text
    return rp


@pytest.fixture
def world(api: httpx.Client) -> Names:
    """cn1 flat; cn2 with two NUMA children; ss shares DISK_GB with both via agg."""
    agg = str(uuid.uuid4())
    mark = f"CUSTOM_ROOT_{uuid.uuid4().hex.upper()}"
    names = {"agg": agg, "mark": mark}
    names["cn1"] = _provider(api, "cn1", {"VCPU": 8, "MEMORY_MB": 4096, "DISK_GB": 100},
                             traits=["HW_CPU_X86_AVX2"], aggregates=[agg])
    names["cn2"] = _provider(api, "cn2", {}, traits=[mark], aggregates=[agg])
    for numa in ("numa0", "numa1"):
        names[numa] = _provider(api, numa, {"VCPU": 4, "MEMORY_MB": 2048}, parent=names["cn2"])
    names["ss"] = _provider(api, "ss", {"DISK_GB": 1000},
                            traits=["MISC_SHARES_VIA_AGGREGATE"], aggregates=[agg])
    return names


FLAVOR = "VCPU:1,MEMORY_MB:512,DISK_GB:10"
CN1_ALONE = {"cn1": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 10}}
CN1_SS = {"cn1": {"VCPU": 1, "MEMORY_MB": 512}, "ss": {"DISK_GB": 10}}


def _nested(cpu: str, mem: str) -> Allocation:
    if cpu == mem:
        return {cpu: {"VCPU": 1, "MEMORY_MB": 512}, "ss": {"DISK_GB": 10}}
    return {cpu: {"VCPU": 1}, mem: {"MEMORY_MB": 512}, "ss": {"DISK_GB": 10}}


NESTED = [_nested(c, m) for c in ("numa0", "numa1") for m in ("numa0", "numa1")]

CASES: list[tuple[str, str, list[tuple[str, str]], list[Allocation]]] = [
    ("everything", "latest", [("resources", FLAVOR), ("member_of", "{agg}")],
     [CN1_ALONE, CN1_SS, *NESTED]),
    ("not_nested_aware", "1.28", [("resources", FLAVOR), ("member_of", "{agg}")],
     [CN1_ALONE, CN1_SS, NESTED[0], NESTED[3]]),
    ("required", "latest", [("resources", FLAVOR), ("member_of", "{agg}"),
                            ("required", "HW_CPU_X86_AVX2")], [CN1_ALONE, CN1_SS]),
    ("forbidden", "latest", [("resources", FLAVOR), ("member_of", "{agg}"),
                             ("required", "!HW_CPU_X86_AVX2")], NESTED),
    ("any_of", "latest", [("resources", FLAVOR), ("member_of", "{agg}"),
                          ("required", "in:HW_CPU_X86_AVX2,HW_CPU_X86_SSE")], [CN1_ALONE, CN1_SS]),
    ("root_required", "latest", [("resources", FLAVOR), ("member_of", "{agg}"),
                                 ("root_required", "{mark}")], NESTED),
    ("in_tree", "latest", [("resources", "VCPU:1,MEMORY_MB:512"), ("in_tree", "{numa1}")],
     [{c: {"VCPU": 1}, m: {"MEMORY_MB": 512}} if c != m else {c: {"VCPU": 1, "MEMORY_MB": 512}}
      for c in ("numa0", "numa1") for m in ("numa0", "numa1")]),
    ("isolate", "latest", [("resources1", "VCPU:1"), ("resources2", "VCPU:1"),
                           ("in_tree1", "{cn2}"), ("in_tree2", "{cn2}"),
                           ("group_policy", "isolate")],
     # Same allocations, different mappings (group 1 on numa0 or on numa1).
     [{"numa0": {"VCPU": 1}, "numa1": {"VCPU": 1}}] * 2),
    ("isolate_without_mappings", "1.33", [
        ("resources1", "VCPU:1"), ("resources2", "VCPU:1"), ("in_tree1", "{cn2}"),
        ("in_tree2", "{cn2}"), ("group_policy", "isolate")],
     [{"numa0": {"VCPU": 1}, "numa1": {"VCPU": 1}}]),
    ("group_policy_none", "latest", [("resources1", "VCPU:3"), ("resources2", "VCPU:1"),
                                     ("in_tree1", "{cn2}"), ("in_tree2", "{cn2}"),
                                     ("group_policy", "none")],
     [{"numa0": {"VCPU": 4}}, {"numa0": {"VCPU": 3}, "numa1": {"VCPU": 1}},
      {"numa1": {"VCPU": 3}, "numa0": {"VCPU": 1}}, {"numa1": {"VCPU": 4}}]),
    ("same_subtree", "latest", [("resources_CPU", "VCPU:1"), ("resources_MEM", "MEMORY_MB:512"),
                                ("in_tree_CPU", "{cn2}"), ("same_subtree", "_CPU,_MEM"),
                                ("group_policy", "none")],
     [{"numa0": {"VCPU": 1, "MEMORY_MB": 512}}, {"numa1": {"VCPU": 1, "MEMORY_MB": 512}}]),
    ("resourceless", "latest", [("resources_CPU", "VCPU:1"), ("required_ROOT", "{mark}"),
                                ("same_subtree", "_CPU,_ROOT"), ("group_policy", "none")],
     [{"numa0": {"VCPU": 1}}, {"numa1": {"VCPU": 1}}]),
    ("sharing_only", "latest", [("resources", "DISK_GB:500"), ("member_of", "{agg}")],
     [{"ss": {"DISK_GB": 500}}]),
    ("too_big", "latest", [("resources", "VCPU:9"), ("member_of", "{agg}")], []),
]


def _fill(text: str, names: Names) -> str:
    for key, value in names.items():
        text = text.replace("{" + key + "}", value)
    return text


def _canonical(allocations: list[Allocation], names: Names) -> list[str]:
    return sorted(json.dumps({names.get(rp, rp): res for rp, res in a.items()}, sort_keys=True)
                  for a in allocations)


@pytest.mark.parametrize(("version", "params", "expected"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_candidates(api: httpx.Client, world: Names, version: str,
                    params: list[tuple[str, str]], expected: list[Allocation]) -> None:
    r = api.get("/allocation_candidates",
                params=[(k, _fill(v, world)) for k, v in params],
                headers={"OpenStack-API-Version": f"placement {version}"})
    assert r.status_code == 200, r.text
    got = [{rp: entry["resources"] for rp, entry in req["allocations"].items()}
           for req in r.json()["allocation_requests"]]
    assert _canonical(got, {}) == _canonical(expected, world)
    summaries = r.json()["provider_summaries"]
    for allocation in got:
        assert set(allocation) <= set(summaries)


def test_limit_and_summaries(api: httpx.Client, world: Names) -> None:
    params = {"resources": FLAVOR, "member_of": world["agg"], "limit": "1"}
    body = api.get("/allocation_candidates", params=params).json()
    assert len(body["allocation_requests"]) == 1
    assert set(body["provider_summaries"]) == {world["cn1"]}
    cn1 = body["provider_summaries"][world["cn1"]]
    assert cn1["resources"]["VCPU"] == {"capacity": 8, "used": 0}
    assert cn1["traits"] == ["HW_CPU_X86_AVX2"]
    assert cn1["parent_provider_uuid"] is None
    assert cn1["root_provider_uuid"] == world["cn1"]
    assert body["allocation_requests"][0]["mappings"] == {"": [world["cn1"]]}


def test_nested_summaries_cover_the_tree(api: httpx.Client, world: Names) -> None:
    params = {"resources": "VCPU:1", "in_tree": world["cn2"]}
    summaries = api.get("/allocation_candidates", params=params).json()["provider_summaries"]
    assert set(summaries) == {world["cn2"], world["numa0"], world["numa1"]}
    assert summaries[world["numa0"]]["parent_provider_uuid"] == world["cn2"]
    assert summaries[world["cn2"]]["resources"] == {}


@pytest.mark.parametrize(("version", "check"), [
    ("1.11", lambda req: isinstance(req["allocations"], list)),
    ("1.33", lambda req: "mappings" not in req),
    ("1.34", lambda req: "mappings" in req),
])
def test_request_formats(api: httpx.Client, world: Names, version: str, check: Any) -> None:
    r = api.get("/allocation_candidates", params={"resources": "VCPU:1"},
                headers={"OpenStack-API-Version": f"placement {version}"})
    assert r.status_code == 200, r.text
    assert all(check(req) for req in r.json()["allocation_requests"])


@pytest.mark.parametrize(("version", "params", "status"), [
    ("1.9", {"resources": "VCPU:1"}, 404),
    ("latest", {}, 400),
    ("latest", {"resources": "VCPU:0"}, 400),
    ("latest", {"resources": "NOPE:1"}, 400),
    ("latest", {"resources": "VCPU:1", "required": "CUSTOM_NOPE_NOPE"}, 400),
    ("latest", {"resources1": "VCPU:1", "resources2": "VCPU:1"}, 400),
    ("latest", {"resources": "VCPU:1", "limit": "0"}, 400),
    ("1.15", {"resources": "VCPU:1", "limit": "1"}, 400),
    ("1.24", {"resources1": "VCPU:1"}, 400),
    ("1.32", {"resources_X": "VCPU:1"}, 400),
    ("latest", {"resources": "VCPU:1", "required1": "HW_CPU_X86_AVX2"}, 400),
    ("latest", {"resources": "VCPU:1", "same_subtree": "_NOPE"}, 400),
])
def test_bad_requests(api: httpx.Client, version: str, params: dict[str, str],
                      status: int) -> None:
    r = api.get("/allocation_candidates", params=params,
                headers={"OpenStack-API-Version": f"placement {version}"})
    assert r.status_code == status, r.text
