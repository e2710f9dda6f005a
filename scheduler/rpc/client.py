"""How other services call the scheduler."""

from __future__ import annotations

from common.context import RequestContext
from common.messages import HostSelection, RequestSpec, dump
from common.rpc import RpcClient

TOPIC = "scheduler"


class SchedulerClient(RpcClient):
    topic = TOPIC
    version = "1.0"

    def select_destination(self, ctx: RequestContext, spec: RequestSpec) -> HostSelection:
        """Choose a host for one server and claim its resources there.

        Raises NoValidHost (with an explanation) when nothing fits.
        """
        data = self._call(ctx, "select_destination", spec=dump(spec))
        return HostSelection.model_validate(data)
