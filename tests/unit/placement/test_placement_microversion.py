"""Parsing the OpenStack-API-Version header."""

from __future__ import annotations

import pytest

from common.errors import BadRequest
from placement.errors import NotAcceptable
from placement.microversion import MAX_VERSION, MIN_VERSION, Version, parse_header


@pytest.mark.parametrize(("header", "expected"), [
    (None, MIN_VERSION),
    ("compute 2.1", MIN_VERSION),
    ("placement 1.14", Version(1, 14)),
    ("placement latest", MAX_VERSION),
    ("compute 2.60, placement 1.2", Version(1, 2)),
    ("PLACEMENT 1.39", Version(1, 39)),
])
def test_versions_accepted(header: str | None, expected: Version) -> None:
    assert parse_header(header) == expected


@pytest.mark.parametrize(("header", "error"), [
    ("placement 1.40", NotAcceptable),
    ("placement 2.0", NotAcceptable),
    ("placement one", BadRequest),
    ("placement 1", BadRequest),
])
def test_versions_refused(header: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_header(header)


def test_versions_compare_numerically() -> None:
    assert Version(1, 10) > Version(1, 9)
    assert str(Version(1, 10)) == "1.10"
