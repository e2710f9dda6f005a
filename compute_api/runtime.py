"""What the compute API process holds for its lifetime: DB, RPC clients, placement."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from common.auth import TokenSigner
from common.rpc import Messaging
from common.settings import Settings
from compute_agent.rpc.client import ComputeClient
from conductor.rpc.client import ConductorClient
from placement.client import PlacementClient


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    messaging: Messaging
    conductor: ConductorClient
    compute: ComputeClient
    placement: PlacementClient
    # What common.auth.context_from_token checks tokens with ("noauth" or a signer).
    verifier: str | TokenSigner = "noauth"
    # Service type -> URL (or path below the root URL) the identity catalog lists.
    catalog: dict[str, str] = field(default_factory=dict)
