"""Content negotiation as upstream placement does it.

- A GET whose ``Accept`` header admits no JSON gets 406 ("Only application/json is
  provided"), after routing, so an unknown path is still a 404.
- A body sent without ``Content-Type`` is a 400; one with another type a 415 (deps.py).
- Error bodies are HTML for a client that asks for HTML and not for JSON (a browser),
  JSON otherwise.
"""

from __future__ import annotations

import contextvars
from html import escape

from fastapi import Request

from placement.errors import NotAcceptable

JSON = "application/json"
# Whether the current request's errors are to be written as HTML.
html_errors: contextvars.ContextVar[bool] = contextvars.ContextVar("html_errors", default=False)


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


def prefers_html(accept: str | None) -> bool:
    """A client naming HTML and not JSON (as a browser does for a page)."""
    if not accept:
        return False
    ranges = {r for r, q in _ranges(accept) if q > 0}
    return "text/html" in ranges and JSON not in ranges


async def check_accept(request: Request) -> None:
    """An app-wide dependency: a GET must accept JSON. Raises NotAcceptable."""
    if request.method not in ("GET", "HEAD"):
        return
    accept = request.headers.get("accept")
    if accept and not accepts(accept, JSON):
        raise NotAcceptable(f"Only {JSON} is provided")


def html_page(status: int, title: str, detail: str) -> str:
    """An error as the small HTML page browsers are sent."""
    heading = f"{status} {escape(title)}"
    return (f"<html>\n <head>\n  <title>{heading}</title>\n </head>\n <body>\n"
            f"  <h1>{heading}</h1>\n  {escape(detail)}<br /><br />\n\n\n\n </body>\n</html>")
