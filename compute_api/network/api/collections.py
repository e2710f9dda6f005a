"""One set of handlers per collection: list, create (one or bulk), show, update, delete.

Handlers parse, call one domain function and shape the answer; the list semantics
(filters, fields, sorting, pages) are ``listing``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.requests import Request

from common.context import RequestContext
from common.errors import NotFound
from common.routes import Route
from compute_api.api.deps import BodyDep, ContextDep, ReadSessionDep, SessionDep
from compute_api.api.versions import base_url
from compute_api.network import listing
from compute_api.network.attributes import Resource, body_schema, for_create, for_update, items_of

Views = Callable[[Session, RequestContext, Sequence[Any]], list[dict[str, Any]]]


@dataclass(frozen=True)
class Collection:
    resource: Resource
    path: str  # below /v2.0, e.g. "/networks"
    create: Callable[[Session, RequestContext, dict[str, Any]], Any]
    get: Callable[[Session, RequestContext, str], Any]
    list: Callable[[Session, RequestContext], Sequence[Any]]
    update: Callable[[Session, RequestContext, str, dict[str, Any]], Any]
    delete: Callable[[Session, RequestContext, str], None]
    views: Views
    missing: Callable[[str], NotFound]
    sortable: frozenset[str]
    # Listing may write (security groups: the project's default group on first use).
    list_writes: bool = False

    @property
    def rule(self) -> str:
        return self.resource.singular


def _listed(c: Collection, request: Request, ctx: RequestContext, session: Session
            ) -> dict[str, Any]:
    query = list(request.query_params.multi_items())
    items = listing.filtered(c.views(session, ctx, c.list(session, ctx)), query)
    url = f"{base_url(request)}/v2.0{c.path}"
    body = listing.paged(items, query, set(c.sortable), c.resource.plural, url, c.missing)
    body[c.resource.plural] = listing.narrowed(body[c.resource.plural], query)
    return body


def _one(c: Collection, session: Session, ctx: RequestContext, row: Any) -> dict[str, Any]:
    return c.views(session, ctx, [row])[0]


def routes_of(c: Collection) -> list[Route]:
    """The five routes of a collection, each with its own handler."""
    singular, plural = c.resource.singular, c.resource.plural

    def list_reading(request: Request, ctx: ContextDep, session: ReadSessionDep
                     ) -> dict[str, Any]:
        return _listed(c, request, ctx, session)

    def list_writing(request: Request, ctx: ContextDep, session: SessionDep
                     ) -> dict[str, Any]:
        return _listed(c, request, ctx, session)

    def create(body: BodyDep, ctx: ContextDep, session: SessionDep) -> JSONResponse:
        items, bulk = items_of(c.resource, body, bulk=True)
        # Bulk: every item in this one transaction, all or none.
        rows = [c.create(session, ctx, for_create(c.resource, item, ctx)) for item in items]
        views = c.views(session, ctx, rows)
        return JSONResponse({plural: views} if bulk else {singular: views[0]},
                            status_code=201)

    def show(item_id: str, request: Request, ctx: ContextDep, session: ReadSessionDep
             ) -> dict[str, Any]:
        view = _one(c, session, ctx, c.get(session, ctx, item_id))
        return {singular: listing.one_narrowed(view, list(request.query_params.multi_items()))}

    def update(item_id: str, body: BodyDep, ctx: ContextDep, session: SessionDep
               ) -> dict[str, Any]:
        row = c.update(session, ctx, item_id, for_update(c.resource, body, ctx))
        return {singular: _one(c, session, ctx, row)}

    def delete(item_id: str, ctx: ContextDep, session: SessionDep) -> Response:
        c.delete(session, ctx, item_id)
        return Response(status_code=204)

    path, item = f"/v2.0{c.path}", f"/v2.0{c.path}/{{item_id}}"
    lister = list_writing if c.list_writes else list_reading
    for handler, name in ((lister, "list"), (create, "create"), (show, "show"),
                          (update, "update"), (delete, "delete")):
        handler.__name__ = f"{name}_{plural}"
    return [
        Route("GET", path, lister, f"get_{c.rule}", query=None),
        Route("POST", path, create, f"create_{c.rule}", query=None, status_code=201,
              body=body_schema(c.resource)),
        Route("GET", item, show, f"get_{c.rule}", query=None),
        Route("PUT", item, update, f"update_{c.rule}", query=None,
              body=body_schema(c.resource, bulk=False)),
        Route("DELETE", item, delete, f"delete_{c.rule}", query=None, status_code=204),
    ]
