"""Placement microversions: ``OpenStack-API-Version: placement 1.N``."""

from __future__ import annotations

import re
from typing import NamedTuple

from common.errors import BadRequest
from placement.errors import NotAcceptable

SERVICE_TYPE = "placement"
HEADER = "OpenStack-API-Version"


class Version(NamedTuple):
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


MIN_VERSION = Version(1, 0)
MAX_VERSION = Version(1, 39)

_VERSION_RE = re.compile(r"^(\d+)\.(\d+)$")


def parse_header(value: str | None) -> Version:
    """The version a request asks for. Raises BadRequest (malformed) or NotAcceptable."""
    if value is None:
        return MIN_VERSION
    wanted = _placement_part(value)
    if wanted is None:
        return MIN_VERSION
    if wanted == "latest":
        return MAX_VERSION
    match = _VERSION_RE.match(wanted)
    if match is None:
        raise BadRequest(f"invalid version string: {wanted}")
    version = Version(int(match.group(1)), int(match.group(2)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise NotAcceptable(
            f"Unacceptable version header: {wanted}. Minimum is {MIN_VERSION}, "
            f"maximum is {MAX_VERSION}."
        )
    return version


def _placement_part(value: str) -> str | None:
    for part in value.split(","):
        service, _, version = part.strip().partition(" ")
        if service.lower() == SERVICE_TYPE:
            return version.strip().lower()
    return None
