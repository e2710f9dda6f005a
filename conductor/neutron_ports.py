"""A server's ports in an external Neutron (``[network] backend = neutron``).

The API records what a create asked for (``instances.network_request``); the conductor
makes Neutron agree with the server as its record stands (``converge``):

- a server on a host: every requested port exists (made for it on the requested
  network, or the one handed in), carries the server as its device and is bound to the
  host; ``addresses`` is rewritten from Neutron's answer;
- a server on no host (shelved offloaded, failed before a host): its ports stay its
  own, bound nowhere;
- a deleted server: the ports made for it are deleted, the ones handed in are detached
  and unbound (they stay, as Nova keeps them), and ``network_request`` is cleared.

``ports_host`` records the host the ports were last bound to. A flow converges right
after it commits a change of host (build, moves, shelve, delete); the conductor's sweep
(``sweep``) converges every settled server whose ``ports_host`` differs from its host,
and every deleted server whose request is still recorded, so a conductor that dies
between its commit and Neutron's answer loses nothing.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from common.compute_db.models import Instance
from common.db import read_only, transaction
from common.errors import Conflict, ControlPlaneError, NotFound, ServiceUnavailable
from common.messages import PortPayload
from common.neutron import NeutronClient, NeutronView
from common.states import VmState

LOG = logging.getLogger(__name__)

# Servers a sweep converges at most (the oldest first); the next sweep takes the rest.
SWEEP_BATCH = 50
# A server whose converge failed waits this long before the sweep tries it again,
# doubled at each failure up to BACKOFF_MAX: one Neutron keeps refusing never starves
# the servers behind it, nor fills the log every sweep.
BACKOFF_FIRST = 10.0
BACKOFF_MAX = 600.0


def _device_owner(inst: Instance) -> str:
    return f"compute:{inst.availability_zone or 'nova'}"


class NeutronPorts:
    """Converges servers' ports in Neutron with their records (see the module's doc)."""

    def __init__(self, sessions: sessionmaker[Session], neutron: NeutronClient) -> None:
        self._sessions = sessions
        self._reads = read_only(sessions)
        self.neutron = neutron
        # One converge per server at a time in this process (a flow and the sweep).
        self._locks: dict[uuid.UUID, tuple[threading.Lock, int]] = {}
        self._guard = threading.Lock()
        # The sweep's servers waiting out a failure: when to try again, the wait.
        self._backoff: dict[uuid.UUID, tuple[float, float]] = {}

    @contextlib.contextmanager
    def _serialised(self, instance_uuid: uuid.UUID) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(instance_uuid, (threading.Lock(), 0))
            self._locks[instance_uuid] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[instance_uuid]
                if users == 1:
                    del self._locks[instance_uuid]
                else:
                    self._locks[instance_uuid] = (lock, users - 1)

    def _load(self, instance_uuid: uuid.UUID) -> Instance | None:
        with transaction(self._reads) as session:
            inst = session.scalar(sa.select(Instance).where(Instance.uuid == instance_uuid))
            if inst is not None:
                session.expunge(inst)
            return inst

    def converge(self, instance_uuid: uuid.UUID, host: str | None = None
                 ) -> NeutronView | None:
        """Make Neutron agree with the server's record; the view of its ports where they
        are bound to a host. ``host``: bind there (a flow's step ahead of the record's
        host; the sweep converges to the record once the task is over). Raises
        ControlPlaneError (Neutron refused or is unreachable)."""
        with self._serialised(instance_uuid):
            view = self._converge(instance_uuid, host)
        self._backoff.pop(instance_uuid, None)
        return view

    def _converge(self, instance_uuid: uuid.UUID, host: str | None) -> NeutronView | None:
        inst = self._load(instance_uuid)
        if inst is None or inst.ports_host is None:
            return None
        if inst.deleted:
            self._release(inst)
            return None
        target = (inst.host or "") if host is None else host
        view = self._bind(inst, target)
        self._record(inst, target, view)
        return view if target else None

    def _owned(self, inst: Instance) -> tuple[list[dict[str, Any]], set[str]]:
        """The server's ports in Neutron now, and the ids of those handed in."""
        request = inst.network_request or {}
        handed = {str(i["port_id"]) for i in request.get("interfaces", [])
                  if i.get("port_id") and not i.get("made")}
        return self.neutron.ports_of(str(inst.uuid), inst.project_id), handed

    def _bind(self, inst: Instance, host: str) -> NeutronView:
        """Every requested port exists, is the server's and bound to ``host`` ("" none),
        in the order asked; ports made for it on a host only."""
        existing, _ = self._owned(inst)
        request = inst.network_request or {}
        named = {str(i["port_id"]) for i in request.get("interfaces", []) if i.get("port_id")}
        spare = [p for p in sorted(existing, key=lambda p: (str(p.get("created_at") or ""),
                                                             p["id"]))
                 if p["id"] not in named]
        building = inst.vm_state == VmState.BUILDING.value
        ordered: list[dict[str, Any]] = []
        for iface in request.get("interfaces", []):
            if iface.get("port_id"):
                port = next((p for p in existing if p["id"] == iface["port_id"]), None)
                taken = self._take(inst, str(iface["port_id"]), port, host)
                if taken is not None:
                    ordered.append(taken)
                continue
            port = next((p for p in spare if p["network_id"] == iface["network_id"]), None)
            if port is not None:
                spare.remove(port)
                ordered.append(self._rebind(port, host))
            elif host and building:
                # Made once, while it is built: a port deleted in Neutron later is not
                # made again behind its owner's back.
                ordered.append(self._make(inst, iface, request.get("security_groups"),
                                          host))
        failed = [p["id"] for p in ordered if p.get("binding:vif_type") == "binding_failed"]
        if host and failed:
            # No agent of Neutron's on the host could wire it: a guest would be cut off.
            raise Conflict(f"Binding failed for port {failed[0]} on host {host}, please "
                           "check neutron logs for more information.")
        return NeutronView.read(self.neutron, ordered)

    def _take(self, inst: Instance, port_id: str, port: dict[str, Any] | None,
              host: str) -> dict[str, Any] | None:
        """A handed-in port made the server's (device and binding); None: it is gone,
        or another device's now (never taken from it)."""
        if port is not None and port.get("binding:host_id", "") == host:
            return port
        body = {"binding:host_id": host}
        if port is None:
            try:
                found = self.neutron.call("GET", f"/ports/{port_id}")["port"]
            except NotFound:
                if inst.vm_state == VmState.BUILDING.value:
                    raise NotFound(f"Port id {port_id} could not be found.") from None
                LOG.warning("port %s of %s is gone from Neutron", port_id, inst.uuid)
                return None
            if found.get("device_id") not in ("", str(inst.uuid)) or (
                    found.get("project_id") or found.get("tenant_id")) != inst.project_id:
                if inst.vm_state == VmState.BUILDING.value:
                    # Taken meanwhile: the server is not built without the port it asked
                    # for, as Nova fails such a build.
                    raise Conflict(f"Port {port_id} is still in use.")
                LOG.warning("port %s of %s is %s's now; left to it", port_id, inst.uuid,
                            found.get("device_id"))
                return None
            body.update(device_id=str(inst.uuid), device_owner=_device_owner(inst))
        answer = self.neutron.call("PUT", f"/ports/{port_id}", {"port": body})
        return dict(answer["port"])

    def _rebind(self, port: dict[str, Any], host: str) -> dict[str, Any]:
        if port.get("binding:host_id", "") == host:
            return port
        answer = self.neutron.call("PUT", f"/ports/{port['id']}",
                                   {"port": {"binding:host_id": host}})
        return dict(answer["port"])

    def _make(self, inst: Instance, iface: dict[str, Any], groups: list[str] | None,
              host: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "network_id": iface["network_id"], "project_id": inst.project_id,
            "device_id": str(inst.uuid), "device_owner": _device_owner(inst),
            "binding:host_id": host}
        if iface.get("fixed_ip"):
            body["fixed_ips"] = [{"ip_address": iface["fixed_ip"]}]
        if groups:
            body["security_groups"] = list(groups)
        answer = self.neutron.call("POST", "/ports", {"port": body})
        LOG.info("made port %s on network %s for %s", answer["port"]["id"],
                 iface["network_id"], inst.uuid)
        return dict(answer["port"])

    def _record(self, inst: Instance, host: str, view: NeutronView) -> None:
        with transaction(self._sessions) as session:
            session.execute(sa.update(Instance).where(
                Instance.uuid == inst.uuid, Instance.deleted.is_(False))
                .values(ports_host=host, addresses=view.addresses())
                .execution_options(synchronize_session=False))

    def _release(self, inst: Instance) -> None:
        """A deleted server's ports: its own deleted, handed-in ones detached."""
        existing, handed = self._owned(inst)
        for port in existing:
            if port["id"] in handed:
                self.neutron.call("PUT", f"/ports/{port['id']}", {"port": {
                    "device_id": "", "device_owner": "", "binding:host_id": ""}})
            else:
                with contextlib.suppress(NotFound):
                    self.neutron.call("DELETE", f"/ports/{port['id']}")
        with transaction(self._sessions) as session:
            session.execute(sa.update(Instance).where(Instance.uuid == inst.uuid)
                            .values(network_request=sa.null(), ports_host=None)
                            .execution_options(synchronize_session=False))
        LOG.info("released the ports of deleted instance %s", inst.uuid)

    # Interfaces attached and detached (conductor/flows/interfaces.py).

    def port(self, instance_uuid: uuid.UUID, port_id: uuid.UUID) -> PortPayload | None:
        """One of the server's ports as its host wires it; None: not the server's."""
        inst = self._load(instance_uuid)
        if inst is None:
            return None
        held = [p for p in self.neutron.ports_of(str(instance_uuid), inst.project_id)
                if p["id"] == str(port_id)]
        return NeutronView.read(self.neutron, held).payloads()[0] if held else None

    def bind_port(self, port_id: uuid.UUID, host: str) -> None:
        self.neutron.call("PUT", f"/ports/{port_id}", {"port": {"binding:host_id": host}})

    def forget(self, instance_uuid: uuid.UUID, port_id: uuid.UUID) -> None:
        """Release one port of the server (deleted if made for it, else detached) and
        drop it from the server's request; its addresses are rewritten."""
        with self._serialised(instance_uuid):
            inst = self._load(instance_uuid)
            if inst is None or inst.ports_host is None:
                return
            request = dict(inst.network_request or {})
            interfaces = list(request.get("interfaces", []))
            entry = next((i for i in interfaces if i.get("port_id") == str(port_id)), None)
            held = self.neutron.ports_of(str(instance_uuid), inst.project_id)
            try:
                if not any(p["id"] == str(port_id) for p in held):
                    pass  # not the server's (any more): nothing to release
                elif entry is None or entry.get("made"):
                    # Made for it: at its build (recorded by network only) or by an
                    # attach. Deleted, as a deleted server's are (``_release``).
                    self.neutron.call("DELETE", f"/ports/{port_id}")
                else:
                    # Handed in by its user: detached, never deleted.
                    self.neutron.call("PUT", f"/ports/{port_id}", {"port": {
                        "device_id": "", "device_owner": "", "binding:host_id": ""}})
            except NotFound:
                pass
            request["interfaces"] = [i for i in interfaces if i is not entry]
            view = NeutronView.read(self.neutron, [p for p in held
                                                   if p["id"] != str(port_id)])
            with transaction(self._sessions) as session:
                session.execute(sa.update(Instance).where(
                    Instance.uuid == instance_uuid, Instance.deleted.is_(False))
                    .values(network_request=request, addresses=view.addresses())
                    .execution_options(synchronize_session=False))

    def view(self, instance_uuid: uuid.UUID) -> NeutronView:
        """The server's ports now, in the order it asked for them."""
        inst = self._load(instance_uuid)
        if inst is None:
            return NeutronView.read(self.neutron, [])
        return NeutronView.read(self.neutron, self.neutron.server_ports(
            str(instance_uuid), inst.project_id, inst.network_request))

    def converge_quietly(self, instance_uuid: uuid.UUID, host: str | None = None
                         ) -> None:
        """``converge``, a failure only logged: the sweep tries again."""
        try:
            self.converge(instance_uuid, host=host)
        except ControlPlaneError as exc:
            LOG.warning("ports of %s not converged yet: %s", instance_uuid, exc)

    def run(self) -> None:
        self.sweep()

    def sweep(self) -> int:
        """Converge the servers whose ports disagree with their records; how many."""
        with transaction(self._reads) as session:
            due = list(session.scalars(
                sa.select(Instance.uuid).where(
                    Instance.ports_host.is_not(None),
                    sa.or_(Instance.deleted.is_(True),
                           sa.and_(Instance.task_state.is_(None),
                                   sa.func.coalesce(Instance.host, "")
                                   != sa.func.coalesce(Instance.ports_host, ""))))
                .where(Instance.uuid.not_in(self._waiting()))
                .order_by(Instance.updated_at).limit(SWEEP_BATCH)))
        for instance_uuid in due:
            try:
                self.converge(instance_uuid)
            except ServiceUnavailable as exc:
                # Neutron is down: the others would fail the same way; next sweep.
                LOG.warning("ports sweep stopped, Neutron does not answer: %s", exc)
                break
            except ControlPlaneError as exc:
                wait = min(BACKOFF_MAX, self._backoff.get(instance_uuid, (0.0, 0.0))[1] * 2
                           or BACKOFF_FIRST)
                self._backoff[instance_uuid] = (time.monotonic() + wait, wait)
                LOG.warning("ports of %s not converged (%s); tried again in %.0f s",
                            instance_uuid, exc, wait)
        return len(due)

    def _waiting(self) -> list[uuid.UUID]:
        """The servers still waiting out a failure (the next failure of one whose wait
        is over doubles that wait: it is kept with the entry)."""
        now = time.monotonic()
        return [u for u, (again, _wait) in list(self._backoff.items()) if again > now]
