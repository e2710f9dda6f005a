"""Query strings: the shared parameter syntaxes (resources, required, member_of)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection

from fastapi import Request

from common.errors import BadRequest
from placement.errors import QueryBadValue, QueryDuplicateKey
from placement.inventories import MAX_INT
from placement.microversion import Version

FORBIDDEN_TRAITS_SINCE = Version(1, 22)
MULTI_MEMBER_OF_SINCE = Version(1, 24)
FORBIDDEN_AGGS_SINCE = Version(1, 32)
ANY_TRAITS_SINCE = Version(1, 39)
# ASCII digits only, as upstream's patterns: ``str.isdigit`` also takes "²", which int()
# refuses.
_DIGITS = re.compile(r"[0-9]+")


def params(request: Request) -> list[tuple[str, str]]:
    return list(request.query_params.multi_items())


def check_keys(
    items: list[tuple[str, str]], allowed: Collection[str], pattern: re.Pattern[str] | None = None
) -> None:
    """Refuse parameters this route does not know, as upstream's schemas do."""
    unknown = sorted(
        {k for k, _ in items if k not in allowed and not (pattern and pattern.match(k))}
    )
    if unknown:
        raise BadRequest(
            "Invalid query string parameters: Additional properties are not allowed "
            f"({', '.join(repr(k) for k in unknown)} {'was' if len(unknown) == 1 else 'were'} "
            "unexpected)"
        )


def single(items: list[tuple[str, str]], key: str) -> str | None:
    values = [v for k, v in items if k == key]
    if len(values) > 1:
        raise QueryDuplicateKey(f"Query parameter {key!r} may be specified only once.")
    return values[0] if values else None


def every(items: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in items if k == key]


def parse_resources(value: str, key: str = "resources") -> dict[str, int]:
    """``VCPU:2,MEMORY_MB:1024`` -> {"VCPU": 2, "MEMORY_MB": 1024}. Raises BadRequest."""
    form = (f"Badly formed {key} parameter. Expected {key} query string parameter in "
            f"form: ?{key}=VCPU:2,MEMORY_MB:1024. Got: ")
    if not value.strip():
        raise BadRequest(form + "empty string.")
    result: dict[str, int] = {}
    for part in value.split(","):
        pieces = part.split(":")
        if len(pieces) != 2 or not pieces[0].strip():
            raise BadRequest(f"{form}{part}.")
        name, text = pieces[0].strip(), pieces[1].strip()
        try:
            amount = int(text)
        except ValueError:
            raise BadRequest(f"Requested resource {name} expected positive integer amount. "
                             f"Got: {text}.") from None
        if amount < 1:
            raise BadRequest(f"Requested resource {name} requires amount >= 1. "
                             f"Got: {amount}.")
        if name in result:
            raise BadRequest(
                f"Badly formed {key} parameter: resource class {name} is given twice."
            )
        # No inventory holds more than MAX_INT: a larger amount fits nowhere, as before,
        # but stays within what the database can compare.
        result[name] = min(amount, MAX_INT + 1)
    return result


def parse_required(
    values: list[str], version: Version, key: str = "required"
) -> tuple[list[frozenset[str]], frozenset[str]]:
    """Required any-of sets and forbidden traits of one or more ``required`` values."""
    if version < ANY_TRAITS_SINCE:
        values = values[-1:]
    required: list[frozenset[str]] = []
    forbidden: set[str] = set()
    for value in values:
        if version < ANY_TRAITS_SINCE and value.startswith("in:"):
            raise BadRequest("The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported "
                             f"since microversion 1.39. Got: {value}")
        if version >= ANY_TRAITS_SINCE and value.startswith("in:"):
            names = _names(value[3:], key, value, version)
            if any(n.startswith("!") for n in names):
                raise BadRequest(f"Invalid query string parameters: '!' is not allowed "
                                 f"inside 'in:' in {key}={value}")
            required.append(frozenset(names))
            continue
        for name in _names(value, key, value, version):
            if name.startswith("!") and version >= FORBIDDEN_TRAITS_SINCE:
                forbidden.add(_trait_name(name[1:], key, value, version))
            else:
                required.append(frozenset([_trait_name(name, key, value, version)]))
    conflict = [", ".join(sorted(any_of)) for any_of in required if any_of <= forbidden]
    if conflict:
        raise BadRequest(
            "Conflicting required and forbidden traits found in the following traits keys: "
            + ", ".join(f"{key}: ({names})" for names in sorted(conflict))
        )
    return required, frozenset(forbidden)


def _bad_traits(key: str, value: str, version: Version) -> BadRequest:
    form = ("HW_CPU_X86_VMX,!CUSTOM_MAGIC" if version >= FORBIDDEN_TRAITS_SINCE
            else "HW_CPU_X86_VMX,CUSTOM_MAGIC")
    return BadRequest(f"Invalid query string parameters: Expected '{key}' parameter value of "
                      f"the form: {form}. Got: {value}")


def _names(text: str, key: str, value: str, version: Version) -> list[str]:
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise _bad_traits(key, value, version)
    return names


def _trait_name(name: str, key: str, value: str, version: Version) -> str:
    if not name or name.startswith("!"):
        raise _bad_traits(key, value, version)
    return name


def parse_member_of(
    values: list[str], version: Version, key: str = "member_of"
) -> tuple[list[frozenset[uuid.UUID]], frozenset[uuid.UUID]]:
    """Aggregate any-of sets a provider must be in, and aggregates it must not be in.

    A value is a uuid, ``in:`` and several, or either of those after ``!`` (forbidden).
    """
    if len(values) > 1 and version < MULTI_MEMBER_OF_SINCE:
        raise BadRequest(f"Multiple {key} parameters are not supported")
    member_of: list[frozenset[uuid.UUID]] = []
    forbidden: set[uuid.UUID] = set()
    for value in values:
        if "," in value and not value.startswith(("in:", "!in:")):
            raise BadRequest("Multiple values for 'member_of' must be prefixed with the "
                             f"'in:' or '!in:' keyword using the valid microversion. Got: {value}")
        negate = value.startswith("!")
        text = value[1:] if negate else value
        text = text.removeprefix("in:")
        aggs = {_aggregate(part, value) for part in text.split(",")}
        if not negate:
            member_of.append(frozenset(aggs))
            continue
        if version < FORBIDDEN_AGGS_SINCE:
            raise BadRequest(f"Forbidden {key} parameters are not supported in the specified "
                             "microversion")
        forbidden |= aggs
    return member_of, frozenset(forbidden)


def _aggregate(text: str, value: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise BadRequest(
            "Invalid query string parameters: Expected 'member_of' parameter to contain valid "
            f"UUID(s). Got: {value}"
        ) from None


def parse_uuid(value: str, key: str) -> uuid.UUID:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise BadRequest(f"Invalid query string parameters: Expected '{key}' "
                         f"parameter to be a format of uuid. Got: {value}") from None


def parse_limit(value: str, key: str = "limit") -> int:
    if not _DIGITS.fullmatch(value) or int(value) < 1:
        raise QueryBadValue(
            f"Invalid query string parameters: {key} must be a positive integer. Got: {value}"
        )
    # Any limit past MAX_INT means "all"; the database's integers end at 2**63.
    return min(int(value), MAX_INT)
