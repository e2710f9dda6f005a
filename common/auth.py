"""Token checks shared by the HTTP services.

Only the development ``noauth`` strategy exists so far: the token is ``user:project``
(``X-Auth-Token``) and the user ``admin`` carries the admin role.
"""

from __future__ import annotations

from common.context import RequestContext, new_request_id
from common.errors import Unauthorized


def context_from_token(
    token: str | None, strategy: str, request_id: str | None = None
) -> RequestContext:
    """Turn a request's token into a RequestContext. Raises Unauthorized."""
    if strategy != "noauth":
        raise Unauthorized(f"auth strategy {strategy!r} is not available")
    if not token:
        raise Unauthorized("The request you have made requires authentication.")
    user, sep, project = token.partition(":")
    if not sep or not user or not project:
        raise Unauthorized("noauth tokens have the form 'user:project'")
    roles = ("admin", "member", "reader") if user == "admin" else ("member", "reader")
    return RequestContext(
        user_id=user, project_id=project, roles=roles,
        request_id=request_id or new_request_id(),
    )
