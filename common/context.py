"""The request context that travels with every HTTP request and RPC message."""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field
from typing import Any

# The request id of whatever this thread/task is working on, for log records.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)


def new_request_id() -> str:
    return f"req-{uuid.uuid4()}"


@dataclass(frozen=True)
class RequestContext:
    user_id: str | None
    project_id: str | None
    roles: tuple[str, ...] = ()
    request_id: str = field(default_factory=new_request_id)
    # Set for a compute agent's host-bound credential: the hosts it may act for.
    service_hosts: frozenset[str] | None = None
    # "all" for a system-scoped token (Keystone's OpenStack-System-Scope); None otherwise.
    system_scope: str | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "project_id": self.project_id,
            "roles": list(self.roles),
            "request_id": self.request_id,
            **({} if self.service_hosts is None
               else {"service_hosts": sorted(self.service_hosts)}),
            "system_scope": self.system_scope,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestContext:
        return cls(
            user_id=data.get("user_id"),
            project_id=data.get("project_id"),
            roles=tuple(data.get("roles") or ()),
            request_id=data.get("request_id") or new_request_id(),
            service_hosts=(None if data.get("service_hosts") is None
                           else frozenset(data["service_hosts"])),
            system_scope=data.get("system_scope"),
        )

    def bind(self) -> contextvars.Token[str | None]:
        """Make this context's request id the one log records carry."""
        return request_id_var.set(self.request_id)


def admin_context(request_id: str | None = None) -> RequestContext:
    """A context for work a service does on its own behalf (periodic tasks)."""
    return RequestContext(
        user_id=None,
        project_id=None,
        roles=("admin",),
        request_id=request_id or new_request_id(),
    )
