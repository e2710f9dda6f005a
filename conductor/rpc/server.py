"""The conductor's RPC endpoints: decode, call the flow, return."""

from __future__ import annotations

import uuid
from typing import Any

import oslo_messaging as om

from common.context import RequestContext
from common.errors import BadRequest, Forbidden
from common.messages import GuestAddress, GuestState, NodeReport, dump
from common.retries import transient_retries
from common.rpc import endpoint
from common.states import Action
from conductor.flows.actions import POWER_CALLS, ActionFlow
from conductor.flows.build import BuildFlow
from conductor.flows.delete import DeleteFlow
from conductor.flows.evacuate import EvacuateFlow
from conductor.flows.host_actions import HostActionFlow
from conductor.flows.interfaces import InterfaceFlow
from conductor.flows.live_migrate import LiveMigrateFlow
from conductor.flows.resize import ResizeFlow
from conductor.flows.shelve import ShelveFlow
from conductor.host_providers import HostProviders
from conductor.hosts import HostRecords
from conductor.metadata import GuestMetadata
from conductor.network_push import NetworkPush
from conductor.reconcile import AgentReconcile


def acting_for(ctx: RequestContext, host: str) -> None:
    """A host-bound caller (an agent's credential) acts only for its own hosts.
    Raises Forbidden."""
    if ctx.service_hosts is not None and host not in ctx.service_hosts:
        raise Forbidden(f"this credential does not act for host {host}")


@transient_retries
class ConductorEndpoint:
    target = om.Target(version="1.12")

    def __init__(self, builds: BuildFlow, deletes: DeleteFlow, hosts: HostRecords,
                 actions: ActionFlow, resizes: ResizeFlow, live: LiveMigrateFlow,
                 providers: HostProviders, evacuations: EvacuateFlow,
                 on_host: HostActionFlow, shelves: ShelveFlow,
                 reconcile: AgentReconcile, metadata: GuestMetadata,
                 interfaces: InterfaceFlow, push: NetworkPush) -> None:
        self._push = push
        self._builds = builds
        self._deletes = deletes
        self._hosts = hosts
        self._actions = actions
        self._resizes = resizes
        self._live = live
        self._providers = providers
        self._evacuations = evacuations
        self._on_host = on_host
        self._shelves = shelves
        self._reconcile = reconcile
        self._metadata = metadata
        self._interfaces = interfaces

    @endpoint
    def build_instance(self, ctx: RequestContext, instance_uuid: str) -> None:
        self._builds.build(ctx, uuid.UUID(instance_uuid), fresh=True)

    @endpoint
    def register_compute(self, ctx: RequestContext, host: str, node: dict[str, Any],
                         rpc_server: str | None = None, vtep_ip: str | None = None) -> None:
        self._hosts.register(host, NodeReport.model_validate(node), rpc_server, vtep_ip)

    @endpoint
    def service_heartbeat(self, ctx: RequestContext, host: str, binary: str) -> None:
        self._hosts.heartbeat(host, binary)

    @endpoint
    def service_heartbeats(self, ctx: RequestContext, hosts: list[str], binary: str) -> None:
        self._hosts.heartbeats(hosts, binary)

    @endpoint
    def instances_on_hosts(self, ctx: RequestContext, hosts: list[str]
                           ) -> dict[str, list[dict[str, Any]]]:
        return {h: [dump(i) for i in found]
                for h, found in self._hosts.instances_on_hosts(hosts).items()}

    @endpoint
    def get_instance_for_host(self, ctx: RequestContext, host: str,
                              instance_uuid: str) -> dict[str, Any] | None:
        found = self._hosts.instance_for_host(host, uuid.UUID(instance_uuid))
        return None if found is None else dump(found)

    @endpoint
    def instance_spawned(self, ctx: RequestContext, host: str, instance_uuid: str,
                         power_state: int, reports_wiring: bool = False) -> bool:
        return self._hosts.spawned(host, uuid.UUID(instance_uuid), power_state,
                                   reports_wiring)

    @endpoint
    def instance_spawn_failed(self, ctx: RequestContext, host: str, instance_uuid: str,
                              reason: str, retryable: bool) -> None:
        self._builds.spawn_failed(ctx, host, uuid.UUID(instance_uuid), reason, retryable)

    @endpoint
    def instance_destroyed(self, ctx: RequestContext, host: str, instance_uuid: str) -> None:
        self._deletes.destroyed(host, uuid.UUID(instance_uuid))
        # Its ports are released: their taps' rules, leases and other hosts' forwarding
        # entries go now.
        self._push.changed(ctx)

    @endpoint
    def instances_on_host(self, ctx: RequestContext, host: str) -> list[dict[str, Any]]:
        return [dump(i) for i in self._hosts.instances_on_host(host)]

    @endpoint
    def sync_power_states(self, ctx: RequestContext, host: str,
                          guests: list[dict[str, Any]]) -> None:
        self._hosts.sync_power_states(host, [GuestState.model_validate(g) for g in guests])

    # -- 1.3 -------------------------------------------------------------------------

    @endpoint
    def delete_server(self, ctx: RequestContext, instance_uuid: str) -> None:
        self._deletes.delete(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def get_console_output(self, ctx: RequestContext, instance_uuid: str,
                           length: int | None) -> str:
        return self._actions.console_output(ctx, uuid.UUID(instance_uuid), length)

    # -- 1.2 -------------------------------------------------------------------------

    @endpoint
    def set_instance_addresses(self, ctx: RequestContext, host: str, instance_uuid: str,
                               addresses: list[dict[str, Any]]) -> None:
        self._hosts.set_addresses(host, uuid.UUID(instance_uuid),
                                  [GuestAddress.model_validate(a) for a in addresses])

    # -- 1.4 -------------------------------------------------------------------------

    @endpoint
    def set_host_disabled(self, ctx: RequestContext, host: str, disabled: bool) -> None:
        self._providers.set_disabled(host, disabled)

    @endpoint
    def set_host_aggregate(self, ctx: RequestContext, host: str, aggregate_uuid: str,
                           member: bool) -> None:
        self._providers.set_aggregate(host, uuid.UUID(aggregate_uuid), member)

    @endpoint
    def remove_host_providers(self, ctx: RequestContext, node_uuids: list[str]) -> None:
        self._providers.remove([uuid.UUID(n) for n in node_uuids])

    # -- 1.5 -------------------------------------------------------------------------

    @endpoint
    def rebuild_instance(self, ctx: RequestContext, instance_uuid: str,
                         admin_pass: str | None, preserve_ephemeral: bool) -> None:
        self._on_host.rebuild(ctx, uuid.UUID(instance_uuid), admin_pass, preserve_ephemeral)

    @endpoint
    def rescue_instance(self, ctx: RequestContext, instance_uuid: str,
                        rescue_image_ref: str | None, admin_pass: str | None) -> None:
        self._on_host.rescue(ctx, uuid.UUID(instance_uuid), rescue_image_ref, admin_pass)

    @endpoint
    def unrescue_instance(self, ctx: RequestContext, instance_uuid: str) -> None:
        self._on_host.unrescue(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def trigger_crash_dump(self, ctx: RequestContext, instance_uuid: str) -> None:
        self._on_host.trigger_crash_dump(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def set_admin_password(self, ctx: RequestContext, instance_uuid: str,
                           password: str) -> None:
        self._on_host.set_admin_password(ctx, uuid.UUID(instance_uuid), password)

    @endpoint
    def get_diagnostics(self, ctx: RequestContext, instance_uuid: str) -> dict[str, Any]:
        return self._on_host.diagnostics(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def backup_instance(self, ctx: RequestContext, instance_uuid: str, image_id: str,
                        backup_type: str, rotation: int) -> None:
        self._actions.backup(ctx, uuid.UUID(instance_uuid), uuid.UUID(image_id), backup_type,
                             rotation)

    @endpoint
    def shelve_instance(self, ctx: RequestContext, instance_uuid: str, image_id: str) -> None:
        self._shelves.shelve(ctx, uuid.UUID(instance_uuid), uuid.UUID(image_id))

    @endpoint
    def shelve_offload_instance(self, ctx: RequestContext, instance_uuid: str) -> None:
        self._shelves.offload(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def unshelve_instance(self, ctx: RequestContext, instance_uuid: str,
                          host: str | None = None) -> None:
        self._shelves.unshelve(ctx, uuid.UUID(instance_uuid), host)
    # -- 1.6: a restarting agent reconciles its host -----------------------------------

    @endpoint
    def end_interrupted_task(self, ctx: RequestContext, host: str, instance_uuid: str,
                             power_state: int | None) -> bool:
        return self._reconcile.end_interrupted_task(host, uuid.UUID(instance_uuid),
                                                    power_state)

    @endpoint
    def guests_lost(self, ctx: RequestContext, host: str, instance_uuids: list[str]) -> None:
        self._reconcile.guests_lost(host, [uuid.UUID(u) for u in instance_uuids])

    # -- 1.9: a host's metadata service ----------------------------------------------

    @endpoint
    def metadata_for(self, ctx: RequestContext, host: str, network_id: str,
                     address: str) -> dict[str, Any]:
        return dump(self._metadata.for_address(host, uuid.UUID(network_id), address))

    # -- 1.11: a host's data plane ----------------------------------------------------

    @endpoint
    def host_network_state(self, ctx: RequestContext, host: str) -> dict[str, Any]:
        acting_for(ctx, host)
        return dump(self._hosts.network_state(host))

    @endpoint
    def ports_wired(self, ctx: RequestContext, host: str, instance_uuid: str,
                    port_ids: list[str]) -> None:
        acting_for(ctx, host)
        self._hosts.ports_wired(host, uuid.UUID(instance_uuid),
                                [uuid.UUID(p) for p in port_ids])
        # The other hosts of its networks learn where the ports are (VXLAN forwarding,
        # remote groups); this one has just converged.
        self._push.changed(ctx, skip=host)

    # -- 1.12: network changes pushed to the hosts -------------------------------------

    @endpoint
    def network_changed(self, ctx: RequestContext) -> None:
        self._push.changed(ctx)

    # -- 1.1 -------------------------------------------------------------------------

    @endpoint
    def power_action(self, ctx: RequestContext, instance_uuid: str, action: str) -> None:
        wanted = Action(action)
        if wanted not in POWER_CALLS:
            raise BadRequest(f"{action} is not a power action")
        self._actions.power(ctx, uuid.UUID(instance_uuid), wanted)

    @endpoint
    def snapshot_instance(self, ctx: RequestContext, instance_uuid: str, image_id: str) -> None:
        self._actions.snapshot(ctx, uuid.UUID(instance_uuid), uuid.UUID(image_id))

    @endpoint
    def migrate_server(self, ctx: RequestContext, instance_uuid: str,
                       migration_uuid: str) -> None:
        self._resizes.migrate(ctx, uuid.UUID(instance_uuid), uuid.UUID(migration_uuid))

    @endpoint
    def confirm_resize(self, ctx: RequestContext, instance_uuid: str,
                       migration_uuid: str) -> None:
        self._resizes.confirm(ctx, uuid.UUID(instance_uuid), uuid.UUID(migration_uuid))

    @endpoint
    def revert_resize(self, ctx: RequestContext, instance_uuid: str,
                      migration_uuid: str) -> None:
        self._resizes.revert(ctx, uuid.UUID(instance_uuid), uuid.UUID(migration_uuid))

    @endpoint
    def live_migrate_server(self, ctx: RequestContext, instance_uuid: str,
                            migration_uuid: str) -> None:
        self._live.live_migrate(ctx, uuid.UUID(instance_uuid), uuid.UUID(migration_uuid))

    # -- 1.5 -------------------------------------------------------------------------

    @endpoint
    def evacuate_server(self, ctx: RequestContext, instance_uuid: str, migration_uuid: str,
                        power_on: bool = True) -> None:
        self._evacuations.evacuate(ctx, uuid.UUID(instance_uuid), uuid.UUID(migration_uuid),
                                   power_on)

    # -- 1.6 -----------------------------------------------------------------------

    @endpoint
    def abort_live_migration(self, ctx: RequestContext, instance_uuid: str,
                             migration_uuid: str) -> None:
        self._live.abort(ctx, uuid.UUID(instance_uuid), uuid.UUID(migration_uuid))

    @endpoint
    def force_complete_live_migration(self, ctx: RequestContext, instance_uuid: str,
                                      migration_uuid: str) -> None:
        self._live.force_complete(ctx, uuid.UUID(instance_uuid), uuid.UUID(migration_uuid))

    # -- 1.10: os-interface ------------------------------------------------------------

    @endpoint
    def attach_interface(self, ctx: RequestContext, instance_uuid: str, port_id: str) -> None:
        self._interfaces.attach(ctx, uuid.UUID(instance_uuid), uuid.UUID(port_id))

    @endpoint
    def detach_interface(self, ctx: RequestContext, instance_uuid: str, port_id: str) -> None:
        self._interfaces.detach(ctx, uuid.UUID(instance_uuid), uuid.UUID(port_id))
