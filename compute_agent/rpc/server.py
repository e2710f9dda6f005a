"""The compute agent's RPC endpoints: one RPC server per agent process.

A process that serves many hosts (simulated ones) listens on one queue; each message
names its host (``common.rpc.ROUTED_HOST``) and goes to that host's manager.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import oslo_messaging as om

from common.context import RequestContext
from common.errors import NotFound
from common.messages import FlavorPayload, InstancePayload, PortPayload
from common.rpc import endpoint, routed_host_var
from compute_agent.manager import ComputeManager


class ComputeEndpoint:
    target = om.Target(version="1.8")

    def __init__(self, managers: ComputeManager | Mapping[str, ComputeManager]) -> None:
        if isinstance(managers, ComputeManager):
            managers = {managers.host: managers}
        self._managers = dict(managers)
        # A message that names no host is for the process's only host.
        self._default = next(iter(self._managers.values())) if len(self._managers) == 1 \
            else None

    @property
    def _manager(self) -> ComputeManager:
        host = routed_host_var.get()
        manager = self._default if host is None else self._managers.get(host)
        if manager is None:
            raise NotFound(f"Host {host} is not served by this compute agent.")
        return manager

    @endpoint
    def build_and_run_instance(self, ctx: RequestContext, instance_uuid: str,
                               instance: dict[str, Any] | None = None) -> None:
        self._manager.build_and_run_instance(
            ctx, uuid.UUID(instance_uuid),
            None if instance is None else InstancePayload.model_validate(instance))

    @endpoint
    def terminate_instance(self, ctx: RequestContext, instance_uuid: str) -> None:
        self._manager.terminate_instance(ctx, uuid.UUID(instance_uuid))

    # -- 1.1 -----------------------------------------------------------------------

    @endpoint
    def start_instance(self, ctx: RequestContext, instance_uuid: str) -> int:
        return self._manager.start_instance(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def stop_instance(self, ctx: RequestContext, instance_uuid: str,
                      shutdown_timeout: float | None = None) -> int:
        return self._manager.stop_instance(ctx, uuid.UUID(instance_uuid), shutdown_timeout)

    @endpoint
    def reboot_instance(self, ctx: RequestContext, instance_uuid: str,
                        hard: bool = False) -> int:
        return self._manager.reboot_instance(ctx, uuid.UUID(instance_uuid), hard)

    @endpoint
    def pause_instance(self, ctx: RequestContext, instance_uuid: str) -> int:
        return self._manager.pause_instance(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def unpause_instance(self, ctx: RequestContext, instance_uuid: str) -> int:
        return self._manager.unpause_instance(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def suspend_instance(self, ctx: RequestContext, instance_uuid: str) -> int:
        return self._manager.suspend_instance(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def resume_instance(self, ctx: RequestContext, instance_uuid: str) -> int:
        return self._manager.resume_instance(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def resize_instance(self, ctx: RequestContext, instance_uuid: str,
                        flavor: dict[str, Any]) -> int:
        return self._manager.resize_instance(ctx, uuid.UUID(instance_uuid),
                                             FlavorPayload.model_validate(flavor))

    @endpoint
    def get_console_output(self, ctx: RequestContext, instance_uuid: str,
                           lines: int | None = None) -> str:
        return self._manager.get_console_output(ctx, uuid.UUID(instance_uuid), lines)

    @endpoint
    def snapshot_instance(self, ctx: RequestContext, instance_uuid: str, dest: str) -> None:
        self._manager.snapshot_instance(ctx, uuid.UUID(instance_uuid), Path(dest))

    @endpoint
    def pre_live_migration(self, ctx: RequestContext, instance_uuid: str) -> dict[str, str]:
        return self._manager.pre_live_migration(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def live_migrate_instance(self, ctx: RequestContext, instance_uuid: str, dest_host: str,
                              completion_timeout: float | None = None,
                              migrate_uri: str | None = None) -> None:
        self._manager.live_migrate_instance(ctx, uuid.UUID(instance_uuid), dest_host,
                                            completion_timeout, migrate_uri)

    # -- 1.2 -----------------------------------------------------------------------

    @endpoint
    def snapshot_to_image(self, ctx: RequestContext, instance_uuid: str, image_id: str) -> None:
        self._manager.snapshot_to_image(ctx, uuid.UUID(instance_uuid), uuid.UUID(image_id))

    @endpoint
    def post_live_migration_at_destination(self, ctx: RequestContext,
                                           instance_uuid: str) -> int:
        return self._manager.post_live_migration_at_destination(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def rollback_live_migration_at_destination(self, ctx: RequestContext,
                                               instance_uuid: str) -> None:
        self._manager.rollback_live_migration_at_destination(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def migrate_disk_and_power_off(self, ctx: RequestContext, instance_uuid: str,
                                   dest_host: str) -> dict[str, str]:
        return self._manager.migrate_disk_and_power_off(ctx, uuid.UUID(instance_uuid),
                                                        dest_host)

    @endpoint
    def finish_migration(self, ctx: RequestContext, instance_uuid: str,
                         flavor: dict[str, Any], power_on: bool,
                         disk_info: dict[str, str] | None = None) -> int:
        return self._manager.finish_migration(ctx, uuid.UUID(instance_uuid),
                                              FlavorPayload.model_validate(flavor), power_on,
                                              dict(disk_info or {}))

    @endpoint
    def destroy_migrated(self, ctx: RequestContext, instance_uuid: str) -> None:
        self._manager.destroy_migrated(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def finish_revert_migration(self, ctx: RequestContext, instance_uuid: str,
                                power_on: bool) -> int:
        return self._manager.finish_revert_migration(ctx, uuid.UUID(instance_uuid), power_on)

    # -- 1.4 -----------------------------------------------------------------------

    @endpoint
    def evacuate_instance(self, ctx: RequestContext, instance_uuid: str,
                          power_on: bool = True) -> int:
        return self._manager.evacuate_instance(ctx, uuid.UUID(instance_uuid), power_on)

    @endpoint
    def rebuild_instance(self, ctx: RequestContext, instance_uuid: str,
                         admin_pass: str | None, preserve_ephemeral: bool) -> int:
        return self._manager.rebuild_instance(ctx, uuid.UUID(instance_uuid), admin_pass,
                                              preserve_ephemeral)

    @endpoint
    def rescue_instance(self, ctx: RequestContext, instance_uuid: str,
                        rescue_image_ref: str | None, admin_pass: str | None) -> int:
        return self._manager.rescue_instance(ctx, uuid.UUID(instance_uuid), rescue_image_ref,
                                             admin_pass)

    @endpoint
    def unrescue_instance(self, ctx: RequestContext, instance_uuid: str) -> int:
        return self._manager.unrescue_instance(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def trigger_crash_dump(self, ctx: RequestContext, instance_uuid: str) -> None:
        self._manager.trigger_crash_dump(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def set_admin_password(self, ctx: RequestContext, instance_uuid: str,
                           password: str) -> None:
        self._manager.set_admin_password(ctx, uuid.UUID(instance_uuid), password)

    @endpoint
    def get_diagnostics(self, ctx: RequestContext, instance_uuid: str) -> dict[str, Any]:
        return self._manager.get_diagnostics(ctx, uuid.UUID(instance_uuid)).view()

    @endpoint
    def shelve_offload_instance(self, ctx: RequestContext, instance_uuid: str) -> None:
        self._manager.shelve_offload_instance(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def unshelve_instance(self, ctx: RequestContext, instance_uuid: str, image_id: str) -> int:
        return self._manager.unshelve_instance(ctx, uuid.UUID(instance_uuid),
                                               uuid.UUID(image_id))

    # -- 1.5 -----------------------------------------------------------------------

    @endpoint
    def abort_live_migration(self, ctx: RequestContext, instance_uuid: str) -> None:
        self._manager.abort_live_migration(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def force_complete_live_migration(self, ctx: RequestContext, instance_uuid: str) -> None:
        self._manager.force_complete_live_migration(ctx, uuid.UUID(instance_uuid))

    # -- 1.7 -----------------------------------------------------------------------

    @endpoint
    def attach_interface(self, ctx: RequestContext, instance_uuid: str,
                         port: dict[str, Any]) -> None:
        self._manager.attach_interface(ctx, uuid.UUID(instance_uuid),
                                       PortPayload.model_validate(port))

    @endpoint
    def detach_interface(self, ctx: RequestContext, instance_uuid: str,
                         port: dict[str, Any]) -> None:
        self._manager.detach_interface(ctx, uuid.UUID(instance_uuid),
                                       PortPayload.model_validate(port))

    # -- 1.8 -------------------------------------------------------------------------

    @endpoint
    def refresh_network(self, ctx: RequestContext) -> None:
        self._manager.refresh_network()
