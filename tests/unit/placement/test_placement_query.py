"""The query-string syntaxes shared by listings and allocation candidates."""

from __future__ import annotations

import uuid

import pytest

from common.errors import BadRequest
from placement.api import candidate_query, query
from placement.microversion import Version

A, B = uuid.uuid4(), uuid.uuid4()
LATEST = Version(1, 39)


def test_resources() -> None:
    assert query.parse_resources("VCPU:2,MEMORY_MB:1024") == {"VCPU": 2, "MEMORY_MB": 1024}


@pytest.mark.parametrize("bad", ["VCPU", "VCPU:", "VCPU:x", "VCPU:0", "VCPU:1,VCPU:2", ":1"])
def test_bad_resources(bad: str) -> None:
    with pytest.raises(BadRequest):
        query.parse_resources(bad)


@pytest.mark.parametrize(("values", "version", "required", "forbidden"), [
    (["A,B"], LATEST, [{"A"}, {"B"}], set()),
    (["A,!B"], LATEST, [{"A"}], {"B"}),
    (["in:A,B", "C"], LATEST, [{"A", "B"}, {"C"}], set()),
    (["X", "A"], Version(1, 38), [{"A"}], set()),
])
def test_required(values: list[str], version: Version, required: list[set[str]],
                  forbidden: set[str]) -> None:
    got_required, got_forbidden = query.parse_required(values, version)
    assert [set(s) for s in got_required] == required
    assert got_forbidden == forbidden


@pytest.mark.parametrize(("values", "version"), [
    (["A,!A"], LATEST), (["!A"], Version(1, 21)), (["in:A,!B"], LATEST), (["A,,B"], LATEST),
])
def test_bad_required(values: list[str], version: Version) -> None:
    with pytest.raises(BadRequest):
        query.parse_required(values, version)


def test_member_of_forms() -> None:
    member_of, forbidden = query.parse_member_of(
        [f"in:{A},{B}", str(A), f"!{B}"], LATEST
    )
    assert member_of == [frozenset({A, B}), frozenset({A})]
    assert forbidden == {B}


@pytest.mark.parametrize(("values", "version"), [
    ([str(A), str(B)], Version(1, 23)),
    ([f"!{A}"], Version(1, 31)),
    ([f"in:{A},!{B}"], LATEST),
    ([f"{A},{B}"], LATEST),
    (["nope"], LATEST),
])
def test_bad_member_of(values: list[str], version: Version) -> None:
    with pytest.raises(BadRequest):
        query.parse_member_of(values, version)


def test_candidate_groups() -> None:
    request = candidate_query.parse([
        ("resources", "VCPU:1"), ("resources_NIC", "SRIOV_NET_VF:1"),
        ("required_NIC", "CUSTOM_PHYSNET1"), ("group_policy", "isolate"), ("limit", "5"),
        ("root_required", "!CUSTOM_FORBIDDEN"),
    ], LATEST)
    assert [g.suffix for g in request.groups] == ["", "_NIC"]
    assert request.groups[1].required == [frozenset({"CUSTOM_PHYSNET1"})]
    assert request.limit == 5 and request.group_policy == "isolate"
    assert request.root_forbidden == {"CUSTOM_FORBIDDEN"}


@pytest.mark.parametrize(("items", "version"), [
    ([("resources1", "VCPU:1"), ("resources2", "VCPU:1")], LATEST),
    ([("resources", "VCPU:1"), ("group_policy", "sometimes")], LATEST),
    ([("resources_X", "VCPU:1")], Version(1, 32)),
    ([("resources", "VCPU:1"), ("required1", "A")], LATEST),
    ([("resources", "VCPU:1"), ("required1", "A"), ("same_subtree", "1")], Version(1, 35)),
    ([("required", "A")], LATEST),
])
def test_bad_candidate_queries(items: list[tuple[str, str]], version: Version) -> None:
    with pytest.raises(BadRequest):
        candidate_query.parse(items, version)
