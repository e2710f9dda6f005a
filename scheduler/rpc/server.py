"""The scheduler's RPC endpoints."""

from __future__ import annotations

from typing import Any

import oslo_messaging as om

from common.context import RequestContext
from common.messages import RequestSpec, dump
from common.rpc import endpoint
from scheduler.manager import SchedulerManager


class SchedulerEndpoint:
    target = om.Target(version="1.1")

    def __init__(self, manager: SchedulerManager) -> None:
        self._manager = manager

    @endpoint
    def select_destination(self, ctx: RequestContext, spec: dict[str, Any]) -> dict[str, Any]:
        return dump(self._manager.select_destination(RequestSpec.model_validate(spec)))

    @endpoint
    def claim_forced_host(self, ctx: RequestContext, spec: dict[str, Any]) -> dict[str, Any]:
        return dump(self._manager.claim_forced_host(RequestSpec.model_validate(spec)))
