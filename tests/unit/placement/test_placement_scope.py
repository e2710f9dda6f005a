"""Placement's rules take project-scoped tokens only; the compute API's take any."""

from __future__ import annotations

from common.context import RequestContext
from common.policy import Enforcer
from placement import policies


def _ctx(roles: tuple[str, ...], project: str | None = "p1",
         scope: str | None = None) -> RequestContext:
    return RequestContext(user_id="u", project_id=project, roles=roles, system_scope=scope)


def test_system_scoped_admin_is_refused() -> None:
    enforcer = Enforcer(policies.DEFAULTS)
    assert enforcer.enforce("placement:resource_providers:list", _ctx(("admin",)))
    assert not enforcer.enforce("placement:resource_providers:list",
                                _ctx(("admin",), None, "all"))


def test_project_reader_sees_only_its_own_usages() -> None:
    enforcer = Enforcer(policies.DEFAULTS)
    reader = _ctx(("reader",))
    assert enforcer.enforce("placement:usages", reader, {"project_id": "p1"})
    assert not enforcer.enforce("placement:usages", reader, {"project_id": "p2"})
    assert enforcer.enforce("placement:usages", _ctx(("service",)), {"project_id": "p2"})
