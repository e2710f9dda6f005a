"""The hypervisor driver interface, split into small protocols."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from common.messages import (
    FlavorPayload,
    GuestAddress,
    GuestDiagnostics,
    InstancePayload,
    NodeReport,
    PortPayload,
)

# Called with (instance uuid, power state) when the hypervisor reports a change.
PowerEventHandler = Callable[[uuid.UUID, int], None]


class HostInfo(Protocol):
    def node_report(self) -> NodeReport:
        """The capacity this hypervisor offers."""
        ...

    def node_traits(self) -> list[str]:
        """Standard (os-traits) traits of this host and driver."""
        ...


class Lifecycle(Protocol):
    def spawn(self, instance: InstancePayload) -> int:
        """Create and start the guest; return its power state. Raises DriverError."""
        ...

    def destroy(self, instance_uuid: uuid.UUID) -> None:
        """Stop and remove the guest and everything it owned; absent guests are fine."""
        ...

    def list_guests(self) -> dict[uuid.UUID, int]:
        """Every guest on this hypervisor and its power state."""
        ...


class Power(Protocol):
    """Each returns the guest's power state afterwards. Raise NotFound, DriverError."""

    def power_on(self, instance_uuid: uuid.UUID) -> int: ...

    def power_off(self, instance_uuid: uuid.UUID, timeout: float | None = None) -> int:
        """Graceful shutdown, then a hard stop after ``timeout`` seconds (0: at once)."""
        ...

    def reboot(self, instance_uuid: uuid.UUID, hard: bool = False) -> int: ...

    def pause(self, instance_uuid: uuid.UUID) -> int: ...

    def unpause(self, instance_uuid: uuid.UUID) -> int: ...

    def suspend(self, instance_uuid: uuid.UUID) -> int: ...

    def resume(self, instance_uuid: uuid.UUID) -> int: ...


class Console(Protocol):
    def console_output(self, instance_uuid: uuid.UUID, lines: int | None = None) -> str:
        """The last ``lines`` lines (all if None) the guest wrote to its console."""
        ...


class Snapshot(Protocol):
    def snapshot(self, instance_uuid: uuid.UUID, dest: Path) -> None:
        """Write a standalone qcow2 image of the root disk to ``dest``."""
        ...


class Migration(Protocol):
    def prepare_incoming(self, instance: InstancePayload) -> dict[str, str]:
        """On the destination: lay out the files a live migration will fill; answer
        what the source needs to reach this host (``migrate_uri``, if configured)."""
        ...

    def live_migrate(self, instance_uuid: uuid.UUID, dest_host: str,
                     timeout: float | None = None, migrate_uri: str | None = None) -> None:
        """Move the running guest (its data to the destination's ``migrate_uri``); on
        failure it keeps running here. Raises DriverError."""
        ...

    def abort_live_migration(self, instance_uuid: uuid.UUID) -> None:
        """Ask the running ``live_migrate`` of the guest to stop (it then raises
        DriverError and the guest keeps running here); nothing if none runs."""
        ...

    def force_complete_live_migration(self, instance_uuid: uuid.UUID) -> None:
        """Ask the running ``live_migrate`` of the guest to finish now (the guest is
        paused until it arrives); nothing if none runs."""
        ...

    def resize(self, instance: InstancePayload, flavor: FlavorPayload) -> int:
        """Cold resize on this host: stop, grow the root disk, apply the flavor, start."""
        ...

    def post_live_migration_at_destination(self, instance: InstancePayload) -> int:
        """On the destination, once the guest arrived: adopt it, answer its power state."""
        ...

    def rollback_live_migration_at_destination(self, instance_uuid: uuid.UUID) -> None:
        """On the destination, after a failed live migration: drop what was prepared."""
        ...

    def migrate_disk_and_power_off(self, instance: InstancePayload, dest_host: str
                                   ) -> dict[str, str]:
        """Cold migration, on the source: stop the guest and send its disks to
        ``dest_host``; the guest stays defined here until the move is confirmed.
        Returns what the destination needs to find the disks (``disk_info``)."""
        ...

    def finish_migration(self, instance: InstancePayload, flavor: FlavorPayload,
                         power_on: bool, disk_info: dict[str, str]) -> int:
        """Cold migration, on the destination: define the guest with ``flavor`` on the
        received disks, start it if ``power_on``; answer its power state."""
        ...

    def finish_revert_migration(self, instance: InstancePayload, power_on: bool) -> int:
        """Cold migration reverted, on the source: start the kept guest if ``power_on``."""
        ...


class Addresses(Protocol):
    def guest_addresses(self, instance_uuid: uuid.UUID) -> list[GuestAddress]:
        """The addresses the guest's interfaces hold now (empty until it got a lease).

        Raises NotFound, DriverError.
        """
        ...


class GuestActions(Protocol):
    """Actions on a guest that stays on this host. Raise NotFound, DriverError."""

    def rebuild(self, instance: InstancePayload, admin_pass: str | None,
                preserve_ephemeral: bool) -> int:
        """Destroy the guest and its root disk, spawn it again from ``instance.image_ref``
        (ephemeral disks kept if ``preserve_ephemeral``); answer its power state."""
        ...

    def rescue(self, instance: InstancePayload, rescue_image_ref: str,
               admin_pass: str | None) -> int:
        """Boot ``rescue_image_ref`` with the guest's own disks attached after its root;
        the guest's definition is kept for ``unrescue``. Answers the power state."""
        ...

    def unrescue(self, instance: InstancePayload) -> int:
        """Drop the rescue guest and boot the kept one again; answer its power state."""
        ...

    def inject_nmi(self, instance_uuid: uuid.UUID) -> None:
        """Send the running guest a non-maskable interrupt (a crash dump on Linux)."""
        ...

    def set_admin_password(self, instance: InstancePayload, password: str) -> None:
        """Set the guest's administrator password. Raises Conflict when the guest has no
        agent to do it."""
        ...

    def diagnostics(self, instance: InstancePayload) -> GuestDiagnostics:
        """What the hypervisor measures of the guest."""
        ...


class Interfaces(Protocol):
    """Ports hot-plugged into a guest and out. Raise NotFound (no guest), DriverError."""

    def attach_interface(self, instance: InstancePayload, port_info: PortPayload) -> None:
        """Give the guest an interface on the port (live if it runs, and in its persistent
        definition); on failure the guest is as before."""
        ...

    def detach_interface(self, instance: InstancePayload, port_id: uuid.UUID) -> None:
        """Remove the port's interface (``instance.ports`` names its MAC); an interface
        the guest does not have is fine."""
        ...


class Events(Protocol):
    def set_power_event_handler(self, handler: PowerEventHandler | None) -> None:
        """Call ``handler`` whenever a guest's power state changes."""
        ...


class Driver(HostInfo, Lifecycle, Power, Console, Snapshot, Migration, Addresses,
             GuestActions, Interfaces, Events, Protocol):
    """Everything the agent needs of a hypervisor."""
