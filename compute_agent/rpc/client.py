"""How other services call a host's compute agent."""

from __future__ import annotations

import uuid

from common.context import RequestContext
from common.rpc import RpcClient

TOPIC = "compute"


class ComputeClient(RpcClient):
    topic = TOPIC
    version = "1.0"

    def build_and_run_instance(self, ctx: RequestContext, host: str,
                               instance_uuid: uuid.UUID) -> None:
        self._cast(ctx, "build_and_run_instance", server=host,
                   instance_uuid=str(instance_uuid))

    def terminate_instance(self, ctx: RequestContext, host: str,
                           instance_uuid: uuid.UUID) -> None:
        self._cast(ctx, "terminate_instance", server=host, instance_uuid=str(instance_uuid))
