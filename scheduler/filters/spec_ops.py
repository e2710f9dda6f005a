"""Matching a flavor's extra spec value against a host's value, upstream's operators.

A plain value must equal; otherwise the first word is an operator: ``=`` (at least,
numerically), ``==`` ``!=`` ``>=`` ``<=`` (numeric), ``s==`` ``s!=`` ``s<`` ``s<=``
``s>`` ``s>=`` (strings), ``<in>`` (substring), ``<all-in>`` (every word a substring)
and ``<or>`` (``<or> a <or> b``: any of the words).
"""

from __future__ import annotations

import operator
from collections.abc import Callable

_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": operator.ge, "==": operator.eq, "!=": operator.ne, ">=": operator.ge,
    "<=": operator.le,
}
_STRING: dict[str, Callable[[str, str], bool]] = {
    "s==": operator.eq, "s!=": operator.ne, "s<": operator.lt, "s<=": operator.le,
    "s>": operator.gt, "s>=": operator.ge,
}
_OPERATORS = {*_NUMERIC, *_STRING, "<in>", "<all-in>", "<or>"}


def matches(value: str | None, wanted: str) -> bool:
    """True when the host's ``value`` satisfies the requested ``wanted`` expression."""
    words = wanted.split()
    if not words or words[0] not in _OPERATORS:
        return value == wanted
    op, args = words[0], words[1:]
    if value is None or not args:
        return False
    if op == "<or>":
        return value in args[::2]
    if op == "<in>":
        return args[0] in value
    if op == "<all-in>":
        return all(arg in value for arg in args)
    if op in _STRING:
        return _STRING[op](value, args[0])
    try:
        return _NUMERIC[op](float(value), float(args[0]))
    except ValueError:
        return False
