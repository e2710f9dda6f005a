"""What common.policy adds around oslo.policy: strict rules, credentials without None,
no stand-in default rule, and remembered decisions that still follow the target."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.context import RequestContext
from common.policy import Enforcer, PolicyError, RuleDefault, parse_rule

MEMBER = RequestContext("u-m", "p-a", ("member", "reader"))
OWN = "role:member and project_id:%(project_id)s"


@pytest.mark.parametrize("rule", ["project_id:%(project_id)d", "foo:50%", "1abc:x",
                                  "https://example.com/check", "'a:b'", ":x"])
def test_rules_oslo_policy_would_fail_on_are_refused(rule: str) -> None:
    """oslo.policy would deny these silently or raise while evaluating a request."""
    with pytest.raises(PolicyError):
        parse_rule(rule)


def test_a_token_without_project_matches_no_project() -> None:
    """oslo.policy compares str(None): a missing value must still deny."""
    enforcer = Enforcer([RuleDefault("own", "project_id:%(project_id)s", "")])
    assert not enforcer.enforce("own", RequestContext("u", None, ("member",)))
    assert not enforcer.enforce("own", RequestContext("u", None, ("member",)),
                                {"project_id": None})


def test_a_rule_called_default_stands_in_for_no_missing_rule(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text('"default": "@"\n')
    enforcer = Enforcer([RuleDefault("probe", "rule:no_such_rule", "")], path)
    assert not enforcer.enforce("probe", MEMBER)


def test_system_scope_is_a_credential() -> None:
    enforcer = Enforcer([RuleDefault("system", "system_scope:all", "")])
    assert enforcer.enforce("system", RequestContext("u", None, ("admin",), system_scope="all"))
    assert not enforcer.enforce("system", RequestContext("u", "p", ("admin",)))


def test_remembered_decisions_follow_the_target_and_the_caller() -> None:
    enforcer = Enforcer([
        RuleDefault("own", OWN, ""),
        RuleDefault("mine", "rule:own and user_id:%(user_id)s", ""),
    ])
    for _ in range(2):  # the second round answers from what the first remembered
        assert enforcer.enforce("own", MEMBER, {"project_id": "p-a", "server_id": "1"})
        assert enforcer.enforce("own", MEMBER, {"project_id": "p-a", "server_id": "2"})
        assert not enforcer.enforce("own", MEMBER, {"project_id": "p-b"})
        assert not enforcer.enforce("own", RequestContext("u-m", "p-a", ("reader",)))
        assert enforcer.enforce("mine", MEMBER, {"user_id": "u-m"})
        assert not enforcer.enforce("mine", MEMBER, {"user_id": "u-x"})
