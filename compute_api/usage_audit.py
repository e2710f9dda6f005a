"""The instance usage audit report (os-instance_usage_audit_log).

Upstream's compute hosts run a periodic audit that emits one usage notification per
server and logs per host how it went; billing systems read the report to see whether a
period was fully audited. Kilonova has no such audit task (usage is reported on demand by
os-simple-tenant-usage), so the report says so truthfully: every compute host is listed
as not run for the period, with no instances and no errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from common.errors import BadRequest


def last_completed_month(before: datetime) -> tuple[datetime, datetime]:
    """The last whole calendar month ending at or before ``before`` (upstream's default
    audit period)."""
    end = before.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    begin = end.replace(year=end.year - 1, month=12) if end.month == 1 else \
        end.replace(month=end.month - 1)
    return begin, end


def parse_before(text: str) -> datetime:
    """``YYYY-MM-DD HH:MM:SS[.ffffff]`` as upstream takes it. Raises BadRequest."""
    for layout in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    raise BadRequest(f"Invalid timestamp for date {text}")


def report(compute_hosts: Sequence[str], before: datetime) -> dict[str, Any]:
    """The audit report of the period completed before ``before``."""
    begin, end = last_completed_month(before)
    hosts = sorted(set(compute_hosts))
    return {"period_beginning": str(begin), "period_ending": str(end),
            "num_hosts": len(hosts), "num_hosts_done": 0, "num_hosts_running": 0,
            "num_hosts_not_run": len(hosts), "hosts_not_run": hosts, "total_instances": 0,
            "total_errors": 0, "log": {},
            "overall_status": f"{'ALL' if not hosts else f'0 of {len(hosts)}'} hosts done. "
                              "0 errors."}
