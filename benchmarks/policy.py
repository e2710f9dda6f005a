"""Time policy checks: what the route middleware and the handlers' finer checks cost.

    python benchmarks/policy.py               # 100,000 checks of each case
    python benchmarks/policy.py --calls 20000

Each case calls ``Enforcer.authorize`` (the middleware's path) on a typical rule,
``role:admin or project_id:%(project_id)s``, and on a real default that goes through
``rule:`` references (``os_compute_api:servers:show``), for a caller the rule lets
through and, through ``common.policy.allowed``, one it refuses. Prints microseconds per
check and the checks per second one core can do; no assertions.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import policy
from common.context import RequestContext
from common.policy import Decision, Enforcer, RuleDefault

TYPICAL = "role:admin or project_id:%(project_id)s"
MEMBER = RequestContext("u-1", "p-1", ("member", "reader"))
OTHER = RequestContext("u-2", "p-2", ("member", "reader"))


def timed(label: str, calls: int, one: Callable[[], object]) -> None:
    for _ in range(min(calls, 1000)):  # warm up (caches, first file stat)
        one()
    start = time.perf_counter()
    for _ in range(calls):
        one()
    elapsed = time.perf_counter() - start
    per_call = elapsed / calls * 1e6
    print(f"{label:<58} {calls:>8} calls  {elapsed:7.3f} s  {per_call:7.2f} us/check  "
          f"{calls / elapsed:>10,.0f} checks/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    args = parser.parse_args()

    from compute_api.runtime import api_enforcer

    typical = Enforcer([RuleDefault("probe", TYPICAL, "a typical rule")])
    compute = api_enforcer(None)
    target = {"project_id": "p-1", "user_id": "u-1"}
    print(f"engine: {policy.__file__}")
    timed(f"authorize {TYPICAL!r}", args.calls,
          lambda: typical.authorize("probe", MEMBER, target))
    timed("authorize os_compute_api:servers:show (rule: chain)", args.calls,
          lambda: compute.authorize("os_compute_api:servers:show", MEMBER, target))
    token = policy.bind(Decision(typical, "probe"))
    try:
        timed(f"allowed {TYPICAL!r}, refused", args.calls,
              lambda: policy.allowed(OTHER, "probe", target))
    finally:
        policy.unbind(token)


if __name__ == "__main__":
    main()
