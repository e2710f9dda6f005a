"""Neutron's list semantics over views: filters, fields, sorting, pagination.

Filters are query parameters named after attributes (a repeated one matches any of its
values); ``fields`` narrows each item; ``sort_key``/``sort_dir`` (repeatable) order the
list; ``limit``, ``marker`` and ``page_reverse`` page it, with ``<plural>_links``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from common.errors import BadRequest, NotFound

CONTROL = {"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse"}
Query = Sequence[tuple[str, str]]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return "" if value is None else str(value)


def _matches(value: Any, wanted: list[str]) -> bool:
    if isinstance(value, list):
        # A list attribute (subnets, security_groups, tags) matches if it holds one.
        return any(_matches(item, wanted) for item in value) if value else False
    if isinstance(value, bool):
        return any(w.lower() in (("true", "1") if value else ("false", "0")) for w in wanted)
    return _text(value) in wanted


def _fixed_ip_match(item: dict[str, Any], wanted: list[str]) -> bool:
    """``fixed_ips=ip_address=X`` / ``fixed_ips=subnet_id=Y`` (Neutron's form)."""
    for spec in wanted:
        key, _, value = spec.partition("=")
        if any(str(ip.get(key)) == value for ip in item.get("fixed_ips", [])):
            return True
    return False


def filtered(items: list[dict[str, Any]], query: Query,
             aliases: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Items whose attributes match every filter; unknown attributes filter nothing."""
    wanted: dict[str, list[str]] = {}
    for key, value in query:
        if key in CONTROL:
            continue
        wanted.setdefault((aliases or {}).get(key, key), []).append(value)
    out = []
    for item in items:
        keep = True
        for key, values in wanted.items():
            if key == "fixed_ips":
                keep = _fixed_ip_match(item, values)
            elif key in item:
                keep = _matches(item[key], values)
            if not keep:
                break
        if keep:
            out.append(item)
    return out


def _compare(keys: list[tuple[str, bool]], a: dict[str, Any], b: dict[str, Any]) -> int:
    for key, ascending in keys:
        x, y = a.get(key), b.get(key)
        if x == y:
            continue
        if x is None or y is None:
            order = -1 if x is None else 1
        else:
            try:
                order = -1 if x < y else 1
            except TypeError:
                order = -1 if _text(x) < _text(y) else 1
        return order if ascending else -order
    return 0


def sort_keys(query: Query, sortable: set[str]) -> list[tuple[str, bool]]:
    """(key, ascending) pairs of the query, ``id`` last. Raises BadRequest."""
    names = [v for k, v in query if k == "sort_key"]
    dirs = [v for k, v in query if k == "sort_dir"]
    if dirs and len(dirs) != len(names):
        raise BadRequest("The number of sort_keys and sort_dirs must be same")
    for d in dirs:
        if d not in ("asc", "desc"):
            raise BadRequest(f"{d} is invalid value for sort_dir, valid value is 'asc' "
                             "and 'desc'")
    for name in names:
        if name not in sortable:
            raise BadRequest(f"{name} is invalid attribute for sort_key")
    keys = [(n, (dirs[i] if dirs else "asc") == "asc") for i, n in enumerate(names)]
    if "id" not in names:
        keys.append(("id", keys[0][1] if keys else True))
    return keys


def _limit(query: Query) -> int | None:
    raw = [v for k, v in query if k == "limit"]
    if not raw:
        return None
    try:
        limit = int(raw[-1])
    except ValueError:
        raise BadRequest(f"Invalid input for operation: '{raw[-1]}' is not an integer.") from None
    if limit < 0:
        raise BadRequest(f"Limit must be an integer 0 or greater and not '{limit}'")
    return limit or None


def _marker_index(items: list[dict[str, Any]], marker: str,
                  missing: Callable[[str], NotFound]) -> int:
    for i, item in enumerate(items):
        if item.get("id") == marker:
            return i
    raise missing(marker)


def paged(items: list[dict[str, Any]], query: Query, sortable: set[str], plural: str,
          url: str, missing: Callable[[str], NotFound]) -> dict[str, Any]:
    """The body of a list answer: the sorted page and its links."""
    keys = sort_keys(query, sortable)
    ordered = sorted(items, key=functools.cmp_to_key(functools.partial(_compare, keys)))
    limit = _limit(query)
    markers = [v for k, v in query if k == "marker"]
    reverse = any(k == "page_reverse" and v.lower() == "true" for k, v in query)
    body: dict[str, Any] = {}
    if limit is None:
        body[plural] = ordered
        return body
    if reverse:
        end = _marker_index(ordered, markers[-1], missing) if markers else len(ordered)
        page = ordered[max(0, end - limit):end]
        more_before, more_after = end - limit > 0, bool(markers)
    else:
        start = _marker_index(ordered, markers[-1], missing) + 1 if markers else 0
        page = ordered[start:start + limit]
        more_before, more_after = bool(markers), start + limit < len(ordered)
    body[plural] = page
    links = []
    base = [(k, v) for k, v in query if k not in ("marker", "page_reverse", "limit")]
    if page and more_after:
        links.append({"rel": "next", "href": _href(url, base, limit, page[-1]["id"], False)})
    if page and more_before:
        links.append({"rel": "previous",
                      "href": _href(url, base, limit, page[0]["id"], True)})
    body[f"{plural}_links"] = links
    return body


def _href(url: str, base: Query, limit: int, marker: str, reverse: bool) -> str:
    params = [*base, ("limit", str(limit)), ("marker", marker)]
    if reverse:
        params.append(("page_reverse", "True"))
    return f"{url}?{urlencode(params)}"


def narrowed(items: list[dict[str, Any]], query: Query) -> list[dict[str, Any]]:
    """Each item reduced to the ``fields`` asked for (all when none)."""
    fields = [v for k, v in query if k == "fields"]
    if not fields:
        return items
    return [{k: item[k] for k in fields if k in item} for item in items]


def one_narrowed(item: dict[str, Any], query: Query) -> dict[str, Any]:
    return narrowed([item], query)[0]
