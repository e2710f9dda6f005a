"""Allocation candidates from a worker's kept snapshot follow writes made elsewhere.

Two placement servers share one database, as forked workers do: one answers
candidate queries (and keeps what it learnt of the providers), the other takes
every write. Each answer must reflect every write committed before it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from common.db import create_engine, read_only, session_factory, transaction
from placement.api import candidate_json, candidate_query
from placement.api import candidates as candidates_api
from placement.app import create_app
from placement.candidates import find_candidates
from placement.candidates.snapshot import Snapshot, SnapshotCache, consistent_reads
from placement.microversion import Version
from tests.functional.placement.conftest import ADMIN, LATEST, placement_settings
from tests.httpserver import serve


@pytest.fixture(scope="module")
def writer_url(placement_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = placement_settings(tmp_path_factory.mktemp("writer"), placement_db)
    with serve(create_app(settings)) as base:
        yield base


@pytest.fixture
def writer(writer_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=writer_url, timeout=60,
                      headers={"X-Auth-Token": ADMIN, "OpenStack-API-Version": LATEST}) as client:
        yield client


def _ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def _generation(client: httpx.Client, rp: str) -> int:
    generation: int = _ok(client.get(f"/resource_providers/{rp}"))["generation"]
    return generation


def _provider(client: httpx.Client, inventories: dict[str, int], parent: str | None = None) -> str:
    rp = str(uuid.uuid4())
    body: dict[str, Any] = {"name": f"snap-{rp}", "uuid": rp}
    if parent:
        body["parent_provider_uuid"] = parent
    _ok(client.post("/resource_providers", json=body))
    if inventories:
        _ok(client.put(f"/resource_providers/{rp}/inventories", json={
            "resource_provider_generation": 0,
            "inventories": {rc: {"total": total} for rc, total in inventories.items()}}))
    return rp


def _found(reader: httpx.Client, tree: str, resources: str,
           **params: str) -> list[dict[str, Any]]:
    body = _ok(reader.get("/allocation_candidates",
                          params={"resources": resources, "in_tree": tree, **params}))
    return [
        {"allocations": {rp: a["resources"] for rp, a in req["allocations"].items()},
         "summaries": body["provider_summaries"]}
        for req in body["allocation_requests"]
    ]


def test_candidates_follow_capacity_usage_traits_and_aggregates(
    api: httpx.Client, writer: httpx.Client
) -> None:
    rp = _provider(writer, {"VCPU": 4, "MEMORY_MB": 1024})
    assert len(_found(api, rp, "VCPU:4")) == 1

    _ok(writer.put(f"/resource_providers/{rp}/inventories/VCPU", json={
        "resource_provider_generation": _generation(writer, rp), "total": 2}))
    assert _found(api, rp, "VCPU:4") == []
    assert len(_found(api, rp, "VCPU:2")) == 1

    consumer = str(uuid.uuid4())
    _ok(writer.put(f"/allocations/{consumer}", json={
        "allocations": {rp: {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u",
        "consumer_type": "INSTANCE",
        "consumer_generation": None}))
    assert _found(api, rp, "VCPU:2") == []
    [one] = _found(api, rp, "VCPU:1")
    assert one["summaries"][rp]["resources"]["VCPU"] == {"capacity": 2, "used": 1}

    _ok(writer.put("/traits/CUSTOM_SNAPSHOT_FAST"))
    assert _ok(api.get("/allocation_candidates", params={
        "resources": "VCPU:1", "required": "CUSTOM_SNAPSHOT_FAST"}))["allocation_requests"] == []
    _ok(writer.put(f"/resource_providers/{rp}/traits", json={
        "traits": ["CUSTOM_SNAPSHOT_FAST"],
        "resource_provider_generation": _generation(writer, rp)}))
    assert len(_found(api, rp, "VCPU:1", required="CUSTOM_SNAPSHOT_FAST")) == 1

    agg = str(uuid.uuid4())
    assert _found(api, rp, "VCPU:1", member_of=agg) == []
    _ok(writer.put(f"/resource_providers/{rp}/aggregates", json={
        "aggregates": [agg], "resource_provider_generation": _generation(writer, rp)}))
    assert len(_found(api, rp, "VCPU:1", member_of=agg)) == 1

    _ok(writer.delete(f"/allocations/{consumer}"))
    assert len(_found(api, rp, "VCPU:2")) == 1


def test_candidates_follow_tree_changes_and_deletions(
    api: httpx.Client, writer: httpx.Client
) -> None:
    child = _provider(writer, {"VCPU": 2})
    assert len(_found(api, child, "VCPU:1")) == 1
    top = _provider(writer, {"DISK_GB": 100})
    _ok(writer.put(f"/resource_providers/{child}", json={
        "name": f"snap-{child}", "parent_provider_uuid": top}))
    [both] = _found(api, top, "VCPU:1,DISK_GB:10")
    assert both["allocations"] == {child: {"VCPU": 1}, top: {"DISK_GB": 10}}
    assert both["summaries"][child]["root_provider_uuid"] == top

    _ok(writer.delete(f"/resource_providers/{child}"))
    assert _found(api, top, "VCPU:1,DISK_GB:10") == []
    assert len(_found(api, top, "DISK_GB:10")) == 1


def test_candidates_follow_renamed_classes(api: httpx.Client, writer: httpx.Client) -> None:
    old, new = (f"CUSTOM_SNAP_{uuid.uuid4().hex[:8].upper()}" for _ in range(2))
    _ok(writer.put(f"/resource_classes/{old}"))
    rp = _provider(writer, {old: 5})
    assert len(_found(api, rp, f"{old}:1")) == 1
    # Before microversion 1.7 a PUT renames a custom class.
    _ok(writer.put(f"/resource_classes/{old}", json={"name": new},
                   headers={"OpenStack-API-Version": "placement 1.6"}))
    [one] = _found(api, rp, f"{new}:1")
    assert one["summaries"][rp]["resources"] == {new: {"capacity": 5, "used": 0}}
    r = api.get("/allocation_candidates", params={"resources": f"{old}:1", "in_tree": rp})
    assert r.status_code == 400, r.text


def test_snapshot_is_kept_until_something_changes_then_read_again_in_part(
    placement_db: str, writer: httpx.Client
) -> None:
    kept, moved = _provider(writer, {"VCPU": 3}), _provider(writer, {"VCPU": 3})
    engine = create_engine(placement_db)
    readers = read_only(session_factory(engine))
    cache = SnapshotCache()

    def current() -> Snapshot:
        with transaction(readers) as session:
            consistent_reads(session)
            return cache.current(session)

    try:
        first = current()
        assert current() is first
        _ok(writer.put(f"/resource_providers/{moved}/inventories/VCPU", json={
            "resource_provider_generation": _generation(writer, moved), "total": 1}))
        second = current()
        assert second is not first
        ids = {snapshot.uuid_of[rp]: rp for snapshot in (second,) for rp in snapshot.uuid_of}
        assert second.facts[ids[kept]] is first.facts[ids[kept]]
        [inventory] = second.facts[ids[moved]].inventory.values()
        assert inventory.capacity == 1
        # A claim moves a generation and nothing else: the lookups are kept.
        _ok(writer.put(f"/allocations/{uuid.uuid4()}", json={
            "allocations": {kept: {"resources": {"VCPU": 1}}}, "project_id": "p",
            "user_id": "u", "consumer_type": "INSTANCE", "consumer_generation": None}))
        third = current()
        assert third is not second
        assert third.facts[ids[kept]].generation == second.facts[ids[kept]].generation + 1
        assert third.by_class is second.by_class
    finally:
        engine.dispose()


@pytest.mark.parametrize("params", [
    [("resources", "VCPU:1,MEMORY_MB:64")],
    [("resources", "VCPU:1"), ("limit", "2")],
    [("resources", "VCPU:1,DISK_GB:5")],
    [("resources1", "VCPU:1"), ("resources2", "MEMORY_MB:64"), ("group_policy", "isolate")],
    [("resources", "VCPU:1"), ("required", "CUSTOM_SNAP_JSON")],
])
def test_json_written_directly_matches_the_generic_views(
    placement_db: str, writer: httpx.Client, params: list[tuple[str, str]]
) -> None:
    agg = str(uuid.uuid4())
    top = _provider(writer, {"DISK_GB": 50})
    for _ in range(2):
        _provider(writer, {"VCPU": 4, "MEMORY_MB": 512}, parent=top)
    flat = _provider(writer, {"VCPU": 8, "MEMORY_MB": 1024, "DISK_GB": 100})
    _ok(writer.put("/traits/CUSTOM_SNAP_JSON"))
    _ok(writer.put(f"/resource_providers/{flat}/traits", json={
        "traits": ["CUSTOM_SNAP_JSON"], "resource_provider_generation": 1}))
    _ok(writer.put(f"/resource_providers/{flat}/aggregates", json={
        "aggregates": [agg], "resource_provider_generation": 2}))
    _ok(writer.put(f"/allocations/{uuid.uuid4()}", json={
        "allocations": {flat: {"resources": {"VCPU": 3}}}, "project_id": "p",
        "user_id": "u", "consumer_type": "INSTANCE", "consumer_generation": None}))
    version = Version(1, 39)
    wanted = candidate_query.parse(params, version)
    requested = {name for group in wanted.groups for name in group.resources}
    engine = create_engine(placement_db)
    try:
        with transaction(read_only(session_factory(engine))) as session:
            found = find_candidates(session, wanted, SnapshotCache())
            written = json.loads(candidate_json.body(found))
            generic = {"allocation_requests": candidates_api._requests(found, version),
                       "provider_summaries": candidates_api._summaries(found, requested,
                                                                       version)}
    finally:
        engine.dispose()
    assert written["allocation_requests"]
    assert written == generic


def test_a_limit_searches_trees_a_range_at_a_time_with_their_usage(
    api: httpx.Client, writer: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a limit, trees are matched a range of roots at a time and each range's usage
    is read by its roots: full providers in a range are never offered, and the answer is
    the unlimited answer's first ``limit`` candidates."""
    import placement.candidates

    monkeypatch.setattr(placement.candidates, "WINDOW", 2)
    trait = f"CUSTOM_WINDOW_{uuid.uuid4().hex[:8].upper()}"
    _ok(writer.put(f"/traits/{trait}"))
    providers = [_provider(writer, {"VCPU": 2}) for _ in range(6)]
    for rp in providers:
        _ok(writer.put(f"/resource_providers/{rp}/traits", json={
            "traits": [trait], "resource_provider_generation": 1}))
    full = providers[:3:2]
    for rp in full:
        _ok(writer.put(f"/allocations/{uuid.uuid4()}", json={
            "allocations": {rp: {"resources": {"VCPU": 2}}}, "project_id": "p",
            "user_id": "u", "consumer_type": "INSTANCE", "consumer_generation": None}))

    def offered(**params: str) -> list[str]:
        body = _ok(api.get("/allocation_candidates", params={
            "resources": "VCPU:1", "required": trait, **params}))
        return [rp for req in body["allocation_requests"] for rp in req["allocations"]]

    everything = offered()
    assert sorted(everything) == sorted(set(providers) - set(full))
    assert offered(limit="3") == everything[:3]
    assert offered(limit="1") == everything[:1]


def test_plain_requests_reuse_their_matches_and_drop_what_usage_fills(
    api: httpx.Client, writer: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request of one unnumbered group with resources only matches the empty
    providers once per snapshot; each answer still leaves out the providers its usage
    fills, exactly as matching everything afresh does, with or without a limit."""
    from placement.candidates import reuse

    tag = uuid.uuid4().hex[:8].upper()
    a, b = f"CUSTOM_A_{tag}", f"CUSTOM_B_{tag}"
    for name in (a, b):
        _ok(writer.put(f"/resource_classes/{name}"))
    flats = [_provider(writer, {a: 4, b: 4}) for _ in range(3)]
    root = _provider(writer, {b: 8})
    children = [_provider(writer, {a: 4}, parent=root) for _ in range(2)]
    last = _provider(writer, {a: 4, b: 4})
    reused: list[bool] = []
    original = reuse.matches

    def spy(*args: Any, **kwargs: Any) -> Any:
        found = original(*args, **kwargs)
        reused.append(found is not None)
        return found

    monkeypatch.setattr(reuse, "matches", spy)

    def answer(**params: str) -> Any:
        return _ok(api.get("/allocation_candidates",
                           params={"resources": f"{a}:2,{b}:1", **params}))

    def afresh(**params: str) -> Any:
        with monkeypatch.context() as patch:
            patch.setattr(reuse, "plain_group", lambda *_: None)
            return answer(**params)

    def fill(rp: str, resources: dict[str, int]) -> None:
        _ok(writer.put(f"/allocations/{uuid.uuid4()}", json={
            "allocations": {rp: {"resources": resources}}, "project_id": "p",
            "user_id": "u", "consumer_type": "INSTANCE", "consumer_generation": None}))

    def check(expected: int) -> None:
        whole = answer()
        assert len(whole["allocation_requests"]) == expected
        assert whole == afresh()
        for limit in ("1", "2", "4", "50"):
            limited = answer(limit=limit)
            assert limited == afresh(limit=limit)
            assert limited["allocation_requests"] == (
                whole["allocation_requests"][:int(limit)])

    # Every flat provider, and each child with the root's B.
    check(6)
    fill(children[0], {a: 3})
    check(5)
    fill(children[1], {a: 3})
    check(4)
    fill(flats[1], {b: 4})
    check(3)
    fill(last, {a: 1, b: 2})
    check(3)
    assert reused and all(reused)
