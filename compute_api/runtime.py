"""What the compute API process holds for its lifetime: DB, the conductor's RPC client.

No compute agent client and no placement client: the conductor owns every workflow
that reaches an agent, and only the scheduler writes to placement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from common.auth import Verifier
from common.neutron import NeutronClient
from common.policy import Enforcer
from common.rpc import Messaging
from common.settings import Settings
from compute_api.identity.login import SourceThrottle
from compute_api.images.source import ImageLookup, LocalImages
from conductor.rpc.client import ConductorClient


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    messaging: Messaging
    conductor: ConductorClient
    # What common.auth.context_from_token checks tokens with ("noauth", the builtin
    # tokens' checker or a Keystone validator).
    verifier: Verifier = "noauth"
    # The compute, image and network APIs' policy (their rule names do not collide).
    policy: Enforcer = field(default_factory=lambda: api_enforcer(None))
    # Where imageRef is looked up: the image table, or an external Glance.
    images: ImageLookup = field(default_factory=LocalImages)
    # [network] backend = neutron: the external Neutron requested networks, ports and
    # security groups are checked with (as the caller). None: the builtin network API.
    neutron: NeutronClient | None = None
    # Service type -> URL (or path below the root URL) the identity catalog lists.
    catalog: dict[str, str] = field(default_factory=dict)
    # Failed password logins per client address (the identity API's brake on guessing).
    login_throttle: SourceThrottle = field(default_factory=lambda: SourceThrottle(0, 60))


def api_enforcer(policy_file: str | None) -> Enforcer:
    """The policy of the compute, image and network APIs: their defaults and the policy
    file."""
    from compute_api import policies
    from compute_api.images import policies as image_policies
    from compute_api.network import policies as network_policies

    names = {d.name for d in policies.DEFAULTS}
    extra = [d for d in image_policies.DEFAULTS if d.name not in names]
    names |= {d.name for d in extra}
    extra += [d for d in network_policies.DEFAULTS if d.name not in names]
    return Enforcer([*policies.DEFAULTS, *extra], policy_file)
