"""The policy engine: rule language, overrides, reloading, and the route tables."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from common.context import RequestContext
from common.errors import Forbidden
from common.policy import (
    AUTHENTICATED,
    PUBLIC,
    RELOAD_CHECK_INTERVAL,
    Enforcer,
    PolicyError,
    RouteTable,
    RuleDefault,
    parse_rule,
)
from common.settings import load_settings

READER = RequestContext("u-r", "p-a", ("reader",))
MEMBER = RequestContext("u-m", "p-a", ("member", "reader"))
ADMIN = RequestContext("u-a", "p-a", ("admin", "member", "reader"))

BASE = [
    RuleDefault("context_is_admin", "role:admin", "admin"),
    RuleDefault("member", "role:member and project_id:%(project_id)s", "member"),
    RuleDefault("thing:create", "rule:member or rule:context_is_admin", "create",
                (("POST", "/things"),)),
    RuleDefault("thing:list", "@", "list", (("GET", "/things"),)),
    RuleDefault("thing:show", "role:reader and project_id:%(project_id)s", "show",
                (("GET", "/things/{thing_id}"),)),
]


def _check(rule: str, ctx: RequestContext, target: dict[str, Any] | None = None) -> bool:
    enforcer = Enforcer([*BASE, RuleDefault("probe", rule, "probe")])
    return enforcer.enforce("probe", ctx, target)


@pytest.mark.parametrize(("rule", "ctx", "target", "expected"), [
    ("", READER, None, True),
    ("@", READER, None, True),
    ("!", ADMIN, None, False),
    ("role:admin", MEMBER, None, False),
    ("role:ADMIN", ADMIN, None, True),
    ("role:member and project_id:%(project_id)s", MEMBER, None, True),
    ("role:member and project_id:%(project_id)s", MEMBER, {"project_id": "p-b"}, False),
    ("role:member and project_id:%(project_id)s", MEMBER, {"other": "x"}, True),
    ("role:reader and project_id:%(missing)s", READER, None, False),
    ("rule:context_is_admin or user_id:%(user_id)s", MEMBER, {"user_id": "u-m"}, True),
    ("(rule:context_is_admin) or user_id:%(user_id)s", MEMBER, {"user_id": "u-x"}, False),
    ("not role:admin", MEMBER, None, True),
    ("not (role:admin or role:member)", READER, None, True),
    ("role:reader and not role:member", MEMBER, None, False),
    ("role:admin or role:member and project_id:nope", MEMBER, None, False),
    ("(role:admin or role:member) and project_id:p-a", MEMBER, None, True),
    ("'public':%(visibility)s", READER, {"visibility": "public"}, True),
    ("'public':%(visibility)s", READER, {"visibility": "private"}, False),
    ("is_admin:True", ADMIN, None, True),
    ("is_admin:True", MEMBER, None, False),
    ("rule:no_such_rule", ADMIN, None, False),
    ("role:%(role.name)s", MEMBER, {"role": {"name": "member"}}, True),
])
def test_rule_language(rule: str, ctx: RequestContext, target: dict[str, Any] | None,
                       expected: bool) -> None:
    assert _check(rule, ctx, target) is expected


@pytest.mark.parametrize("rule", ["role:admin or", "(role:admin", "role:admin)", "admin",
                                  "and role:admin", "http://example.com/check"])
def test_bad_rules_are_refused(rule: str) -> None:
    with pytest.raises(PolicyError):
        parse_rule(rule)


def test_loops_are_denied_not_recursed_forever() -> None:
    enforcer = Enforcer([RuleDefault("a", "rule:b", ""), RuleDefault("b", "rule:a", "")])
    assert enforcer.enforce("a", ADMIN) is False


def test_authorize_raises_forbidden_naming_the_rule() -> None:
    enforcer = Enforcer(BASE)
    with pytest.raises(Forbidden, match="Policy doesn't allow thing:create to be performed"):
        enforcer.authorize("thing:create", READER)
    enforcer.authorize("thing:create", MEMBER)
    with pytest.raises(KeyError):
        enforcer.enforce("thing:unknown", ADMIN)


@pytest.mark.parametrize(("name", "text"), [
    ("policy.yaml", '"thing:create": "role:reader"\n'),
    ("policy.json", '{"thing:create": "role:reader"}'),
])
def test_policy_file_overrides_defaults(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    enforcer = Enforcer(BASE, path)
    assert enforcer.enforce("thing:create", READER)
    assert enforcer.rule_text("thing:create") == "role:reader"
    assert enforcer.rule_text("thing:show") == BASE[4].check_str


def test_policy_file_is_reread_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("{}\n")
    enforcer = Enforcer(BASE, path)
    assert not enforcer.enforce("thing:create", READER)
    path.write_text('"thing:create": "@"\n')
    stamp = path.stat().st_mtime + 10
    os.utime(path, (stamp, stamp))
    time.sleep(RELOAD_CHECK_INTERVAL + 0.05)
    assert enforcer.enforce("thing:create", READER)
    # A broken edit keeps the rules read before.
    path.write_text('"thing:create": "role:reader or"\n')
    os.utime(path, (stamp + 10, stamp + 10))
    time.sleep(RELOAD_CHECK_INTERVAL + 0.05)
    assert enforcer.enforce("thing:create", READER)


def test_bad_policy_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text('"thing:create": "role:admin and"\n')
    with pytest.raises(PolicyError, match="thing:create"):
        Enforcer(BASE, path)
    with pytest.raises(PolicyError, match="does-not-exist"):
        Enforcer(BASE, tmp_path / "does-not-exist.yaml")


def test_route_table_prefers_literal_segments() -> None:
    table = RouteTable([*BASE, RuleDefault("thing:detail", "@", "", (("GET", "/things/detail"),))],
                       prefix="/v1", public=[("GET", "/")],
                       authenticated=[("GET", "/things/{thing_id}/peek")])
    assert table.match("GET", "/v1/things/detail").rule == "thing:detail"
    found = table.match("GET", "/v1/things/abc")
    assert (found.rule, found.params) == ("thing:show", {"thing_id": "abc"})
    assert table.match("HEAD", "/v1/things").rule == "thing:list"
    assert table.match("GET", "/").rule == PUBLIC
    assert table.match("GET", "/v1/things/x/peek").rule == AUTHENTICATED
    assert table.match("DELETE", "/v1/things/abc").rule is None


def _walk(routes: Iterable[Any]) -> Iterator[Any]:
    for route in routes:
        if hasattr(route, "effective_candidates"):  # FastAPI's included routers
            yield from _walk(route.effective_candidates())
        elif hasattr(route, "original_router"):
            yield from _walk(route.original_router.routes)
        else:
            yield route


def _served(app: Any) -> set[tuple[str, str]]:
    return {(method, route.path) for route in _walk(app.routes)
            for method in (getattr(route, "methods", None) or ()) if method != "HEAD"}


def test_every_route_has_a_rule() -> None:
    """A new route needs a line in its service's policy defaults (policies.py)."""
    from compute_api import policies as compute_policies
    from compute_api.app import create_compute_app, create_image_app
    from compute_api.images import policies as image_policies
    from placement import policies as placement_policies
    from placement.app import create_app

    for app, table in ((create_compute_app(), compute_policies.route_table()),
                       (create_image_app(), image_policies.route_table()),
                       (create_app(load_settings()), placement_policies.route_table())):
        missing = {(m, p) for m, p in _served(app)
                   if table.match(m, p.replace("{", "x").replace("}", "x")).rule is None}
        assert not missing, f"routes without a policy rule: {sorted(missing)}"


def test_sample_lists_every_default() -> None:
    from compute_api.runtime import api_enforcer

    sample = api_enforcer(None).sample("Kilonova")
    assert '#"os_compute_api:servers:create": "rule:project_member_or_admin"' in sample
    assert '#"get_images":' in sample
    assert "# POST /servers/{server_id}/action (os-migrateLive)" in sample


def test_cli_policy_sample_is_a_valid_policy_file(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main
    from compute_api.runtime import api_enforcer

    assert main(["policy", "sample"]) == 0
    out = capsys.readouterr().out
    uncommented = "\n".join(line[1:] for line in out.splitlines() if line.startswith('#"'))
    path = tmp_path / "policy.yaml"
    path.write_text(uncommented)
    enforcer = Enforcer(list(api_enforcer(None).defaults.values()), path)
    assert enforcer.rule_text("os_compute_api:os-flavor-manage:create") == \
        "rule:context_is_admin"
    assert enforcer.enforce("os_compute_api:servers:index", READER)
    assert not enforcer.enforce("os_compute_api:servers:create", READER)
    assert main(["policy", "sample", "--service", "placement"]) == 0
    assert '#"placement:resource_providers:list": "rule:admin_or_service_api"' in \
        capsys.readouterr().out
