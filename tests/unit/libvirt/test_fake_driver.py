"""The fake driver implements the same protocols as the libvirt one."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from common.errors import DriverError, NotFound
from common.messages import FlavorPayload, InstancePayload
from common.settings import ComputeSettings
from common.states import PowerState
from compute_agent.virt.driver import Driver
from compute_agent.virt.fake import FakeDriver


def spawned() -> tuple[FakeDriver, uuid.UUID, list[tuple[uuid.UUID, int]]]:
    drv = FakeDriver("h", ComputeSettings())
    events: list[tuple[uuid.UUID, int]] = []
    drv.set_power_event_handler(lambda u, s: events.append((u, s)))
    inst = InstancePayload(
        uuid=uuid.uuid4(), display_name="vm", project_id="p", user_id="u",
        flavor=FlavorPayload(flavorid="f", name="f", vcpus=1, memory_mb=64),
        image_ref="i", vm_state="building", task_state="spawning", power_state=0,
        host="h", node="h")
    drv.spawn(inst)
    return drv, inst.uuid, events


def test_fake_is_a_driver() -> None:
    drv: Driver = FakeDriver("h", ComputeSettings())
    assert drv.node_traits()[0] == "COMPUTE_NODE"
    assert drv.node_traits()[1].startswith("HW_ARCH_")


def test_fake_power_cycle_and_events() -> None:
    drv, u, events = spawned()

    assert drv.pause(u) == PowerState.PAUSED
    assert drv.unpause(u) == PowerState.RUNNING
    assert drv.suspend(u) == PowerState.SUSPENDED
    assert drv.resume(u) == PowerState.RUNNING
    assert drv.power_off(u) == PowerState.SHUTDOWN
    assert drv.power_on(u) == PowerState.RUNNING
    assert drv.reboot(u, hard=True) == PowerState.RUNNING
    assert events[0] == (u, PowerState.PAUSED)
    with pytest.raises(DriverError):
        drv.unpause(u)


def test_fake_console_and_snapshot(tmp_path: Path) -> None:
    drv, u, _ = spawned()

    assert "booted" in drv.console_output(u)
    assert drv.console_output(u, 1) == "login: "  # the tail: the prompt, no newline
    drv.snapshot(u, tmp_path / "s")
    assert (tmp_path / "s").read_bytes().startswith(b"fake snapshot")
    drv.destroy(u)
    with pytest.raises(NotFound):
        drv.console_output(u)
