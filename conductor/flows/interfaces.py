"""Interfaces attached and detached (os-interface): the host hot-plugs, then the port
record follows.

The API made (or took over) the port, rewrote the server's addresses and set the
``interface_attaching`` task; this flow has the server's host plug it into the guest and
binds it there. A host that fails leaves no half-attached port: the port is released
again (deleted if it was made for the server, detached if handed in) with a fault. A
detach unplugs first and releases the port after, so a guest never keeps an interface
whose port is gone; a failed unplug keeps the port attached.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from common.compute_db.network_queries import (
    bind_server_ports,
    refresh_server_addresses,
    release_server_ports,
)
from common.compute_db.transition import transition
from common.context import RequestContext
from common.db import transaction
from common.errors import ControlPlaneError
from common.lifecycle import Event
from common.messages import PortPayload
from common.states import TaskState, VmState
from compute_agent.rpc.client import ComputeClient
from conductor.instances import port_payloads
from conductor.tasks import Tasks

LOG = logging.getLogger(__name__)

ATTACHING, DETACHING = TaskState.INTERFACE_ATTACHING, TaskState.INTERFACE_DETACHING
# Where a guest runs, so its plugged port carries traffic (ACTIVE); elsewhere DOWN.
_RUNNING = frozenset({VmState.ACTIVE, VmState.PAUSED})


class InterfaceFlow:
    def __init__(self, tasks: Tasks, compute: ComputeClient,
                 network_changed: Callable[[RequestContext], None] | None = None) -> None:
        self._tasks = tasks
        self._compute = compute
        # Tells the hosts' data planes (conductor/network_push.py): where a port now is,
        # or that it is gone.
        self._network_changed = network_changed or (lambda ctx: None)

    def _port(self, instance_uuid: uuid.UUID, port_id: uuid.UUID) -> PortPayload | None:
        if self._tasks.neutron_ports is not None:
            return self._tasks.neutron_ports.port(instance_uuid, port_id)
        with transaction(self._tasks.reads) as session:
            found = port_payloads(session, instance_uuid, only=port_id)
        return found[0] if found else None

    def attach(self, ctx: RequestContext, instance_uuid: uuid.UUID,
               port_id: uuid.UUID) -> None:
        """Hot-plug the port into the server's guest and bind it to the server's host."""
        inst = self._tasks.load(instance_uuid, ATTACHING)
        if inst is None:
            return
        port = self._port(instance_uuid, port_id)
        if port is None:
            self._tasks.fail(instance_uuid, ATTACHING,
                             f"Port {port_id} was detached while it was being attached")
            return
        host = inst.host
        neutron = self._tasks.neutron_ports
        if host is not None:
            # An offloaded server has no guest: its ports are bound when it is unshelved.
            # Bound first (DOWN), so the host wires it (filters, DHCP) before the guest
            # sees the interface.
            try:
                if neutron is not None:
                    neutron.bind_port(port_id, host)
            except ControlPlaneError as exc:
                self._undo_attach(instance_uuid, port_id,
                                  f"Failed to bind port {port_id} to {host}: {exc.message}")
                return
            with transaction(self._tasks.sessions) as session:
                bind_server_ports(session, instance_uuid, host, "DOWN", port_ids=[port_id])
            try:
                with self._tasks.event(ctx, instance_uuid, "compute_attach_interface", host):
                    self._compute.attach_interface(ctx, host, instance_uuid, port)
            except ControlPlaneError as exc:
                self._undo_attach(instance_uuid, port_id,
                                  f"Failed to attach interface {port_id} on {host}: "
                                  f"{exc.message}")
                self._network_changed(ctx)  # its rules and lease on the host go
                return
        if neutron is not None:
            # Its addresses, before the task ends: a client that sees the attach done
            # sees them.
            neutron.converge_quietly(instance_uuid)
        with transaction(self._tasks.sessions) as session:
            transition(session, instance_uuid, Event.DONE, expect_task={ATTACHING})
            if host is not None:
                # Also when the task expired meanwhile: the guest has the interface.
                bind_server_ports(session, instance_uuid, host,
                                  "ACTIVE" if inst.vm_state in _RUNNING else "DOWN",
                                  port_ids=[port_id])
        self._network_changed(ctx)
        LOG.info("instance %s: interface %s attached", instance_uuid, port_id)

    def _undo_attach(self, instance_uuid: uuid.UUID, port_id: uuid.UUID,
                     message: str) -> None:
        # Released in an external Neutron before the task ends (as the builtin port is
        # in its transaction): a client that sees the attach failed finds the port gone.
        self._forget(instance_uuid, port_id)
        with transaction(self._tasks.sessions) as session:
            transition(session, instance_uuid, Event.FAILED, expect_task={ATTACHING},
                       fault=message)
            if self._tasks.neutron_ports is None:
                release_server_ports(session, instance_uuid, port_ids=[port_id])
                refresh_server_addresses(session, instance_uuid)
        LOG.warning("instance %s: %s", instance_uuid, message)

    def _forget(self, instance_uuid: uuid.UUID, port_id: uuid.UUID) -> str | None:
        """With an external Neutron: release the port there (the sweep cannot tell a
        port whose attach failed from one being attached, so this is not left to it).
        Why it was not released, if it was not."""
        neutron = self._tasks.neutron_ports
        if neutron is None:
            return None
        try:
            neutron.forget(instance_uuid, port_id)
        except ControlPlaneError as exc:
            LOG.warning("instance %s: port %s not released yet: %s", instance_uuid, port_id,
                        exc.message)
            return exc.message
        return None

    def detach(self, ctx: RequestContext, instance_uuid: uuid.UUID,
               port_id: uuid.UUID) -> None:
        """Unplug the port from the server's guest, then release it."""
        inst = self._tasks.load(instance_uuid, DETACHING)
        if inst is None:
            return
        port = self._port(instance_uuid, port_id)
        host = inst.host
        if port is not None and host is not None:
            try:
                with self._tasks.event(ctx, instance_uuid, "compute_detach_interface", host):
                    self._compute.detach_interface(ctx, host, instance_uuid, port)
            except ControlPlaneError as exc:
                self._tasks.fail(instance_uuid, DETACHING,
                                 f"Failed to detach interface {port_id} on {host}: "
                                 f"{exc.message}")
                return
        # Released in an external Neutron before the task ends, as the builtin ports are
        # in its transaction. Not released: the detach failed (the port is still the
        # server's, in Neutron and in its record) and may be asked again.
        refused = self._forget(instance_uuid, port_id)
        if refused is not None:
            self._tasks.fail(instance_uuid, DETACHING,
                             f"Failed to release port {port_id}: {refused}")
            self._network_changed(ctx)
            return
        with transaction(self._tasks.sessions) as session:
            transition(session, instance_uuid, Event.DONE, expect_task={DETACHING})
            if self._tasks.neutron_ports is None:
                release_server_ports(session, instance_uuid, port_ids=[port_id])
                refresh_server_addresses(session, instance_uuid)
        # Its tap's rules, its lease and other hosts' entries for it go now.
        self._network_changed(ctx)
        LOG.info("instance %s: interface %s detached", instance_uuid, port_id)
