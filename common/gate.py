"""The check every API request passes before a handler runs: token, then route policy.

Each HTTP service wraps its app in a middleware that calls ``Gate.check`` and renders
the error in its own body format; the gate finds the request's rule in the service's
``RouteTable``, turns the token into a ``RequestContext`` and asks the ``Enforcer``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import Receive, Scope

from common.auth import Verifier, context_from_token, verifier_blocks
from common.body_limits import read_body, replay
from common.context import RequestContext
from common.policy import AUTHENTICATED, PUBLIC, Decision, Enforcer, RouteTable, action_rule
from common.settings import Settings

LOG = logging.getLogger(__name__)


def route_path(scope: Scope) -> str:
    """The path below the mount point (``root_path``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    return path or "/"


def www_authenticate(settings: Settings, scope: Scope) -> dict[str, str] | None:
    """The header a 401 carries: where to get a token (Keystone's form)."""
    if settings.auth.strategy == "keystone":
        uri = settings.keystone.www_authenticate_uri or settings.keystone.auth_url or ""
    elif settings.auth.strategy == "builtin":
        root = settings.api.public_url
        if not root:
            host = Headers(scope=scope).get("host", "localhost")
            root = f"{scope.get('scheme', 'http')}://{host}"
        uri = root.rstrip("/") + "/identity"
    else:
        return None
    return {"WWW-Authenticate": f'Keystone uri="{uri}"'}


@dataclass
class Passed:
    """A request the gate let through: who, under which rule, and the body to replay."""

    context: RequestContext | None
    decision: Decision | None
    receive: Receive


async def buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The request body, and a ``receive`` that replays it to the app."""
    body = await read_body(receive) or b""
    return body, replay(body, receive)


class Gate:
    """Token and policy check for one app.

    ``read_default`` / ``write_default`` guard routes missing from the table (a route
    added without a rule): readers may read, members may write, never anonymous. With
    ``route_unmatched`` a request matching no rule only needs a valid token: the router
    then answers 404 or 405 as it would for anyone (every real route must have a rule);
    so does a request ``serves`` says the matched route does not serve (an API version
    before the route's).
    ``query_target`` names, per rule, query parameters that when given replace the
    target's value of the same name (``GET /usages?project_id=``: whose usages).
    """

    def __init__(self, table: RouteTable, enforcer_of: Callable[[Scope], Enforcer],
                 verifier_of: Callable[[Scope], Verifier], read_default: str,
                 write_default: str, route_unmatched: bool = False,
                 query_target: Mapping[str, tuple[str, ...]] | None = None,
                 serves: Callable[[Scope, str], bool] | None = None) -> None:
        self.table = table
        self.enforcer_of = enforcer_of
        self.verifier_of = verifier_of
        self.read_default = read_default
        self.write_default = write_default
        self.route_unmatched = route_unmatched
        self.query_target = query_target or {}
        self.serves = serves

    async def check(self, scope: Scope, receive: Receive, request_id: str) -> Passed:
        """Raises Unauthorized (no or bad token) or PolicyForbidden."""
        method, path = scope["method"], route_path(scope)
        match = self.table.match(method, path)
        if match.rule == PUBLIC and match.actions is None:
            return Passed(None, None, receive)
        headers = Headers(scope=scope)
        token = headers.get("x-auth-token")
        verifier = self.verifier_of(scope)
        if verifier_blocks(verifier):
            ctx = await run_in_threadpool(context_from_token, token, verifier, request_id)
        else:
            ctx = context_from_token(token, verifier, request_id, headers)
        if match.rule == AUTHENTICATED or (self.route_unmatched and (
                match.rule is None or (self.serves and not self.serves(scope, match.rule)))):
            return Passed(ctx, None, receive)
        fallback = self.read_default if method in ("GET", "HEAD") else self.write_default
        rule = match.rule or fallback
        if match.rule is None:
            LOG.debug("%s %s has no policy rule: checking %s", method, path, fallback)
        if match.actions is not None:
            body, receive = await buffered(receive)
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = None  # the handler answers 400
            rule = action_rule(match, parsed, fallback)
        target = {"project_id": ctx.project_id, "user_id": ctx.user_id, **match.params,
                  **self._from_query(scope, rule)}
        enforcer = self.enforcer_of(scope)
        enforcer.authorize(rule, ctx, target)
        return Passed(ctx, Decision(enforcer, rule), receive)

    def _from_query(self, scope: Scope, rule: str) -> dict[str, str]:
        names = self.query_target.get(rule)
        if not names or not scope.get("query_string"):
            return {}
        query = parse_qs(scope["query_string"].decode("latin-1"))
        return {name: query[name][0] for name in names if name in query}
