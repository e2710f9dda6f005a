"""Placement records an operator's host changes need: the disabled trait, aggregate
membership, a deleted host's providers.

The compute API may read placement but never writes it; these changes come here over
RPC once the API committed the compute database's side.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from common.compute_db.models import ComputeNode
from common.db import read_only, transaction
from placement.client import COMPUTE_STATUS_DISABLED, PlacementClient

LOG = logging.getLogger(__name__)


class HostProviders:
    def __init__(self, sessions: sessionmaker[Session], placement: PlacementClient) -> None:
        self._reads = read_only(sessions)
        self._placement = placement

    def _nodes(self, host: str) -> list[uuid.UUID]:
        with transaction(self._reads) as session:
            return list(session.scalars(
                sa.select(ComputeNode.uuid).where(ComputeNode.host == host)).all())

    def set_disabled(self, host: str, disabled: bool) -> None:
        """Add or remove ``COMPUTE_STATUS_DISABLED`` on the providers of ``host``'s nodes."""
        change = {"add" if disabled else "remove": (COMPUTE_STATUS_DISABLED,)}
        for node in self._nodes(host):
            self._placement.change_traits(node, **change)
        LOG.info("host %s %s in placement", host, "disabled" if disabled else "enabled")

    def set_aggregate(self, host: str, aggregate_uuid: uuid.UUID, member: bool) -> None:
        """Make ``host``'s providers members of the aggregate, or no longer."""
        change = {"add" if member else "remove": (str(aggregate_uuid),)}
        for node in self._nodes(host):
            self._placement.change_aggregates(node, **change)

    def remove(self, node_uuids: Sequence[uuid.UUID]) -> None:
        """Delete the providers of a deleted compute service's nodes."""
        for node in node_uuids:
            self._placement.delete_resource_provider(node)
