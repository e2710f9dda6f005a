"""The query string of GET /allocation_candidates, per microversion."""

from __future__ import annotations

import re
from collections import defaultdict

from common.errors import BadRequest
from placement.api import jsonschemas, query
from placement.api.validation import check_query
from placement.candidates import CandidateRequest, RequestGroup
from placement.errors import QueryBadValue, QueryMissingValue
from placement.microversion import Version

SINCE = {
    "resources": Version(1, 10), "limit": Version(1, 16), "required": Version(1, 17),
    "member_of": Version(1, 21), "group_policy": Version(1, 25), "in_tree": Version(1, 31),
    "root_required": Version(1, 35), "same_subtree": Version(1, 36),
}
GRANULAR_SINCE = Version(1, 25)
ANY_SUFFIX_SINCE = Version(1, 33)
RESOURCELESS_SINCE = Version(1, 36)
NESTED_AWARE_SINCE = Version(1, 29)
GROUP_KEYS = ("resources", "required", "member_of", "in_tree")


def _granular_pattern(version: Version) -> re.Pattern[str] | None:
    if version < GRANULAR_SINCE:
        return None
    suffix = "[a-zA-Z0-9_-]{1,64}" if version >= ANY_SUFFIX_SINCE else "[1-9][0-9]*"
    keys = [k for k in GROUP_KEYS if version >= SINCE[k]]
    return re.compile(rf"^({'|'.join(keys)})({suffix})$")


def parse(items: list[tuple[str, str]], version: Version) -> CandidateRequest:
    """Raises BadRequest for anything malformed."""
    pattern = _granular_pattern(version)
    if _suspicious(items, version, pattern):
        # Only then: the schema finds what is wrong in upstream's words, and costs
        # nothing on the requests that are well formed.
        first: dict[str, str] = {}
        for key, value in items:
            first.setdefault(key, value)
        check_query(first, jsonschemas.candidates_query(tuple(version)))
    query.check_keys(items, [k for k, since in SINCE.items() if version >= since], pattern)
    by_suffix: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key, value in items:
        match = pattern.match(key) if pattern else None
        if match:
            by_suffix[match.group(2)].append((match.group(1), value))
        elif key in GROUP_KEYS:
            by_suffix[""].append((key, value))
    groups = [_group(suffix, pairs, version) for suffix, pairs in sorted(by_suffix.items())]
    same_subtree = _same_subtree(items, groups)
    _check_groups(groups, same_subtree, version)
    root_required, root_forbidden = _root_required(items, version)
    limits = query.every(items, "limit")
    limit = limits[0] if limits else None
    return CandidateRequest(
        groups=groups,
        limit=query.parse_limit(limit) if limit else None,
        group_policy=_group_policy(items, groups),
        root_required=root_required,
        root_forbidden=root_forbidden,
        same_subtree=same_subtree,
        nested_aware=version >= NESTED_AWARE_SINCE,
    )


def _group(suffix: str, pairs: list[tuple[str, str]], version: Version) -> RequestGroup:
    resources = [v for k, v in pairs if k == "resources"]
    in_tree = [v for k, v in pairs if k == "in_tree"]
    if len(resources) > 1 or len(in_tree) > 1:
        raise BadRequest(f"Query parameters of request group {suffix!r} may be given only once")
    required, forbidden = query.parse_required(
        [v for k, v in pairs if k == "required"], version, f"required{suffix}"
    )
    member_of, forbidden_aggs = query.parse_member_of(
        [v for k, v in pairs if k == "member_of"], version, f"member_of{suffix}"
    )
    return RequestGroup(
        suffix=suffix,
        resources=query.parse_resources(resources[0], f"resources{suffix}") if resources else {},
        required=required, forbidden=forbidden,
        member_of=member_of, forbidden_aggs=forbidden_aggs,
        in_tree=query.parse_uuid(in_tree[0], "in_tree") if in_tree else None,
    )


def _suspicious(items: list[tuple[str, str]], version: Version,
                pattern: re.Pattern[str] | None) -> bool:
    """Whether a parameter is unknown or one of the schema's values looks wrong."""
    known = {k for k, since in SINCE.items() if version >= since}
    for key, value in items:
        if key not in known and not (pattern and pattern.match(key)):
            return True
        if key == "limit" and not (value.isdigit() and value[:1] != "0"):
            return True
        if key == "group_policy" and value not in ("none", "isolate"):
            return True
    return version < GRANULAR_SINCE and not any(k == "resources" for k, _ in items)


def _check_groups(groups: list[RequestGroup], same_subtree: list[list[str]],
                  version: Version) -> None:
    """Raises BadRequest (or its query kinds) for groups that cannot be served."""
    resourceless = [g for g in groups if not g.resources]
    if version >= RESOURCELESS_SINCE:
        if len(resourceless) == len(groups):
            raise QueryMissingValue(
                "There must be at least one resources or resources[$S] parameter.")
        in_subtree = {s for suffixes in same_subtree for s in suffixes}
        stray = sorted(g.suffix for g in resourceless if g.suffix not in in_subtree)
        if stray:
            raise QueryBadValue(
                "Resourceless suffixed group request should be specified in `same_subtree` "
                f"query param: bad group(s) - {stray}.")
        return
    _check_orphans(groups)


def _check_orphans(groups: list[RequestGroup]) -> None:
    traits = [f"required{g.suffix}" for g in groups
              if (g.required or g.forbidden) and not g.resources]
    if traits:
        raise BadRequest("All traits parameters must be associated with resources.  Found "
                         f"the following orphaned traits keys: {', '.join(traits)}")
    aggregates = [f"member_of{g.suffix}" for g in groups
                  if (g.member_of or g.forbidden_aggs) and not g.resources]
    if aggregates:
        raise BadRequest("All member_of parameters must be associated with resources. Found "
                         f"the following orphaned member_of keys: {', '.join(aggregates)}")
    if not all(g.resources for g in groups):
        raise BadRequest("All request groups must specify resources.")
    if not groups:
        raise BadRequest(
            "At least one request group (`resources` or `resources{$S}`) is required.")


def _group_policy(items: list[tuple[str, str]], groups: list[RequestGroup]) -> str | None:
    # Upstream takes the first of repeated values (its schema saw only one).
    policies = query.every(items, "group_policy")
    policy = policies[0] if policies else None
    if policy is None and len([g for g in groups if g.suffix]) > 1:
        raise BadRequest(
            'The "group_policy" parameter is required when specifying more than one '
            '"resources{N}" parameter.'
        )
    return policy


def _same_subtree(items: list[tuple[str, str]], groups: list[RequestGroup]) -> list[list[str]]:
    known = {g.suffix for g in groups if g.suffix}
    result = []
    for value in query.every(items, "same_subtree"):
        suffixes = [s.strip() for s in value.split(",")]
        if not all(suffixes):
            raise QueryBadValue(
                "Empty string (unsuffixed group) can not be specified in `same_subtree` ")
        unknown = [s for s in suffixes if s not in known]
        if unknown:
            raise QueryBadValue(
                "Real suffixes should be specified in `same_subtree`: "
                f"{unknown} not found in request groups"
            )
        result.append(suffixes)
    return result


def _root_required(
    items: list[tuple[str, str]], version: Version
) -> tuple[frozenset[str], frozenset[str]]:
    required: set[str] = set()
    forbidden: set[str] = set()
    value = query.single(items, "root_required")
    if value is not None:
        for name in (n.strip() for n in value.split(",")):
            if name.startswith("in:") or not name.lstrip("!"):
                raise query_error(value)
            (forbidden if name.startswith("!") else required).add(name.lstrip("!"))
    if required & forbidden:
        raise QueryBadValue(
            "Conflicting required and forbidden traits found in root_required: "
            f"{', '.join(sorted(required & forbidden))}"
        )
    return frozenset(required), frozenset(forbidden)


def query_error(value: str) -> BadRequest:
    return BadRequest(
        "Invalid query string parameters: Expected 'root_required' parameter value of the "
        f"form: HW_CPU_X86_VMX,!CUSTOM_MAGIC. Got: {value}"
    )
