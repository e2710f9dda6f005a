"""The scheduler's RPC endpoints."""

from __future__ import annotations

import uuid
from typing import Any

import oslo_messaging as om

from common.context import RequestContext
from common.messages import RequestSpec, dump
from common.retries import transient_retries
from common.rpc import endpoint
from scheduler.manager import SchedulerManager


@transient_retries
class SchedulerEndpoint:
    target = om.Target(version="1.1")

    def __init__(self, manager: SchedulerManager) -> None:
        self._manager = manager

    @endpoint
    def select_destination(self, ctx: RequestContext, spec: dict[str, Any]) -> dict[str, Any]:
        return dump(self._manager.select_destination(RequestSpec.model_validate(spec)))

    @endpoint
    def claim_move(self, ctx: RequestContext, spec: dict[str, Any], migration_uuid: str,
                   forced: bool) -> dict[str, Any]:
        return dump(self._manager.claim_move(RequestSpec.model_validate(spec),
                                             uuid.UUID(migration_uuid), forced))
