"""How other services call the conductor."""

from __future__ import annotations

import uuid
from typing import Any

from common.context import RequestContext
from common.messages import (
    GuestAddress,
    GuestState,
    HostNetworkState,
    InstancePayload,
    NodeReport,
    dump,
)
from common.rpc import RpcClient

TOPIC = "conductor"


class ConductorClient(RpcClient):
    """1.0: builds and host records. 1.1: server actions (power, snapshot, resize,
    migrations), cast by the compute API. 1.2: agents report guests'
    addresses (``set_instance_addresses``). 1.3: the API hands deletes and console
    requests here, so only the conductor talks to agents. 1.4: the compute API's operator
    changes that placement must reflect (disabled hosts, aggregates, deleted hosts).
    1.5: evacuate_server; actions on the server's own host (rebuild, rescue, unrescue,
    crash dump, password) and its diagnostics; createBackup, shelve, shelveOffload,
    unshelve; ``power_action`` also takes softDelete and restore. 1.6: aborting and
    force-completing a live migration in progress; a restarting agent ends interrupted
    tasks and reports lost guests. 1.7: one heartbeat for all the hosts of an agent
    process (``service_heartbeats``) and one read of their servers for its periodic
    sync (``instances_on_hosts``). 1.8: ``register_compute`` takes ``rpc_server``, the
    queue of an agent process that serves many hosts. 1.9: ``metadata_for``, a host's
    metadata service asking whose request it serves. 1.10: attach_interface and
    detach_interface (os-interface), cast by the compute API. 1.11: a host's data plane:
    ``host_network_state``, ``ports_wired``; ``register_compute`` takes ``vtep_ip``,
    ``instance_spawned`` takes ``reports_wiring``. 1.12: ``network_changed``, cast by
    the compute API once a change to what hosts' data planes hold is committed."""

    topic = TOPIC
    version = "1.12"

    def build_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        self._cast(ctx, "build_instance", instance_uuid=str(instance_uuid))

    def network_changed(self, ctx: RequestContext) -> None:
        self._cast(ctx, "network_changed")

    def register_compute(self, ctx: RequestContext, host: str, node: NodeReport,
                         timeout: float | None = None, rpc_server: str | None = None,
                         vtep_ip: str | None = None) -> None:
        """``rpc_server``: the queue of the agent process serving ``host``, when one
        process serves many hosts (1.8); ``vtep_ip``: its VXLAN tunnel address (1.11)."""
        extra: dict[str, Any] = {} if rpc_server is None else {"rpc_server": rpc_server}
        if vtep_ip is not None:
            extra["vtep_ip"] = vtep_ip
        self._call(ctx, "register_compute", host=host, node=dump(node), timeout=timeout,
                   **extra)

    def service_heartbeat(self, ctx: RequestContext, host: str, binary: str,
                          timeout: float | None = None) -> None:
        self._call(ctx, "service_heartbeat", host=host, binary=binary, timeout=timeout)

    def service_heartbeats(self, ctx: RequestContext, hosts: list[str], binary: str,
                           timeout: float | None = None) -> None:
        """One message for every host an agent process serves (simulated hosts)."""
        self._call(ctx, "service_heartbeats", hosts=hosts, binary=binary, timeout=timeout)

    def instances_on_hosts(self, ctx: RequestContext, hosts: list[str]
                           ) -> dict[str, list[InstancePayload]]:
        """The servers of many hosts at once (an agent process's periodic sync)."""
        data = self._call_repeatable(ctx, "instances_on_hosts", hosts=hosts)
        return {h: [InstancePayload.model_validate(i) for i in found]
                for h, found in data.items()}

    def get_instance_for_host(
        self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID
    ) -> InstancePayload | None:
        data = self._call_repeatable(ctx, "get_instance_for_host", host=host,
                          instance_uuid=str(instance_uuid))
        return None if data is None else InstancePayload.model_validate(data)

    def instance_spawned(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                         power_state: int, reports_wiring: bool = False) -> bool:
        """``reports_wiring``: the agent reported its wired ports (``ports_wired``), the
        others are not ACTIVE (1.11)."""
        extra: dict[str, Any] = {"reports_wiring": True} if reports_wiring else {}
        return bool(self._call(ctx, "instance_spawned", host=host,
                               instance_uuid=str(instance_uuid), power_state=power_state,
                               **extra))

    def instance_spawn_failed(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                              reason: str, retryable: bool) -> None:
        self._cast(ctx, "instance_spawn_failed", host=host, instance_uuid=str(instance_uuid),
                   reason=reason, retryable=retryable)

    def instance_destroyed(self, ctx: RequestContext, host: str,
                           instance_uuid: uuid.UUID) -> None:
        self._call(ctx, "instance_destroyed", host=host, instance_uuid=str(instance_uuid))

    def instances_on_host(self, ctx: RequestContext, host: str) -> list[InstancePayload]:
        data = self._call_repeatable(ctx, "instances_on_host", host=host)
        return [InstancePayload.model_validate(item) for item in data]

    def sync_power_states(self, ctx: RequestContext, host: str,
                          guests: list[GuestState]) -> None:
        self._call_repeatable(ctx, "sync_power_states", host=host,
                              guests=[dump(g) for g in guests])

    # -- 1.9 -------------------------------------------------------------------------

    def metadata_for(self, ctx: RequestContext, host: str, network_id: uuid.UUID,
                     address: str) -> InstancePayload:
        """The instance of ``host`` holding ``address`` on the network, with its metadata
        facts. Raises NotFound (nobody holds it), Forbidden (not a guest of ``host``)."""
        data = self._call_repeatable(ctx, "metadata_for", host=host,
                                     network_id=str(network_id), address=address)
        return InstancePayload.model_validate(data)

    # -- 1.11 ------------------------------------------------------------------------

    def host_network_state(self, ctx: RequestContext, host: str) -> HostNetworkState:
        """What ``host``'s data plane should hold (``conductor/network_state.py``).
        Raises Forbidden (a credential of another host)."""
        data = self._call_repeatable(ctx, "host_network_state", host=host)
        return HostNetworkState.model_validate(data)

    def ports_wired(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                    port_ids: list[uuid.UUID]) -> None:
        """``host`` wired these ports of its server: ACTIVE. Raises Forbidden (not its
        server, or not the server's ports)."""
        self._call(ctx, "ports_wired", host=host, instance_uuid=str(instance_uuid),
                   port_ids=[str(p) for p in port_ids])

    # -- 1.3 -------------------------------------------------------------------------

    def delete_server(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        """Finish a delete the API started (a cast: the row says the server is being
        deleted, and a conductor takes a lost message over from it)."""
        self._cast(ctx, "delete_server", instance_uuid=str(instance_uuid))

    def get_console_output(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                           length: int | None) -> str:
        """The tail of the guest's console. Raises NotFound (no console), Conflict."""
        return str(self._call(ctx, "get_console_output", instance_uuid=str(instance_uuid),
                              length=length))

    # -- 1.2 -------------------------------------------------------------------------

    def set_instance_addresses(self, ctx: RequestContext, host: str,
                               instance_uuid: uuid.UUID, addresses: list[GuestAddress]) -> None:
        """Record the addresses a guest of ``host`` holds now (replacing the old ones)."""
        self._call(ctx, "set_instance_addresses", host=host, instance_uuid=str(instance_uuid),
                   addresses=[dump(a) for a in addresses])

    # -- 1.4: operator changes placement reflects, called by the API after its commit --

    def set_host_disabled(self, ctx: RequestContext, host: str, disabled: bool) -> None:
        self._call(ctx, "set_host_disabled", host=host, disabled=disabled)

    def set_host_aggregate(self, ctx: RequestContext, host: str, aggregate_uuid: uuid.UUID,
                           member: bool) -> None:
        self._call(ctx, "set_host_aggregate", host=host, aggregate_uuid=str(aggregate_uuid),
                   member=member)

    def remove_host_providers(self, ctx: RequestContext,
                              node_uuids: list[uuid.UUID]) -> None:
        self._call(ctx, "remove_host_providers", node_uuids=[str(n) for n in node_uuids])

    # -- 1.5: actions on the server's own host ----------------------------------------

    def rebuild_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                         admin_pass: str | None, preserve_ephemeral: bool) -> None:
        """Rebuild from the image the record names now (the API recorded it)."""
        self._cast(ctx, "rebuild_instance", instance_uuid=str(instance_uuid),
                   admin_pass=admin_pass, preserve_ephemeral=preserve_ephemeral)

    def rescue_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                        rescue_image_ref: str | None, admin_pass: str | None) -> None:
        self._cast(ctx, "rescue_instance", instance_uuid=str(instance_uuid),
                   rescue_image_ref=rescue_image_ref, admin_pass=admin_pass)

    def unrescue_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        self._cast(ctx, "unrescue_instance", instance_uuid=str(instance_uuid))

    def trigger_crash_dump(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        self._cast(ctx, "trigger_crash_dump", instance_uuid=str(instance_uuid))

    def set_admin_password(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                           password: str) -> None:
        """Set the guest's password; raises Conflict when its host cannot."""
        self._call(ctx, "set_admin_password", instance_uuid=str(instance_uuid),
                   password=password, timeout=self._timeout * 2)

    def get_diagnostics(self, ctx: RequestContext, instance_uuid: uuid.UUID
                        ) -> dict[str, Any]:
        """The guest's diagnostics (standard format). Raises NotFound, Conflict."""
        return dict(self._call(ctx, "get_diagnostics", instance_uuid=str(instance_uuid)))

    # -- 1.5: image-keeping server actions, cast by the API after its commit ---------

    def backup_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                        image_id: uuid.UUID, backup_type: str, rotation: int) -> None:
        self._cast(ctx, "backup_instance", instance_uuid=str(instance_uuid),
                   image_id=str(image_id), backup_type=backup_type, rotation=rotation)

    def shelve_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                        image_id: uuid.UUID) -> None:
        self._cast(ctx, "shelve_instance", instance_uuid=str(instance_uuid),
                   image_id=str(image_id))

    def shelve_offload_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        self._cast(ctx, "shelve_offload_instance", instance_uuid=str(instance_uuid))

    def unshelve_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                          host: str | None = None) -> None:
        """``host``: the destination an admin named (2.91), else the scheduler's pick."""
        self._cast(ctx, "unshelve_instance", instance_uuid=str(instance_uuid), host=host)
    # -- 1.6: a restarting agent reconciles its host -----------------------------------

    def end_interrupted_task(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                             power_state: int | None) -> bool:
        """End the agent task a restart interrupted (done or failed by the measured
        ``power_state``, None: no guest). False if the server had no such task."""
        return bool(self._call(ctx, "end_interrupted_task", host=host,
                               instance_uuid=str(instance_uuid), power_state=power_state))

    def guests_lost(self, ctx: RequestContext, host: str,
                    instance_uuids: list[uuid.UUID]) -> None:
        """Idle servers of ``host`` whose guest is gone: ERROR with a fault."""
        self._call(ctx, "guests_lost", host=host,
                   instance_uuids=[str(u) for u in instance_uuids])

    # -- 1.1: server actions, cast by the API once the task state is committed -------

    def power_action(self, ctx: RequestContext, instance_uuid: uuid.UUID, action: str) -> None:
        """``action``: a ``common.states.Action`` value of a power action (1.5: also
        softDelete and restore)."""
        self._cast(ctx, "power_action", instance_uuid=str(instance_uuid), action=action)

    def snapshot_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                          image_id: uuid.UUID) -> None:
        self._cast(ctx, "snapshot_instance", instance_uuid=str(instance_uuid),
                   image_id=str(image_id))

    def migrate_server(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                       migration_uuid: uuid.UUID) -> None:
        """Resize or cold-migrate, as the migration record says."""
        self._cast(ctx, "migrate_server", instance_uuid=str(instance_uuid),
                   migration_uuid=str(migration_uuid))

    def confirm_resize(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                       migration_uuid: uuid.UUID) -> None:
        self._cast(ctx, "confirm_resize", instance_uuid=str(instance_uuid),
                   migration_uuid=str(migration_uuid))

    def revert_resize(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                      migration_uuid: uuid.UUID) -> None:
        self._cast(ctx, "revert_resize", instance_uuid=str(instance_uuid),
                   migration_uuid=str(migration_uuid))

    def live_migrate_server(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                            migration_uuid: uuid.UUID) -> None:
        self._cast(ctx, "live_migrate_server", instance_uuid=str(instance_uuid),
                   migration_uuid=str(migration_uuid))

    # -- 1.5 -------------------------------------------------------------------------

    def evacuate_server(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                        migration_uuid: uuid.UUID, power_on: bool) -> None:
        self._cast(ctx, "evacuate_server", instance_uuid=str(instance_uuid),
                   migration_uuid=str(migration_uuid), power_on=power_on)

    # -- 1.6 -------------------------------------------------------------------------

    def abort_live_migration(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                             migration_uuid: uuid.UUID) -> None:
        self._cast(ctx, "abort_live_migration", instance_uuid=str(instance_uuid),
                   migration_uuid=str(migration_uuid))

    def force_complete_live_migration(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                                      migration_uuid: uuid.UUID) -> None:
        self._cast(ctx, "force_complete_live_migration", instance_uuid=str(instance_uuid),
                   migration_uuid=str(migration_uuid))

    # -- 1.10: os-interface ------------------------------------------------------------

    def attach_interface(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                         port_id: uuid.UUID) -> None:
        """Have the server's host hot-plug the port the API attached."""
        self._cast(ctx, "attach_interface", instance_uuid=str(instance_uuid),
                   port_id=str(port_id))

    def detach_interface(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                         port_id: uuid.UUID | str) -> None:
        """Have the server's host unplug the port, then release it."""
        self._cast(ctx, "detach_interface", instance_uuid=str(instance_uuid),
                   port_id=str(port_id))
