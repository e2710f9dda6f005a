"""Time policy checks: what the route middleware and the handlers' finer checks cost.

    python benchmarks/policy.py               # 100,000 checks of each case
    python benchmarks/policy.py --calls 20000

Each case calls ``Enforcer.authorize`` (the middleware's path) on a typical rule,
``role:admin or project_id:%(project_id)s``, and on a real default that goes through
``rule:`` references (``os_compute_api:servers:show``), for a caller the rule lets
through and, through ``common.policy.allowed``, one it refuses; the same caller and
target every time (as a server list asks per server), or a new project each call (what
an enforcer that remembers decisions has never seen). Prints microseconds per check,
wall clock and CPU time of this process (the CPU figure is steadier on a busy machine),
and the checks per second one core can do; no assertions.
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


def timed(label: str, calls: int, one: Callable[[int], object]) -> None:
    for i in range(min(calls, 1000)):  # warm up (caches, first file stat)
        one(i)
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(calls):
        one(i)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{label:<62} {calls:>7} calls  {elapsed / calls * 1e6:7.2f} us/check wall  "
          f"{cpu / calls * 1e6:7.2f} us/check cpu  {calls / cpu:>9,.0f} checks/s")


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
          lambda i: typical.authorize("probe", MEMBER, target))
    timed("authorize os_compute_api:servers:show (rule: chain)", args.calls,
          lambda i: compute.authorize("os_compute_api:servers:show", MEMBER, target))
    token = policy.bind(Decision(typical, "probe"))
    try:
        timed(f"allowed {TYPICAL!r}, refused", args.calls,
              lambda i: policy.allowed(OTHER, "probe", target))
    finally:
        policy.unbind(token)
    admin = RequestContext("u-a", "p-a", ("admin", "member", "reader"))
    timed("authorize the typical rule, a new project each call", args.calls,
          lambda i: typical.authorize("probe", admin, {"project_id": f"p-{i}"}))
    timed("authorize servers:show, a new project each call", args.calls,
          lambda i: compute.authorize("os_compute_api:servers:show", admin,
                                      {"project_id": f"p-{i}"}))


if __name__ == "__main__":
    main()
