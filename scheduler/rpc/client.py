"""How other services call the scheduler."""

from __future__ import annotations

import uuid

from common.context import RequestContext
from common.messages import HostSelection, RequestSpec, dump
from common.rpc import RpcClient

TOPIC = "scheduler"


class SchedulerClient(RpcClient):
    """1.0: select_destination. 1.1: claim_move (resize, cold and live migration, a
    forced host too), so that only the scheduler claims resources in placement."""

    topic = TOPIC
    version = "1.1"

    def select_destination(self, ctx: RequestContext, spec: RequestSpec) -> HostSelection:
        """Choose a host for one server and claim its resources there.

        Raises NoValidHost (with an explanation) when nothing fits.
        """
        data = self._call(ctx, "select_destination", spec=dump(spec))
        return HostSelection.model_validate(data)

    def claim_move(self, ctx: RequestContext, spec: RequestSpec, migration_uuid: uuid.UUID,
                   forced: bool) -> HostSelection:
        """Claim a move's destination (``forced``: ``spec.requested_host``, unfiltered),
        the source's share held by the migration. Raises NoValidHost."""
        data = self._call(ctx, "claim_move", spec=dump(spec),
                          migration_uuid=str(migration_uuid), forced=forced)
        return HostSelection.model_validate(data)
