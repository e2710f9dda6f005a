"""GET /allocation_candidates (microversion 1.10+)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from common.routes import Route
from placement.api import candidate_json, candidate_query, query
from placement.api.deps import SessionDep, SnapshotsDep, VersionDep
from placement.api.views import json_response
from placement.candidates import Candidate, Candidates, find_candidates
from placement.candidates.snapshot import consistent_reads
from placement.candidates.world import World
from placement.microversion import Version

DICT_FORMAT_SINCE = Version(1, 12)
TRAITS_SINCE = Version(1, 17)
ALL_RESOURCES_SINCE = Version(1, 27)
TREE_UUIDS_SINCE = Version(1, 29)
MAPPINGS_SINCE = Version(1, 34)


def allocation_candidates(
    request: Request, session: SessionDep, version: VersionDep, snapshots: SnapshotsDep
) -> Response:
    wanted = candidate_query.parse(query.params(request), version)
    if version >= MAPPINGS_SINCE:
        # The same question over unchanged providers and allocations has the same
        # answer: schedulers ask it in bursts, between which nothing may have moved.
        consistent_reads(session)
        snap = snapshots.current(session)
        key = snapshots.answer_key(
            session, snap, (str(version), tuple(sorted(request.query_params.multi_items())))
        ) if request.app.state.settings.placement.answer_cache else None
        body = snapshots.answer(key)
        if body is None:
            body = candidate_json.body(find_candidates(session, wanted, snapshots, snap))
            snapshots.keep(key, body)
        return Response(body, media_type="application/json")
    found = find_candidates(session, wanted, snapshots)
    requested = {name for group in wanted.groups for name in group.resources}
    # Bodies here get large: skip FastAPI's generic (slow) encoding of plain data.
    return json_response({
        "allocation_requests": _requests(found, version),
        "provider_summaries": _summaries(found, requested, version),
    })


def _requests(found: Candidates, version: Version) -> list[dict[str, Any]]:
    views: list[dict[str, Any]] = []
    seen: set[str] = set()
    for candidate in found.candidates:
        view = _request(candidate, version, found.world)
        if version < MAPPINGS_SINCE:
            # Without mappings, candidates differing only in them look the same.
            key = json.dumps(view, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
        views.append(view)
    return views


def _request(candidate: Candidate, version: Version, world: World) -> dict[str, Any]:
    uuid_of = world.uuid_of
    if version < DICT_FORMAT_SINCE:
        return {"allocations": [
            {"resource_provider": {"uuid": uuid_of[rp]}, "resources": resources}
            for rp, resources in candidate.allocations.items()
        ]}
    view: dict[str, Any] = {"allocations": {
        uuid_of[rp]: {"resources": resources}
        for rp, resources in candidate.allocations.items()
    }}
    if version >= MAPPINGS_SINCE:
        view["mappings"] = {
            suffix: [uuid_of[rp] for rp in rps] for suffix, rps in candidate.mappings.items()
        }
    return view


def _summaries(found: Candidates, requested: set[str], version: Version) -> dict[str, Any]:
    world = found.world
    uuid_of, parent_of, root_of, traits = (
        world.uuid_of, world.parent_of, world.root_of, world.traits)
    all_resources = version >= ALL_RESOURCES_SINCE
    with_traits, with_tree = version >= TRAITS_SINCE, version >= TREE_UUIDS_SINCE
    summaries: dict[str, Any] = {}
    for rp in found.summarised:
        rooms = world.room[rp]
        summary: dict[str, Any] = {"resources": {
            name: {"capacity": room.capacity, "used": room.used}
            for name, room in sorted(rooms.items())
            if all_resources or name in requested
        }}
        if with_traits:
            summary["traits"] = sorted(traits.get(rp, ()))
        if with_tree:
            parent = parent_of.get(rp)
            summary["parent_provider_uuid"] = uuid_of[parent] if parent else None
            summary["root_provider_uuid"] = uuid_of[root_of[rp]]
        summaries[uuid_of[rp]] = summary
    return summaries


ROUTES: list[Route] = [
    Route("GET", "/allocation_candidates", allocation_candidates,
          "placement:allocation_candidates:list", query=None, min_version="1.10"),
]
