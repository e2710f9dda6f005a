"""Joining per-group provider matches into candidates, without a database."""

from __future__ import annotations

from placement.candidates import combine
from placement.candidates.request import Candidate, CandidateRequest, RequestGroup
from placement.candidates.search import GroupMatches
from placement.candidates.world import Room, World

ROOT, NUMA0, NUMA1, SHARED = 1, 2, 3, 4


def _world() -> World:
    world = World()
    for rp, parent in ((ROOT, None), (NUMA0, ROOT), (NUMA1, ROOT), (SHARED, None)):
        world.parent_of[rp] = parent
        world.root_of[rp] = ROOT if parent else rp
    for numa in (NUMA0, NUMA1):
        world.room[numa]["VCPU"] = Room(capacity=4, used=2, max_unit=4)
    world.room[SHARED]["DISK_GB"] = Room(capacity=100, used=0, max_unit=100)
    world.traits[NUMA1].add("CUSTOM_FAST")
    return world


def _assemble(request: CandidateRequest, matches: list[GroupMatches],
              anchors: dict[int, set[int]] | None = None,
              world: World | None = None) -> list[Candidate]:
    plan = combine.plan(request, matches, anchors or {})
    return list(combine.assemble(plan, plan.roots, world or _world()))


def _allocations(request: CandidateRequest, matches: list[GroupMatches],
                 anchors: dict[int, set[int]] | None = None) -> list[dict[int, dict[str, int]]]:
    return [c.allocations for c in _assemble(request, matches, anchors)]


def test_unnumbered_group_spans_tree_and_sharing_provider() -> None:
    group = RequestGroup(resources={"VCPU": 1, "DISK_GB": 10})
    matches = [GroupMatches(group, {"VCPU": {NUMA0: ROOT, NUMA1: ROOT},
                                    "DISK_GB": {SHARED: SHARED}})]
    got = _allocations(CandidateRequest([group]), matches, anchors={SHARED: {ROOT, SHARED}})
    assert got == [{NUMA0: {"VCPU": 1}, SHARED: {"DISK_GB": 10}},
                   {NUMA1: {"VCPU": 1}, SHARED: {"DISK_GB": 10}}]


def test_unnumbered_required_traits_met_by_the_candidate_together() -> None:
    group = RequestGroup(resources={"VCPU": 1}, required=[frozenset({"CUSTOM_FAST"})])
    matches = [GroupMatches(group, {"VCPU": {NUMA0: ROOT, NUMA1: ROOT}})]
    assert _allocations(CandidateRequest([group]), matches) == [{NUMA1: {"VCPU": 1}}]


def test_merged_groups_respect_capacity() -> None:
    one = RequestGroup("1", resources={"VCPU": 2})
    two = RequestGroup("2", resources={"VCPU": 1})
    matches = [GroupMatches(one, {"VCPU": {NUMA0: ROOT}}),
               GroupMatches(two, {"VCPU": {NUMA0: ROOT, NUMA1: ROOT}})]
    request = CandidateRequest([one, two], group_policy="none")
    # 2 + 1 on NUMA0 would exceed its 2 free VCPUs.
    assert _allocations(request, matches) == [{NUMA0: {"VCPU": 2}, NUMA1: {"VCPU": 1}}]


def test_isolate_keeps_groups_apart() -> None:
    one = RequestGroup("1", resources={"VCPU": 1})
    two = RequestGroup("2", resources={"VCPU": 1})
    both = {"VCPU": {NUMA0: ROOT, NUMA1: ROOT}}
    matches = [GroupMatches(one, both), GroupMatches(two, both)]
    found = _assemble(CandidateRequest([one, two], group_policy="isolate"), matches)
    assert [c.mappings for c in found] == [{"1": [NUMA0], "2": [NUMA1]},
                                           {"1": [NUMA1], "2": [NUMA0]}]


def test_same_subtree_needs_a_common_ancestor_among_the_providers() -> None:
    cpu = RequestGroup("_CPU", resources={"VCPU": 1})
    top = RequestGroup("_TOP")
    matches = [GroupMatches(cpu, {"VCPU": {NUMA0: ROOT, NUMA1: ROOT}}),
               GroupMatches(top, {}, resourceless={NUMA1: ROOT})]
    request = CandidateRequest([cpu, top], group_policy="none",
                               same_subtree=[["_CPU", "_TOP"]])
    assert _allocations(request, matches) == [{NUMA1: {"VCPU": 1}}]


def test_old_microversions_take_one_provider_per_tree() -> None:
    group = RequestGroup(resources={"VCPU": 1, "MEMORY_MB": 1})
    world = _world()
    world.room[NUMA0]["MEMORY_MB"] = Room(capacity=10, used=0, max_unit=10)
    matches = [GroupMatches(group, {"VCPU": {NUMA1: ROOT}, "MEMORY_MB": {NUMA0: ROOT}})]
    assert _assemble(CandidateRequest([group], nested_aware=False), matches, world=world) == []


def test_lone_group_shortcut_matches_the_general_assembly() -> None:
    group = RequestGroup(resources={"VCPU": 1, "DISK_GB": 10},
                         required=[frozenset({"CUSTOM_FAST", "CUSTOM_SLOW"})])
    world = _world()
    world.room[ROOT]["DISK_GB"] = Room(capacity=100, used=0, max_unit=100)
    world.room[NUMA0]["DISK_GB"] = Room(capacity=100, used=0, max_unit=100)
    matches = [GroupMatches(group, {"VCPU": {NUMA0: ROOT, NUMA1: ROOT},
                                    "DISK_GB": {ROOT: ROOT, NUMA0: ROOT}})]
    request = CandidateRequest([group])
    lone = combine.plan(request, matches, {})
    general = combine.plan(request, matches, {})
    general.dedupe = True  # takes the general path
    got = list(combine.assemble(lone, lone.roots, world))
    assert got == list(combine.assemble(general, general.roots, world))
    assert [c.allocations for c in got] == [
        {NUMA1: {"VCPU": 1}, ROOT: {"DISK_GB": 10}},
        {NUMA1: {"VCPU": 1}, NUMA0: {"DISK_GB": 10}},
    ]
