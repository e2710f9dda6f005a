"""The development ``noauth`` strategy: the caller says who it is, nobody checks.

Two token forms, both taken as given (never enable this outside development and tests):

- ``user:project`` (Kilonova's original form): the user ``admin`` has every role,
  anyone else is a member of the project.
- ``user`` alone, the form of upstream placement's ``noauth2`` (and of its API tests):
  the project is the user's name, the user ``admin`` has the admin role, nobody else
  has a role.

Either way keystonemiddleware's headers, when present, say more: ``X-Roles`` (comma
separated, taken as is: like Keystone, callers list implied roles themselves),
``X-Project-Id`` and ``OpenStack-System-Scope``. A system-scoped request has no project
unless ``X-Project-Id`` names one.
"""

from __future__ import annotations

from collections.abc import Mapping

from common.context import RequestContext
from common.errors import Unauthorized

ROLES_HEADER = "x-roles"
PROJECT_HEADER = "x-project-id"
SCOPE_HEADER = "openstack-system-scope"


def noauth_context(token: str, headers: Mapping[str, str], request_id: str) -> RequestContext:
    """The caller ``token`` and ``headers`` claim to be. Raises Unauthorized."""
    user, sep, project = token.partition(":")
    if not user or (sep and not project):
        raise Unauthorized("noauth tokens have the form 'user:project' or 'user'")
    roles = _roles(user, bool(sep), headers.get(ROLES_HEADER))
    system_scope = headers.get(SCOPE_HEADER) or None
    project_id: str | None = headers.get(PROJECT_HEADER) or project or user
    if system_scope and not headers.get(PROJECT_HEADER):
        project_id = None
    return RequestContext(user_id=user, project_id=project_id, roles=roles,
                          request_id=request_id, system_scope=system_scope)


def _roles(user: str, with_project: bool, listed: str | None) -> tuple[str, ...]:
    if listed is not None:
        return tuple(role.strip() for role in listed.split(",") if role.strip())
    if user == "admin":
        return ("admin", "member", "reader") if with_project else ("admin",)
    return ("member", "reader") if with_project else ()
