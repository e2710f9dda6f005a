"""Response shapes of the identity subset (Keystone v3)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from common.auth import TokenData
from common.compute_db.models import IdentityProject, IdentityUser
from compute_api.identity.store import DOMAIN_NAMES, role_id

VERSION = "v3.14"
UPDATED = "2020-04-07T00:00:00Z"
MEDIA_TYPES = [{"base": "application/json",
                "type": "application/vnd.openstack.identity-v3+json"}]


def version_doc(base: str) -> dict[str, Any]:
    return {"id": VERSION, "status": "stable", "updated": UPDATED,
            "links": [{"rel": "self", "href": f"{base}/v3/"}], "media-types": MEDIA_TYPES}


def timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def domain_ref(domain_id: str) -> dict[str, str]:
    return {"id": domain_id, "name": DOMAIN_NAMES.get(domain_id, domain_id)}


def domain_view(domain_id: str, base: str) -> dict[str, Any]:
    return {**domain_ref(domain_id), "description": "The default domain", "enabled": True,
            "tags": [], "options": {},
            "links": {"self": f"{base}/v3/domains/{domain_id}"}}


def project_view(project: IdentityProject, base: str) -> dict[str, Any]:
    return {"id": project.id, "name": project.name, "domain_id": project.domain_id,
            "description": project.description or "", "enabled": project.enabled,
            "is_domain": False, "parent_id": project.domain_id, "tags": [], "options": {},
            "links": {"self": f"{base}/v3/projects/{project.id}"}}


def user_view(user: IdentityUser, base: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": user.id, "name": user.name, "domain_id": user.domain_id,
                           "enabled": user.enabled, "password_expires_at": None,
                           "options": {}, "links": {"self": f"{base}/v3/users/{user.id}"}}
    if user.email:
        out["email"] = user.email
    if user.description:
        out["description"] = user.description
    return out


def role_view(name: str, base: str) -> dict[str, Any]:
    rid = role_id(name)
    return {"id": rid, "name": name, "domain_id": None, "description": None, "options": {},
            "links": {"self": f"{base}/v3/roles/{rid}"}}


def catalog_view(endpoints: dict[str, str], region: str) -> list[dict[str, Any]]:
    out = []
    for service_type, url in endpoints.items():
        service_id = role_id(f"service:{service_type}")
        name = {"compute": "nova", "image": "glance", "placement": "placement",
                "identity": "keystone", "network": "neutron"}.get(service_type, service_type)
        out.append({"id": service_id, "type": service_type, "name": name, "endpoints": [
            {"id": role_id(f"endpoint:{service_type}:{interface}"), "interface": interface,
             "region": region, "region_id": region, "url": url}
            for interface in ("public", "internal", "admin")
        ]})
    return out


def token_view(data: TokenData, user: IdentityUser, project: IdentityProject,
               catalog: list[dict[str, Any]] | None) -> dict[str, Any]:
    token: dict[str, Any] = {
        "methods": list(data.methods),
        "user": {"id": user.id, "name": user.name, "domain": domain_ref(user.domain_id),
                 "password_expires_at": None},
        "audit_ids": [data.audit_id],
        "expires_at": timestamp(data.expires_at) if data.expires_at else None,
        "issued_at": timestamp(data.issued_at),
        "project": {"id": project.id, "name": project.name,
                    "domain": domain_ref(project.domain_id)},
        "is_domain": False,
        "roles": [{"id": role_id(r), "name": r} for r in data.roles],
    }
    if catalog is not None:
        token["catalog"] = catalog
    return {"token": token}
