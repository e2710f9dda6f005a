"""The compute agent's RPC endpoints (one RPC server per host)."""

from __future__ import annotations

import uuid

import oslo_messaging as om

from common.context import RequestContext
from common.rpc import endpoint
from compute_agent.manager import ComputeManager


class ComputeEndpoint:
    target = om.Target(version="1.0")

    def __init__(self, manager: ComputeManager) -> None:
        self._manager = manager

    @endpoint
    def build_and_run_instance(self, ctx: RequestContext, instance_uuid: str) -> None:
        self._manager.build_and_run_instance(ctx, uuid.UUID(instance_uuid))

    @endpoint
    def terminate_instance(self, ctx: RequestContext, instance_uuid: str) -> None:
        self._manager.terminate_instance(ctx, uuid.UUID(instance_uuid))
