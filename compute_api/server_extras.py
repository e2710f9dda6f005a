"""A server's password (os-server-password) and its addresses by network (/ips)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from common.compute_db.models import Instance
from common.errors import NotFound


def password(inst: Instance) -> str:
    """The encrypted password the guest left with the metadata service; '' if none."""
    return inst.password or ""


def clear_password(session: Session, inst: Instance) -> None:
    """Forget the stored password (the guest's own password does not change)."""
    inst.password = None
    session.flush()


def addresses(inst: Instance) -> dict[str, list[dict[str, Any]]]:
    """The server's addresses per network label, each as version and address."""
    return {label: [{"version": a.get("version"), "addr": a.get("addr")} for a in found]
            for label, found in (inst.addresses or {}).items()}


def network_addresses(inst: Instance, label: str) -> list[dict[str, Any]]:
    """The server's addresses on one network. Raises NotFound if it has none there."""
    found = addresses(inst)
    if label not in found:
        raise NotFound("Instance is not a member of specified network")
    return found[label]
