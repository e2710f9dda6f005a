"""Two clouds, one identity: the compute cloud's builtin identity is the Keystone of a
second cloud that stands in for an external service (Glance, Neutron) and validates
every token with it, as those services are deployed beside Nova."""

from __future__ import annotations

import socket

import httpx

from cli.embedded import EmbeddedCloud
from common.settings import Settings
from tests.functional.compute.conftest import password_token


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (a cloud's URL known before it starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def identity_user(nova: EmbeddedCloud, admin: str, name: str, project: str, role: str
                  ) -> str:
    """A user (password ``pw-<name>``) with ``role`` on ``project`` of the compute
    cloud's identity, the project made if missing; the user's token."""
    base, headers = f"{nova.identity_url}/v3", {"X-Auth-Token": admin}
    found = httpx.get(f"{base}/projects?name={project}", headers=headers, timeout=30)
    existing = found.json()["projects"]
    project_id = existing[0]["id"] if existing else httpx.post(
        f"{base}/projects", json={"project": {"name": project}}, headers=headers,
        timeout=30).json()["project"]["id"]
    user = httpx.post(f"{base}/users", json={"user": {"name": name, "password": f"pw-{name}"}},
                      headers=headers, timeout=30).json()["user"]["id"]
    grant = httpx.put(f"{base}/projects/{project_id}/users/{user}/roles/{role}",
                      headers=headers, timeout=30)
    assert grant.status_code == 204, grant.text
    issued = password_token(nova.base_url, name, f"pw-{name}", project)
    assert issued.status_code == 201, issued.text
    return str(issued.headers["X-Subject-Token"])


def validated_by(service: Settings, nova: EmbeddedCloud, username: str, port: int
                 ) -> None:
    """``service`` (the second cloud's settings) on ``port``, validating tokens with the
    compute cloud's identity as ``username`` of its ``service`` project."""
    service.api = service.api.model_copy(update={"port": port})
    service.auth = service.auth.model_copy(update={"strategy": "keystone"})
    service.keystone = service.keystone.model_copy(update={
        "auth_url": f"{nova.identity_url}/v3", "username": username,
        "password": f"pw-{username}", "project_name": "service", "cache_ttl": 60.0})
