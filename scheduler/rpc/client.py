"""How other services call the scheduler."""

from __future__ import annotations

from common.context import RequestContext
from common.messages import HostSelection, RequestSpec, dump
from common.rpc import RpcClient

TOPIC = "scheduler"


class SchedulerClient(RpcClient):
    """1.0: select_destination. 1.1: claim_forced_host, so that only the scheduler
    claims resources in placement."""

    topic = TOPIC
    version = "1.1"

    def select_destination(self, ctx: RequestContext, spec: RequestSpec) -> HostSelection:
        """Choose a host for one server and claim its resources there.

        Raises NoValidHost (with an explanation) when nothing fits.
        """
        data = self._call(ctx, "select_destination", spec=dump(spec))
        return HostSelection.model_validate(data)

    def claim_forced_host(self, ctx: RequestContext, spec: RequestSpec) -> HostSelection:
        """Claim ``spec.requested_host`` for a forced move, skipping filters.

        Raises NoValidHost when the host has no compute node or no room.
        """
        data = self._call(ctx, "claim_forced_host", spec=dump(spec))
        return HostSelection.model_validate(data)
