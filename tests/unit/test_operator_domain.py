"""Pure parts of the operator APIs: binary names, usage hours, hypervisor sums."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from common.compute_db.models import ComputeNode, Instance, Service
from common.errors import BadRequest
from compute_api import hypervisors, usage
from compute_api.host_services import shown_binary, stored_binary
from compute_api.hypervisors import Hypervisor

T0 = datetime(2026, 1, 1)


@pytest.mark.parametrize(("given", "stored"), [
    ("nova-compute", "kilonova-compute"), ("kilonova-compute", "kilonova-compute"),
    ("nova-scheduler", "kilonova-scheduler")])
def test_binaries_are_accepted_in_both_spellings(given: str, stored: str) -> None:
    assert stored_binary(given) == stored
    assert shown_binary(stored) == "nova-" + stored.removeprefix("kilonova-")


def _instance(launched: datetime, terminated: datetime | None = None) -> Instance:
    return Instance(uuid=uuid.uuid4(), display_name="vm", project_id="p",
                    flavor={"vcpus": 2, "memory_mb": 512, "root_gb": 1, "ephemeral_gb": 1},
                    launched_at=launched, terminated_at=terminated, vm_state="active")


def test_usage_counts_the_hours_inside_the_period_only() -> None:
    start, stop = T0, T0 + timedelta(hours=10)
    inside = _instance(T0 + timedelta(hours=2), T0 + timedelta(hours=5))
    running = _instance(T0 - timedelta(hours=3))
    (project,) = usage.by_project([inside, running], start, stop)
    assert [round(s.hours, 6) for s in project.servers] == [3.0, 10.0]
    assert project.total("vcpus") == pytest.approx(26.0)
    assert project.total("local_gb") == pytest.approx(26.0)


def test_usage_periods_parse_as_upstream_accepts() -> None:
    assert usage.parse_time("2026-01-01T00:00:00") == T0
    assert usage.parse_time("2026-01-01 00:00:00.000000") == T0
    with pytest.raises(BadRequest):
        usage.parse_time("yesterday")


def _hypervisor(vcpus: int, used: dict[str, int], up: bool = True) -> Hypervisor:
    node = ComputeNode(uuid=uuid.uuid4(), host="h", hypervisor_hostname="h", vcpus=vcpus,
                       memory_mb=1024, local_gb=10)
    svc = Service(host="h", binary="kilonova-compute", created_at=T0, disabled=False)
    return Hypervisor(node, svc, up, used, running_vms=1, current_workload=0)


def test_statistics_sum_the_nodes() -> None:
    stats = hypervisors.statistics([_hypervisor(4, {"VCPU": 1, "MEMORY_MB": 256}),
                                    _hypervisor(8, {"DISK_GB": 3})])
    assert stats["count"] == 2 and stats["vcpus"] == 12 and stats["vcpus_used"] == 1
    assert stats["free_ram_mb"] == 2048 - 256 and stats["free_disk_gb"] == 17
    assert stats["running_vms"] == 2
    assert hypervisors.statistics([])["vcpus"] == 0


def test_uptime_is_the_service_age_and_none_while_down() -> None:
    hyp = _hypervisor(1, {})
    text = hypervisors.uptime(hyp, T0 + timedelta(days=2, hours=3, minutes=4))
    assert text is not None and "up 2 days,  3:04" in text
    assert hypervisors.uptime(_hypervisor(1, {}, up=False)) is None
