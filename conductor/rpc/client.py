"""How other services call the conductor."""

from __future__ import annotations

import uuid

from common.context import RequestContext
from common.messages import GuestState, InstancePayload, NodeReport, dump
from common.rpc import RpcClient

TOPIC = "conductor"


class ConductorClient(RpcClient):
    topic = TOPIC
    version = "1.0"

    def build_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        self._cast(ctx, "build_instance", instance_uuid=str(instance_uuid))

    def register_compute(self, ctx: RequestContext, host: str, node: NodeReport,
                         timeout: float | None = None) -> None:
        self._call(ctx, "register_compute", host=host, node=dump(node), timeout=timeout)

    def service_heartbeat(self, ctx: RequestContext, host: str, binary: str,
                          timeout: float | None = None) -> None:
        self._call(ctx, "service_heartbeat", host=host, binary=binary, timeout=timeout)

    def get_instance_for_host(
        self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID
    ) -> InstancePayload | None:
        data = self._call(ctx, "get_instance_for_host", host=host,
                          instance_uuid=str(instance_uuid))
        return None if data is None else InstancePayload.model_validate(data)

    def instance_spawned(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                         power_state: int) -> bool:
        return bool(self._call(ctx, "instance_spawned", host=host,
                               instance_uuid=str(instance_uuid), power_state=power_state))

    def instance_spawn_failed(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                              reason: str, retryable: bool) -> None:
        self._cast(ctx, "instance_spawn_failed", host=host, instance_uuid=str(instance_uuid),
                   reason=reason, retryable=retryable)

    def instance_destroyed(self, ctx: RequestContext, host: str,
                           instance_uuid: uuid.UUID) -> None:
        self._call(ctx, "instance_destroyed", host=host, instance_uuid=str(instance_uuid))

    def instances_on_host(self, ctx: RequestContext, host: str) -> list[InstancePayload]:
        data = self._call(ctx, "instances_on_host", host=host)
        return [InstancePayload.model_validate(item) for item in data]

    def sync_power_states(self, ctx: RequestContext, host: str,
                          guests: list[GuestState]) -> None:
        self._call(ctx, "sync_power_states", host=host, guests=[dump(g) for g in guests])
