"""How other services call a host's compute agent."""

from __future__ import annotations

import uuid
from typing import Any

from common.context import RequestContext
from common.messages import FlavorPayload, InstancePayload, PortPayload, dump
from common.rpc import RpcClient

TOPIC = "compute"


class ComputeClient(RpcClient):
    """1.0: build_and_run_instance, terminate_instance. 1.1: power, console, snapshot,
    resize and live-migration methods. 1.2: snapshot_to_image and the steps of cold and
    live migrations. 1.3: pre_live_migration answers the destination's migration data
    (``migrate_uri``), which live_migrate_instance takes. 1.4: evacuate_instance; actions
    on a guest that stays on its host (rebuild, rescue, unrescue, crash dump, password)
    and its diagnostics; shelve_offload_instance, unshelve_instance. 1.5:
    abort_live_migration and force_complete_live_migration of a live migration in
    progress. 1.6: build_and_run_instance carries the instance record, so the agent
    need not ask the conductor for it. 1.7: attach_interface and detach_interface
    hot-plug a port (its record travels in the message) into a guest and out. 1.8:
    refresh_network: what the host's data plane holds changed; it converges now."""

    topic = TOPIC
    version = "1.8"

    def build_and_run_instance(self, ctx: RequestContext, host: str,
                               instance_uuid: uuid.UUID,
                               instance: InstancePayload | None = None) -> None:
        """``instance``: the record as the build recorded its host; without it (a spawn
        cast again from its row) the agent reads the record itself."""
        self._cast(ctx, "build_and_run_instance", server=host,
                   instance_uuid=str(instance_uuid),
                   instance=None if instance is None else dump(instance))

    def terminate_instance(self, ctx: RequestContext, host: str,
                           instance_uuid: uuid.UUID) -> None:
        self._cast(ctx, "terminate_instance", server=host, instance_uuid=str(instance_uuid))

    # -- 1.1: each answers the guest's power state afterwards ------------------------

    def start_instance(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID) -> int:
        return int(self._call(ctx, "start_instance", server=host,
                              instance_uuid=str(instance_uuid)))

    def stop_instance(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                      timeout: float | None = None) -> int:
        # ``timeout`` bounds the graceful shutdown; the call may take that much longer.
        return int(self._call(ctx, "stop_instance", server=host,
                              instance_uuid=str(instance_uuid), shutdown_timeout=timeout,
                              timeout=self._timeout + (timeout or 0)))

    def reboot_instance(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                        hard: bool = False) -> int:
        # A soft reboot waits up to [libvirt] shutdown_timeout for the guest.
        return int(self._call(ctx, "reboot_instance", server=host,
                              instance_uuid=str(instance_uuid), hard=hard,
                              timeout=self._timeout * 2))

    def pause_instance(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID) -> int:
        return int(self._call(ctx, "pause_instance", server=host,
                              instance_uuid=str(instance_uuid)))

    def unpause_instance(self, ctx: RequestContext, host: str,
                         instance_uuid: uuid.UUID) -> int:
        return int(self._call(ctx, "unpause_instance", server=host,
                              instance_uuid=str(instance_uuid)))

    def suspend_instance(self, ctx: RequestContext, host: str,
                         instance_uuid: uuid.UUID) -> int:
        return int(self._call(ctx, "suspend_instance", server=host,
                              instance_uuid=str(instance_uuid)))

    def resume_instance(self, ctx: RequestContext, host: str,
                        instance_uuid: uuid.UUID) -> int:
        return int(self._call(ctx, "resume_instance", server=host,
                              instance_uuid=str(instance_uuid)))

    def resize_instance(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                        flavor: FlavorPayload) -> int:
        return int(self._call(ctx, "resize_instance", server=host,
                              instance_uuid=str(instance_uuid), flavor=dump(flavor)))

    def get_console_output(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                           lines: int | None = None) -> str:
        return str(self._call(ctx, "get_console_output", server=host,
                              instance_uuid=str(instance_uuid), lines=lines))

    def snapshot_instance(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                          dest: str) -> None:
        self._call(ctx, "snapshot_instance", server=host, instance_uuid=str(instance_uuid),
                   dest=dest)

    def pre_live_migration(self, ctx: RequestContext, host: str,
                           instance_uuid: uuid.UUID) -> dict[str, str]:
        """The destination's migration data for the source (1.3; {} from older agents)."""
        data = self._call(ctx, "pre_live_migration", server=host,
                          instance_uuid=str(instance_uuid))
        return {str(k): str(v) for k, v in (data or {}).items()}

    def live_migrate_instance(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                              dest_host: str, timeout: float | None = None,
                              migrate_uri: str | None = None) -> None:
        self._call(ctx, "live_migrate_instance", server=host,
                   instance_uuid=str(instance_uuid), dest_host=dest_host,
                   completion_timeout=timeout, migrate_uri=migrate_uri,
                   timeout=self._timeout + (timeout or 0))

    # -- 1.2 ---------------------------------------------------------------------------

    def snapshot_to_image(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                          image_id: uuid.UUID) -> None:
        # Copying and uploading a disk takes a while.
        self._call(ctx, "snapshot_to_image", server=host, instance_uuid=str(instance_uuid),
                   image_id=str(image_id), timeout=self._timeout * 10)

    def post_live_migration_at_destination(self, ctx: RequestContext, host: str,
                                           instance_uuid: uuid.UUID) -> int:
        return int(self._call(ctx, "post_live_migration_at_destination", server=host,
                              instance_uuid=str(instance_uuid)))

    def rollback_live_migration_at_destination(self, ctx: RequestContext, host: str,
                                               instance_uuid: uuid.UUID) -> None:
        self._call(ctx, "rollback_live_migration_at_destination", server=host,
                   instance_uuid=str(instance_uuid))

    def migrate_disk_and_power_off(self, ctx: RequestContext, host: str,
                                   instance_uuid: uuid.UUID, dest_host: str
                                   ) -> dict[str, str]:
        """Answers the ``disk_info`` the destination's ``finish_migration`` needs."""
        info = self._call(ctx, "migrate_disk_and_power_off", server=host,
                          instance_uuid=str(instance_uuid), dest_host=dest_host,
                          timeout=self._timeout * 10)
        return {str(k): str(v) for k, v in (info or {}).items()}

    def finish_migration(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                         flavor: FlavorPayload, power_on: bool,
                         disk_info: dict[str, str]) -> int:
        # Receiving the disks takes a while.
        return int(self._call(ctx, "finish_migration", server=host,
                              instance_uuid=str(instance_uuid), flavor=dump(flavor),
                              power_on=power_on, disk_info=disk_info,
                              timeout=self._timeout * 10))

    def destroy_migrated(self, ctx: RequestContext, host: str,
                         instance_uuid: uuid.UUID) -> None:
        self._call(ctx, "destroy_migrated", server=host, instance_uuid=str(instance_uuid))

    def finish_revert_migration(self, ctx: RequestContext, host: str,
                                instance_uuid: uuid.UUID, power_on: bool) -> int:
        return int(self._call(ctx, "finish_revert_migration", server=host,
                              instance_uuid=str(instance_uuid), power_on=power_on))

    # -- 1.4 ---------------------------------------------------------------------------

    def evacuate_instance(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                          power_on: bool, timeout: float | None = None) -> int:
        """Build an evacuated server's guest on ``host``; answers its power state."""
        return int(self._call(ctx, "evacuate_instance", server=host,
                              instance_uuid=str(instance_uuid), power_on=power_on,
                              timeout=timeout or self._timeout * 4))

    def rebuild_instance(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                         admin_pass: str | None, preserve_ephemeral: bool) -> int:
        # Fetching an image and booting from it takes a while.
        return int(self._call(ctx, "rebuild_instance", server=host,
                              instance_uuid=str(instance_uuid), admin_pass=admin_pass,
                              preserve_ephemeral=preserve_ephemeral,
                              timeout=self._timeout * 10))

    def rescue_instance(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                        rescue_image_ref: str | None, admin_pass: str | None) -> int:
        return int(self._call(ctx, "rescue_instance", server=host,
                              instance_uuid=str(instance_uuid),
                              rescue_image_ref=rescue_image_ref, admin_pass=admin_pass,
                              timeout=self._timeout * 10))

    def unrescue_instance(self, ctx: RequestContext, host: str,
                          instance_uuid: uuid.UUID) -> int:
        return int(self._call(ctx, "unrescue_instance", server=host,
                              instance_uuid=str(instance_uuid), timeout=self._timeout * 2))

    def trigger_crash_dump(self, ctx: RequestContext, host: str,
                           instance_uuid: uuid.UUID) -> None:
        self._call(ctx, "trigger_crash_dump", server=host, instance_uuid=str(instance_uuid))

    def set_admin_password(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                           password: str) -> None:
        self._call(ctx, "set_admin_password", server=host, instance_uuid=str(instance_uuid),
                   password=password)

    def get_diagnostics(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID
                        ) -> dict[str, Any]:
        """The standard-format diagnostics (with the counts), as the API shows them."""
        return dict(self._call(ctx, "get_diagnostics", server=host,
                               instance_uuid=str(instance_uuid)))

    def shelve_offload_instance(self, ctx: RequestContext, host: str,
                                instance_uuid: uuid.UUID) -> None:
        """Destroy the shelved guest and its files (its snapshot holds the disk)."""
        self._call(ctx, "shelve_offload_instance", server=host,
                   instance_uuid=str(instance_uuid))

    def unshelve_instance(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                          image_id: uuid.UUID) -> int:
        """Spawn the offloaded server here from its shelved snapshot; its power state."""
        # Fetching the snapshot takes a while.
        return int(self._call(ctx, "unshelve_instance", server=host,
                              instance_uuid=str(instance_uuid), image_id=str(image_id),
                              timeout=self._timeout * 10))

    # -- 1.5: steering a live migration in progress (on its source host) -------------

    def abort_live_migration(self, ctx: RequestContext, host: str,
                             instance_uuid: uuid.UUID) -> None:
        self._cast(ctx, "abort_live_migration", server=host,
                   instance_uuid=str(instance_uuid))

    def force_complete_live_migration(self, ctx: RequestContext, host: str,
                                      instance_uuid: uuid.UUID) -> None:
        self._cast(ctx, "force_complete_live_migration", server=host,
                   instance_uuid=str(instance_uuid))

    # -- 1.7: hot-plugged interfaces -----------------------------------------------------

    def attach_interface(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                         port: PortPayload) -> None:
        self._call(ctx, "attach_interface", server=host, instance_uuid=str(instance_uuid),
                   port=dump(port))

    def detach_interface(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                         port: PortPayload) -> None:
        self._call(ctx, "detach_interface", server=host, instance_uuid=str(instance_uuid),
                   port=dump(port))

    # -- 1.8 -------------------------------------------------------------------------

    def refresh_network(self, ctx: RequestContext, host: str) -> None:
        self._cast(ctx, "refresh_network", server=host)
