"""POST /servers/{id}/action: one table names each action's policy and lifecycle actions."""

from __future__ import annotations

from collections import Counter

from common.states import ACTIONS as RULES
from common.states import Action
from compute_api.api.server_actions import HANDLERS
from compute_api.policies import ACTIONS

# Begun by other routes: DELETE /servers/{id} (forceDelete names DELETE too), and a soft
# delete is what DELETE does once deferred deletes are served; interfaces are attached
# and detached by POST and DELETE /servers/{id}/os-interface.
_NOT_ONLY_ACTIONS = {Action.DELETE, Action.SOFT_DELETE, Action.ATTACH_INTERFACE,
                     Action.DETACH_INTERFACE}


def test_every_served_action_has_a_policy_rule() -> None:
    assert set(HANDLERS) <= set(ACTIONS)


def test_every_lifecycle_action_is_started_by_exactly_one_body_key() -> None:
    named = Counter(a for rule in ACTIONS.values() for a in rule.starts)
    assert {a for a in RULES if a not in _NOT_ONLY_ACTIONS} <= set(named)
    assert [a for a, n in named.items() if n > 1] == []


def test_every_action_a_body_key_starts_has_a_state_rule() -> None:
    assert {a for rule in ACTIONS.values() for a in rule.starts} <= set(RULES)
