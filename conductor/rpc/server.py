"""The conductor's RPC endpoints: decode, call the flow, return."""

from __future__ import annotations

import uuid
from typing import Any

import oslo_messaging as om

from common.context import RequestContext
from common.messages import GuestState, NodeReport, dump
from common.rpc import endpoint
from conductor.flows.build import BuildFlow
from conductor.flows.delete import DeleteFlow
from conductor.hosts import HostRecords


class ConductorEndpoint:
    target = om.Target(version="1.0")

    def __init__(self, builds: BuildFlow, deletes: DeleteFlow, hosts: HostRecords) -> None:
        self._builds = builds
        self._deletes = deletes
        self._hosts = hosts

    @endpoint
    def build_instance(self, ctx: RequestContext, instance_uuid: str) -> None:
        self._builds.build(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def register_compute(self, ctx: RequestContext, host: str, node: dict[str, Any]) -> None:
        self._hosts.register(host, NodeReport.model_validate(node))

    @endpoint
    def service_heartbeat(self, ctx: RequestContext, host: str, binary: str) -> None:
        self._hosts.heartbeat(host, binary)

    @endpoint
    def get_instance_for_host(self, ctx: RequestContext, host: str,
                              instance_uuid: str) -> dict[str, Any] | None:
        found = self._hosts.instance_for_host(host, uuid.UUID(instance_uuid))
        return None if found is None else dump(found)

    @endpoint
    def instance_spawned(self, ctx: RequestContext, host: str, instance_uuid: str,
                         power_state: int) -> bool:
        return self._hosts.spawned(host, uuid.UUID(instance_uuid), power_state)

    @endpoint
    def instance_spawn_failed(self, ctx: RequestContext, host: str, instance_uuid: str,
                              reason: str, retryable: bool) -> None:
        self._builds.spawn_failed(ctx, host, uuid.UUID(instance_uuid), reason, retryable)

    @endpoint
    def instance_destroyed(self, ctx: RequestContext, host: str, instance_uuid: str) -> None:
        self._deletes.destroyed(host, uuid.UUID(instance_uuid))

    @endpoint
    def instances_on_host(self, ctx: RequestContext, host: str) -> list[dict[str, Any]]:
        return [dump(i) for i in self._hosts.instances_on_host(host)]

    @endpoint
    def sync_power_states(self, ctx: RequestContext, host: str,
                          guests: list[dict[str, Any]]) -> None:
        self._hosts.sync_power_states(host, [GuestState.model_validate(g) for g in guests])
