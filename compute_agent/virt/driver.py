"""The hypervisor driver interface, split into small protocols."""

from __future__ import annotations

import uuid
from typing import Protocol

from common.messages import InstancePayload, NodeReport


class HostInfo(Protocol):
    def node_report(self) -> NodeReport:
        """The capacity this hypervisor offers."""
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


class Driver(HostInfo, Lifecycle, Protocol):
    """Everything the agent needs of a hypervisor."""
