"""The allocation candidates body written straight to JSON text (microversion 1.34+).

A body for 1000 providers holds ~10^5 small values. Building them as dicts and lists
for an encoder cost more than the search itself; here each provider's unchanging
parts (its uuid, and its summary but the usage figures) are encoded once per snapshot
and the rest is joined as text. Every string written comes from ``orjson.dumps``, so
it is escaped whatever the names hold.
"""

from __future__ import annotations

import orjson

from placement.candidates import Candidate, Candidates
from placement.candidates.snapshot import Snapshot

# Per provider: its summary's classes (class id, '"NAME":{"capacity":N,"used":') in name
# order, the summary's end (traits and tree), and the whole entry when nothing is used.
_Static = tuple[list[tuple[int, str]], str, str]


def body(found: Candidates) -> bytes:
    """The whole answer: allocation requests with mappings, summaries of every class."""
    snap = found.snapshot
    found.rooms.check_read(found.summarised)
    uuids: dict[int, str] = snap.derived.get("candidate_json.uuids") or snap.derived.setdefault(
        "candidate_json.uuids", {rp: _text(uuid) for rp, uuid in snap.uuid_of.items()})
    requests = ",".join(_requests(found, uuids))
    summaries = ",".join(_summaries(found, uuids))
    return f'{{"allocation_requests":[{requests}],"provider_summaries":{{{summaries}}}}}'.encode()


def _requests(found: Candidates, uuids: dict[int, str]) -> list[str]:
    """Each candidate's text; those of kept blocks encoded once per block."""
    if not found.blocks:
        return _Encoder(uuids).encode(found.candidates)
    encoder = _Encoder(uuids)
    candidates = found.candidates
    parts: list[str] = []
    done = 0
    for start, block in found.blocks:
        if done < start:
            parts += encoder.encode(candidates[done:start])
        texts: list[str] | None = block.derived.get(_BLOCK_KEY)
        if texts is None:
            texts = block.derived[_BLOCK_KEY] = encoder.encode(block.candidates)
        count = min(len(texts), len(candidates) - start)
        parts += texts if count == len(texts) else texts[:count]
        done = start + count
    parts += encoder.encode(candidates[done:])
    return parts


# Where a block keeps its candidates' texts.
_BLOCK_KEY = "candidate_json.requests"


class _Encoder:
    """Candidates' texts, each distinct piece encoded once."""

    def __init__(self, uuids: dict[int, str]) -> None:
        self.uuids = uuids
        # Amounts dicts repeat across candidates (often the very same dict): encode each
        # distinct one once.
        self.amounts: dict[tuple[tuple[str, int], ...], str] = {}
        self.same: dict[int, tuple[dict[str, int], str]] = {}
        # (amounts, suffix) -> the text between the two uuids of a one-provider
        # candidate; the amounts dict is kept alongside, so its id is not reused.
        self.middles: dict[tuple[int, str], tuple[dict[str, int], str]] = {}
        self.suffixes: dict[str, str] = {}

    def encode(self, candidates: list[Candidate]) -> list[str]:
        uuids, middles = self.uuids, self.middles
        amounts, same, suffixes = self.amounts, self.same, self.suffixes
        parts: list[str] = []
        append = parts.append
        for allocations, mappings in candidates:
            if len(allocations) == 1 and len(mappings) == 1:
                [(rp, resources)] = allocations.items()
                [(suffix, rps)] = mappings.items()
                if rps == [rp]:
                    # The most common shape, one provider serving one group.
                    known = middles.get((id(resources), suffix))
                    if known is not None and known[0] is resources:
                        middle = known[1]
                    else:
                        middle = (f':{{"resources":{_text(resources)}}}}},"mappings":'
                                  f'{{{_text(suffix)}:[')
                        middles[id(resources), suffix] = (resources, middle)
                    uuid = uuids[rp]
                    append(f'{{"allocations":{{{uuid}{middle}{uuid}]}}}}')
                    continue
            append(_request(allocations, mappings, uuids, amounts, same, suffixes))
        return parts


def _request(
    allocations: dict[int, dict[str, int]], mappings: dict[str, list[int]],
    uuids: dict[int, str], amounts: dict[tuple[tuple[str, int], ...], str],
    same: dict[int, tuple[dict[str, int], str]], suffixes: dict[str, str],
) -> str:
    held: list[str] = []
    for rp, resources in allocations.items():
        # By identity first (the dict is kept alongside, so its id is not reused).
        known = same.get(id(resources))
        if known is not None and known[0] is resources:
            text = known[1]
        else:
            key = tuple(resources.items())
            encoded = amounts.get(key)
            if encoded is None:
                encoded = amounts[key] = f':{{"resources":{_text(resources)}}}'
            text = encoded
            same[id(resources)] = (resources, text)
        held.append(uuids[rp] + text)
    mapped: list[str] = []
    for suffix, rps in mappings.items():
        name = suffixes.get(suffix)
        if name is None:
            name = suffixes[suffix] = _text(suffix)
        mapped.append(f'{name}:[{",".join([uuids[rp] for rp in rps])}]')
    return f'{{"allocations":{{{",".join(held)}}},"mappings":{{{",".join(mapped)}}}}}'


def _summaries(found: Candidates, uuids: dict[int, str]) -> list[str]:
    snap, usage = found.snapshot, found.rooms.usage
    statics: dict[int, _Static] = snap.derived.setdefault("candidate_json.summaries", {})
    # Most providers have nothing allocated: their summary is the same text every time.
    busy: set[int] = set().union(*usage.values())
    parts: list[str] = []
    append = parts.append
    for rp in found.summarised:
        static = statics.get(rp)
        if static is None:
            static = statics[rp] = _static(snap, rp)
        classes, tail, idle = static
        if rp not in busy:
            append(idle)
            continue
        resources = ",".join([
            f"{head}{usage.get(class_id, {}).get(rp, 0)}}}" for class_id, head in classes
        ])
        append(f'{uuids[rp]}:{{"resources":{{{resources}}}{tail}')
    return parts


def _static(snap: Snapshot, rp: int) -> _Static:
    names = snap.names.classes
    facts = snap.facts[rp]
    classes = sorted(
        (names[class_id], class_id, inv.capacity) for class_id, inv in facts.inventory.items()
    )
    parent = snap.parent_of.get(rp)
    # Oldest trait first (by id: standard traits, then custom ones as created), as
    # upstream lists them.
    trait_ids = snap.names.traits
    tail = (
        f',"traits":{_text(sorted(facts.traits, key=lambda t: (trait_ids.get(t, 0), t)))}'
        f',"parent_provider_uuid":{_text(snap.uuid_of[parent] if parent else None)}'
        f',"root_provider_uuid":{_text(snap.uuid_of[snap.root_of[rp]])}}}'
    )
    heads = [(class_id, f'{_text(name)}:{{"capacity":{capacity},"used":')
             for name, class_id, capacity in classes]
    idle = ",".join(f"{head}0}}" for _, head in heads)
    return heads, tail, f'{_text(snap.uuid_of[rp])}:{{"resources":{{{idle}}}{tail}'


def _text(value: object) -> str:
    return orjson.dumps(value).decode()
