"""Compute API microversions: negotiation from the request headers."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from functools import total_ordering

from starlette.datastructures import Headers

from common.errors import ControlPlaneError

SERVICE = "compute"


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> Version:
        match = re.fullmatch(r"(\d+)\.(\d+)", text.strip())
        if match is None:
            raise ValueError(text)
        return cls(int(match.group(1)), int(match.group(2)))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return (self.major, self.minor) < (other.major, other.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, text: str) -> bool:
        return (self.major, self.minor) >= _parsed(text)


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> tuple[int, int]:
    """(major, minor) of a version literal in the code; views ask thousands of times."""
    version = Version.parse(text)
    return version.major, version.minor


MIN_VERSION = Version(2, 1)
MAX_VERSION = Version(2, 104)


class VersionNotAcceptable(ControlPlaneError):
    code = "compute.version_not_acceptable"


class BadVersionHeader(ControlPlaneError):
    code = "compute.bad_version_header"


def requested_version(headers: Headers) -> Version:
    """The version a request asks for: no header means the minimum, ``latest`` the maximum."""
    text = None
    # The header may repeat, or list several services: "compute 2.10, placement 1.2".
    header = ",".join(headers.getlist("openstack-api-version"))
    if header:
        for item in header.split(","):
            service, _, value = item.strip().partition(" ")
            if service.lower() == SERVICE:
                text = value.strip()
    if text is None:
        text = headers.get("x-openstack-nova-api-version")
    if text is None:
        return MIN_VERSION
    if text.lower() == "latest":
        return MAX_VERSION
    try:
        version = Version.parse(text)
    except ValueError:
        raise BadVersionHeader(
            f"API Version String {text} is of invalid format. Must be of format "
            "MajorNum.MinorNum."
        ) from None
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise VersionNotAcceptable(
            f"Version {text} is not supported by the API. Minimum is {MIN_VERSION} and "
            f"maximum is {MAX_VERSION}."
        )
    return version
