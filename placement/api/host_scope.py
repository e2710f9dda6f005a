"""What a compute agent's host-bound credential may do in placement: its own hosts only.

Upstream's policy lets the ``service`` role do everything in placement. An agent's own
credential (``kilonova agent credential``) holds that role too, but a compromised host
must not be able to rewrite another host's inventory or anybody's allocations. So a
caller whose context names ``service_hosts`` may only do what an agent does, and only on
provider trees whose root is named after one of its hosts:

- read and create its providers (``GET``/``POST /resource_providers``),
- read and replace their inventories and traits,
- create custom traits (``PUT /traits/CUSTOM_*``).

Everything else is refused with 403, whatever the policy file says.
"""

from __future__ import annotations

import json
import re
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from common.context import RequestContext
from common.errors import Forbidden
from placement.db.models import ResourceProvider

_PROVIDER_PATH = re.compile(
    r"^/resource_providers/(?P<uuid>[^/]+)(?:/(?:inventories|traits))?/?$")
_CUSTOM_TRAIT = re.compile(r"^/traits/CUSTOM_[A-Z0-9_]+$")
REFUSED = "A compute host's credential may act only on its own resource providers."


def _root_name(session: Session, rp_uuid: str) -> str | None:
    """The name of the root of the tree ``rp_uuid`` is in; None if there is no such
    provider (the handler answers 404)."""
    try:
        key = uuid.UUID(rp_uuid)
    except ValueError:
        return None
    provider = session.scalar(sa.select(ResourceProvider).where(ResourceProvider.uuid == key))
    if provider is None:
        return None
    root = session.get(ResourceProvider, provider.root_provider_id)
    return root.name if root is not None else provider.name


def check(ctx: RequestContext, method: str, path: str, body: bytes,
          readers: sessionmaker[Session]) -> None:
    """Raises Forbidden unless a host-bound caller stays within its hosts."""
    hosts = ctx.service_hosts
    if hosts is None:
        return
    if method == "PUT" and _CUSTOM_TRAIT.match(path):
        return
    if path.rstrip("/") == "/resource_providers":
        if method == "GET":
            return
        if method == "POST" and _creates_own(body, hosts, readers):
            return
        raise Forbidden(REFUSED)
    match = _PROVIDER_PATH.match(path)
    if match is None or method not in ("GET", "PUT"):
        raise Forbidden(REFUSED)
    if method == "PUT" and not path.rstrip("/").endswith(("/inventories", "/traits")):
        raise Forbidden(REFUSED)  # renaming or re-parenting a provider is not an agent's
    with readers() as session:
        name = _root_name(session, match["uuid"])
    if name is not None and name not in hosts:
        raise Forbidden(REFUSED)


def _creates_own(body: bytes, hosts: frozenset[str],
                 readers: sessionmaker[Session]) -> bool:
    """Whether a provider create names one of ``hosts`` (as a root or under its tree)."""
    try:
        spec = json.loads(body)
    except ValueError:
        return True  # the handler answers 400
    if not isinstance(spec, dict):
        return True
    parent = spec.get("parent_provider_uuid")
    if parent:
        with readers() as session:
            name = _root_name(session, str(parent))
        return name is None or name in hosts
    return spec.get("name") in hosts
