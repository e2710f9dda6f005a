"""Content negotiation as upstream placement does it.

- A GET of a known route whose ``Accept`` header admits no JSON gets 406 ("Only
  application/json is provided"); an unknown path is still a 404.
- A body sent without ``Content-Type`` is a 400; one with another type a 415 (deps.py).
- Error bodies are HTML for a client that asks for HTML and not for JSON (a browser),
  JSON otherwise.
"""

from __future__ import annotations

import contextvars
from html import escape

from starlette.routing import Match
from starlette.types import Scope

from placement.errors import NotAcceptable

JSON = "application/json"
# The current request's Accept header: errors are written as HTML for a browser.
request_accept: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_accept", default=None)


def _ranges(accept: str) -> list[tuple[str, float]]:
    """The media ranges of an Accept header with their quality."""
    found = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            found.append((media.lower(), quality))
    return found


def accepts(accept: str | None, media: str) -> bool:
    """Whether ``media`` is acceptable under ``accept`` (absent: anything is)."""
    if not accept:
        return True
    family = media.split("/")[0] + "/*"
    return any(q > 0 and r in (media, family, "*/*") for r, q in _ranges(accept))


def html_errors() -> bool:
    """Whether the current request's client names HTML and not JSON (a browser)."""
    accept = request_accept.get()
    if not accept or "html" not in accept:
        return False
    ranges = {r for r, q in _ranges(accept) if q > 0}
    return "text/html" in ranges and JSON not in ranges


def check_accept(scope: Scope, accept: str | None) -> None:
    """A GET of a known route must accept JSON. Raises NotAcceptable.

    Most clients send no Accept, ``*/*`` or JSON: those pass on a substring test, so
    only odd headers pay for parsing and for finding the route (an unknown path is
    left to the router's 404).
    """
    if not accept or scope["method"] not in ("GET", "HEAD"):
        return
    plain = any(m in accept for m in (JSON, "*/*", "application/*")) and "q=0" not in accept
    if plain or accepts(accept, JSON):
        return
    routes = scope["app"].router.routes
    if any(route.matches(scope)[0] == Match.FULL for route in routes):
        raise NotAcceptable(f"Only {JSON} is provided")


def html_page(status: int, title: str, detail: str) -> str:
    """An error as the small HTML page browsers are sent."""
    heading = f"{status} {escape(title)}"
    return (f"<html>\n <head>\n  <title>{heading}</title>\n </head>\n <body>\n"
            f"  <h1>{heading}</h1>\n  {escape(detail)}<br /><br />\n\n\n\n </body>\n</html>")
