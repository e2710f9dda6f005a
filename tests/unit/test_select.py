"""The scheduler's pure selection: filters count rejections, weighers spread."""

from __future__ import annotations

import uuid

from common.messages import FlavorPayload, GroupPayload, RequestSpec
from scheduler.filters import default_filters
from scheduler.manager import explain_capacity
from scheduler.select import Candidate, HostState, Weigher, select_hosts
from scheduler.weighers import (
    CpuWeigher,
    RamWeigher,
    SoftAffinityWeigher,
    SoftAntiAffinityWeigher,
)

SPEC = RequestSpec(instance_uuid=uuid.uuid4(), project_id="p", user_id="u",
                   flavor=FlavorPayload(flavorid="1", name="f", vcpus=1, memory_mb=512,
                                        root_gb=1))


def _cand(host: str, free_ram: float, free_cpu: float = 8, up: bool = True,
          disabled: bool = False) -> Candidate:
    state = HostState(host, host, uuid.uuid4(), up, disabled,
                      {"MEMORY_MB": free_ram, "VCPU": free_cpu},
                      {"MEMORY_MB": 16384, "VCPU": 16})
    return Candidate(state, {str(state.rp_uuid): {"VCPU": 1}})


def test_most_free_host_comes_first() -> None:
    sel = select_hosts(SPEC, [_cand("a", 1000), _cand("b", 9000), _cand("c", 5000)],
                       default_filters(), [RamWeigher(), CpuWeigher()])
    assert [c.state.host for c in sel.ordered] == ["b", "c", "a"]


def test_filters_count_the_hosts_they_remove() -> None:
    spec = SPEC.model_copy(update={"ignore_hosts": ["c"]})
    sel = select_hosts(spec, [_cand("a", 1, up=False), _cand("b", 1, disabled=True),
                              _cand("c", 1), _cand("d", 1)],
                       default_filters(), [RamWeigher()])
    assert [c.state.host for c in sel.ordered] == ["d"]
    assert {k: v for k, v in sel.rejected.items() if v} == {"ComputeFilter": 2,
                                                            "RetryFilter": 1}
    assert sel.explain() == ("2 hosts removed by ComputeFilter (compute service down or "
                             "disabled), 1 host removed by RetryFilter (build failed there "
                             "before)")


def test_unknown_availability_zone_is_filtered() -> None:
    spec = SPEC.model_copy(update={"availability_zone": "elsewhere"})
    sel = select_hosts(spec, [_cand("a", 1)], default_filters(), [])
    assert sel.ordered == []
    assert sel.rejected["AvailabilityZoneFilter"] == 1


def test_explain_names_the_missing_resource() -> None:
    report = [{"uuid": "x", "name": f"h{i}", "free": {"MEMORY_MB": 8192, "VCPU": 16}}
              for i in range(4)]
    text = explain_capacity({"MEMORY_MB": 65536, "VCPU": 1}, report)
    assert "MEMORY_MB: need 65536, largest free 8192 on 4 hosts" in text
    assert "VCPU" not in text


def test_explain_when_resources_only_fit_separately() -> None:
    report = [{"uuid": "a", "name": "a", "free": {"MEMORY_MB": 8192, "VCPU": 0}},
              {"uuid": "b", "name": "b", "free": {"MEMORY_MB": 0, "VCPU": 4}}]
    text = explain_capacity({"MEMORY_MB": 4096, "VCPU": 2}, report)
    assert "No single host among 2" in text


def test_explain_without_hosts() -> None:
    assert "no compute hosts" in explain_capacity({"VCPU": 1}, [])


def _group(policy: str, max_per_host: int | None = None) -> GroupPayload:
    return GroupPayload(id=uuid.uuid4(), policy=policy, members=[uuid.uuid4()],
                        max_server_per_host=max_per_host)


def _hosts(spec: RequestSpec, weighers: list[Weigher] | None = None) -> list[str]:
    cands = [_cand("a", 100), _cand("b", 100), _cand("c", 100)]
    sel = select_hosts(spec, cands, default_filters(), weighers or [])
    return [c.state.host for c in sel.ordered]


def test_anti_affinity_keeps_members_apart() -> None:
    spec = SPEC.model_copy(update={"group": _group("anti-affinity"),
                                   "group_hosts": {"a": 1, "b": 1}})
    assert _hosts(spec) == ["c"]


def test_anti_affinity_honours_max_server_per_host() -> None:
    spec = SPEC.model_copy(update={"group": _group("anti-affinity", 2),
                                   "group_hosts": {"a": 2, "b": 1}})
    assert _hosts(spec) == ["b", "c"]


def test_affinity_follows_the_first_member() -> None:
    spec = SPEC.model_copy(update={"group": _group("affinity"), "group_hosts": {"b": 1}})
    assert _hosts(spec) == ["b"]


def test_affinity_without_placed_members_allows_any_host() -> None:
    spec = SPEC.model_copy(update={"group": _group("affinity")})
    assert _hosts(spec) == ["a", "b", "c"]


def test_soft_policies_only_weigh() -> None:
    soft_anti = SPEC.model_copy(update={"group": _group("soft-anti-affinity"),
                                        "group_hosts": {"a": 3, "b": 1}})
    assert _hosts(soft_anti, [SoftAntiAffinityWeigher()]) == ["c", "b", "a"]
    soft = SPEC.model_copy(update={"group": _group("soft-affinity"),
                                   "group_hosts": {"c": 2, "b": 1}})
    assert _hosts(soft, [SoftAffinityWeigher()]) == ["c", "b", "a"]


def test_same_and_different_host_hints() -> None:
    same = SPEC.model_copy(update={"same_host": [uuid.uuid4()], "same_hosts": ["b"]})
    assert _hosts(same) == ["b"]
    different = SPEC.model_copy(update={"different_host": [uuid.uuid4()],
                                        "different_hosts": ["a"]})
    assert _hosts(different) == ["b", "c"]


def test_hosts_of_equal_weight_follow_the_tie_break_and_weight_still_wins() -> None:
    cands = [_cand("a", 5000), _cand("b", 5000), _cand("c", 5000), _cand("d", 9000)]
    by_name = select_hosts(SPEC, cands, default_filters(), [RamWeigher()])
    assert [c.state.host for c in by_name.ordered] == ["d", "a", "b", "c"]
    reverse = {"a": "3", "b": "2", "c": "1"}
    salted = select_hosts(SPEC, cands, default_filters(), [RamWeigher()],
                          tie_break=lambda host: reverse.get(host, "0"))
    assert [c.state.host for c in salted.ordered] == ["d", "c", "b", "a"]
