"""GET /: the version document, the only request needing no token."""

from __future__ import annotations

from typing import Any

from common.routes import PUBLIC, Route
from placement.microversion import MAX_VERSION, MIN_VERSION


def versions() -> dict[str, Any]:
    return {
        "versions": [
            {
                "id": "v1.0",
                "max_version": str(MAX_VERSION),
                "min_version": str(MIN_VERSION),
                "status": "CURRENT",
                # Empty, as upstream: the document does not know where it is mounted.
                "links": [{"rel": "self", "href": ""}],
            }
        ]
    }


ROUTES: list[Route] = [
    Route('GET', '/', versions, PUBLIC, query=None),
]
