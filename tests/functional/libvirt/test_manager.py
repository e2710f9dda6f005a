"""ComputeManager over the libvirt driver (test:///default), with a recording conductor."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any, cast

import pytest

from common.context import admin_context
from common.errors import NotFound
from common.messages import GuestState, InstancePayload, NodeReport
from common.states import PowerState
from compute_agent.manager import ComputeManager
from compute_agent.virt.libvirt import LibvirtDriver
from conductor.rpc.client import ConductorClient
from placement.client import PlacementClient
from tests.functional.libvirt.conftest import make_instance


class RecordingConductor:
    def __init__(self) -> None:
        self.instances: dict[uuid.UUID, InstancePayload] = {}
        self.power: list[GuestState] = []
        self.registered: list[NodeReport] = []
        self.changed = threading.Condition()
        # What instance_spawned answers: False once the record is no longer spawning.
        self.spawn_accepted = True

    def register_compute(self, ctx: Any, host: str, node: NodeReport, **_: Any) -> None:
        self.registered.append(node)

    def get_instance_for_host(self, ctx: Any, host: str, u: uuid.UUID
                              ) -> InstancePayload | None:
        return self.instances.get(u)

    def instance_spawned(self, ctx: Any, host: str, u: uuid.UUID, power_state: int,
                         reports_wiring: bool = False) -> bool:
        return self.spawn_accepted

    def sync_power_states(self, ctx: Any, host: str, guests: list[GuestState]) -> None:
        with self.changed:
            self.power.extend(guests)
            self.changed.notify_all()

    def last_power(self, u: uuid.UUID) -> int | None:
        states = [g.power_state for g in self.power if g.uuid == u]
        return states[-1] if states else None


class RecordingPlacement:
    def __init__(self) -> None:
        self.calls: dict[str, Any] = {}

    def ensure_resource_provider(self, rp: uuid.UUID, name: str) -> None:
        self.calls["provider"] = (rp, name)

    def set_inventory(self, rp: uuid.UUID, inventory: dict[str, Any]) -> None:
        self.calls["inventory"] = inventory

    def set_traits(self, rp: uuid.UUID, traits: list[str]) -> None:
        self.calls["traits"] = traits


@pytest.fixture
def conductor() -> RecordingConductor:
    return RecordingConductor()


@pytest.fixture
def placement() -> RecordingPlacement:
    return RecordingPlacement()


@pytest.fixture
def manager(driver: LibvirtDriver, conductor: RecordingConductor,
            placement: RecordingPlacement) -> ComputeManager:
    return ComputeManager("h", driver, cast(ConductorClient, conductor),
                          cast(PlacementClient, placement))


def booted(manager: ComputeManager, conductor: RecordingConductor) -> InstancePayload:
    inst = make_instance()
    conductor.instances[inst.uuid] = inst
    manager.build_and_run_instance(admin_context(), inst.uuid)
    return inst


def test_register_publishes_inventory_and_traits(manager: ComputeManager,
                                                 placement: RecordingPlacement) -> None:
    manager.register()

    assert placement.calls["inventory"]["VCPU"]["total"] == 16
    assert "COMPUTE_NODE" in placement.calls["traits"]


def test_power_operations_record_the_power_state(manager: ComputeManager,
                                                 conductor: RecordingConductor) -> None:
    inst = booted(manager, conductor)
    ctx = admin_context()

    assert manager.stop_instance(ctx, inst.uuid, timeout=0) == PowerState.SHUTDOWN
    assert conductor.last_power(inst.uuid) == PowerState.SHUTDOWN
    assert manager.start_instance(ctx, inst.uuid) == PowerState.RUNNING
    assert manager.pause_instance(ctx, inst.uuid) == PowerState.PAUSED
    assert manager.unpause_instance(ctx, inst.uuid) == PowerState.RUNNING
    assert manager.suspend_instance(ctx, inst.uuid) == PowerState.SUSPENDED
    assert manager.resume_instance(ctx, inst.uuid) == PowerState.RUNNING
    assert manager.reboot_instance(ctx, inst.uuid, hard=True) == PowerState.RUNNING
    assert conductor.last_power(inst.uuid) == PowerState.RUNNING


def test_hypervisor_events_update_power_state_without_waiting_for_sync(
    manager: ComputeManager, conductor: RecordingConductor, driver: LibvirtDriver
) -> None:
    inst = booted(manager, conductor)

    # Behind the agent's back, as an admin with virsh would.
    driver.conn.get().lookupByUUIDString(str(inst.uuid)).suspend()

    deadline = time.monotonic() + 5
    with conductor.changed:
        while conductor.last_power(inst.uuid) != PowerState.PAUSED:
            assert conductor.changed.wait(max(0.0, deadline - time.monotonic())), \
                f"no paused state recorded: {conductor.power}"


def test_operations_refused_for_instances_of_other_hosts(manager: ComputeManager) -> None:
    with pytest.raises(NotFound):
        manager.stop_instance(admin_context(), uuid.uuid4())
    with pytest.raises(NotFound):
        manager.get_console_output(admin_context(), uuid.uuid4())


def test_resize_applies_the_new_flavor(manager: ComputeManager,
                                       conductor: RecordingConductor,
                                       driver: LibvirtDriver) -> None:
    inst = booted(manager, conductor)
    bigger = inst.flavor.model_copy(update={"vcpus": 2, "memory_mb": 128, "root_gb": 2})

    assert manager.resize_instance(admin_context(), inst.uuid, bigger) == PowerState.RUNNING

    dom = driver.conn.get().lookupByUUIDString(str(inst.uuid))
    assert dom.info()[1] == 128 * 1024
    assert dom.info()[3] == 2


def test_terminate_removes_the_guest(manager: ComputeManager, conductor: RecordingConductor,
                                     driver: LibvirtDriver) -> None:
    inst = booted(manager, conductor)
    assert driver.list_guests()[inst.uuid] == PowerState.RUNNING

    cast(Any, conductor).instance_destroyed = lambda *a, **k: None
    manager.terminate_instance(admin_context(), inst.uuid)

    assert inst.uuid not in driver.list_guests()
    assert not driver.instance_dir(inst.uuid).exists()


def test_a_late_duplicate_build_message_keeps_the_guest_of_an_active_server(
        manager: ComputeManager, conductor: RecordingConductor, driver: LibvirtDriver) -> None:
    # A broker outage can deliver a build cast after the conductor cast it again: the
    # late copy carries the record as it was (spawning) though the server is ACTIVE.
    stale = make_instance()
    conductor.instances[stale.uuid] = stale
    manager.build_and_run_instance(admin_context(), stale.uuid, stale)
    assert stale.uuid in driver.list_guests()
    conductor.instances[stale.uuid] = stale.model_copy(update={
        "vm_state": "active", "task_state": None, "power_state": PowerState.RUNNING})
    conductor.spawn_accepted = False
    manager.build_and_run_instance(admin_context(), stale.uuid, stale)
    assert stale.uuid in driver.list_guests()
    # Deleted meanwhile: the guest a late build message finds has no record, and goes.
    del conductor.instances[stale.uuid]
    manager.build_and_run_instance(admin_context(), stale.uuid, stale)
    assert stale.uuid not in driver.list_guests()
