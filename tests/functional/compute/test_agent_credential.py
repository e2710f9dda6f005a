"""Compute agents authenticate with a host-bound, expiring credential of their own.

They never hold the token-signing key; in placement their credential reaches only their
own hosts' providers, and on the compute API nothing at all.
"""

from __future__ import annotations

import argparse
import uuid

import httpx
import pytest

from cli import identity as identity_cli
from cli.embedded import EmbeddedCloud
from common.agent_auth import PasswordTokenAuth, agent_client_auth
from common.errors import ConfigError
from common.settings import load_settings
from tests.functional.compute.conftest import ADMIN_PASSWORD, password_token

PLACEMENT = {"OpenStack-API-Version": "placement 1.39"}


def _token(cloud: EmbeddedCloud, user: str, password: str, project: str) -> str:
    resp = password_token(cloud.base_url, user, password, project)
    assert resp.status_code == 201, resp.text
    assert resp.json()["token"]["expires_at"]  # an ordinary expiring token
    return resp.headers["X-Subject-Token"]


def _placement(cloud: EmbeddedCloud, method: str, path: str, token: str,
               **kw: object) -> httpx.Response:
    return httpx.request(method, f"{cloud.base_url}/placement{path}", timeout=30,
                         headers={"X-Auth-Token": token, **PLACEMENT}, **kw)  # type: ignore[arg-type]


def _providers(cloud: EmbeddedCloud, token: str) -> dict[str, str]:
    rows = _placement(cloud, "GET", "/resource_providers", token).json()
    return {rp["name"]: rp["uuid"] for rp in rows["resource_providers"]}


def test_embedded_agents_registered_with_their_own_credential(
        identity_cloud: EmbeddedCloud) -> None:
    auth = identity_cloud.settings.agent_auth
    assert auth.username == "compute-fake" and auth.password
    admin = _token(identity_cloud, "admin", ADMIN_PASSWORD, "admin")
    assert {f"fake-{i}" for i in range(1, 5)} <= set(_providers(identity_cloud, admin))


def test_agent_credential_reaches_only_its_own_hosts(identity_cloud: EmbeddedCloud) -> None:
    auth = identity_cloud.settings.agent_auth
    assert auth.username and auth.password
    agent = _token(identity_cloud, auth.username, auth.password, "service")
    admin = _token(identity_cloud, "admin", ADMIN_PASSWORD, "admin")
    other = str(uuid.uuid4())
    made = _placement(identity_cloud, "POST", "/resource_providers", admin,
                      json={"name": f"other-{other[:8]}", "uuid": other})
    assert made.status_code == 200, made.text
    own = _providers(identity_cloud, admin)["fake-1"]
    # Its own provider: read and replace inventories and traits.
    inv = _placement(identity_cloud, "GET", f"/resource_providers/{own}/inventories", agent)
    assert inv.status_code == 200
    put = _placement(identity_cloud, "PUT", f"/resource_providers/{own}/inventories", agent,
                     json=inv.json())
    assert put.status_code == 200, put.text
    # Anything else: refused, and nothing changes.
    refused = [
        ("GET", f"/resource_providers/{other}", None),
        ("PUT", f"/resource_providers/{other}/inventories",
         {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 1}}}),
        ("DELETE", f"/resource_providers/{own}", None),
        ("PUT", f"/resource_providers/{own}", {"name": "renamed"}),
        ("POST", "/resource_providers", {"name": "intruder"}),
        ("GET", f"/allocations/{uuid.uuid4()}", None),
        ("PUT", f"/allocations/{uuid.uuid4()}", {"allocations": {}}),
        ("GET", "/usages?project_id=admin", None),
    ]
    for method, path, body in refused:
        resp = _placement(identity_cloud, method, path, agent, json=body)
        assert resp.status_code == 403, (method, path, resp.text)
    names = _providers(identity_cloud, admin)
    assert "intruder" not in names and "fake-1" in names and f"other-{other[:8]}" in names
    # The compute API grants a service credential nothing.
    servers = httpx.get(f"{identity_cloud.base_url}/compute/v2.1/servers", timeout=30,
                        headers={"X-Auth-Token": agent})
    assert servers.status_code == 403


def test_agent_reads_any_projects_image_but_cannot_list_them(
        identity_cloud: EmbeddedCloud) -> None:
    auth = identity_cloud.settings.agent_auth
    assert auth.username and auth.password
    agent = _token(identity_cloud, auth.username, auth.password, "service")
    admin = _token(identity_cloud, "admin", ADMIN_PASSWORD, "admin")
    base = f"{identity_cloud.base_url}/image/v2/images"
    image = httpx.post(base, timeout=30, headers={"X-Auth-Token": admin}, json={
        "name": "private-one", "visibility": "private", "disk_format": "raw",
        "container_format": "bare"}).json()["id"]
    shown = httpx.get(f"{base}/{image}", headers={"X-Auth-Token": agent}, timeout=30)
    assert shown.status_code == 200
    listing = httpx.get(base, headers={"X-Auth-Token": agent}, timeout=30)
    assert listing.status_code == 403


def test_cli_credential_is_bound_to_its_hosts_and_revocable(
        identity_cloud: EmbeddedCloud, capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(command="agent", action="credential",
                              hosts=["rack1-a", "rack1-b"], user=None)
    assert identity_cli.run(args, identity_cloud.settings) == 0
    printed = capsys.readouterr().out
    password = printed.split('password = "')[1].split('"')[0]
    assert 'username = "compute-rack1-a"' in printed
    token = _token(identity_cloud, "compute-rack1-a", password, "service")
    made = _placement(identity_cloud, "POST", "/resource_providers", token,
                      json={"name": "rack1-b", "uuid": str(uuid.uuid4())})
    assert made.status_code == 200, made.text
    assert _placement(identity_cloud, "POST", "/resource_providers", token,
                      json={"name": "rack2-a"}).status_code == 403
    # Resetting the credential voids the tokens got with the old password.
    assert identity_cli.run(args, identity_cloud.settings) == 0
    assert _placement(identity_cloud, "GET", "/resource_providers", token).status_code == 401


def test_agents_never_read_the_signing_key(tmp_path: object) -> None:
    from pathlib import Path

    data = Path(str(tmp_path))
    key = data / "keys" / "token.key"
    settings = load_settings(data_dir=data, auth={"strategy": "builtin"})
    with pytest.raises(ConfigError, match="agent credential"):
        agent_client_auth(settings)
    settings.agent_auth = settings.agent_auth.model_copy(
        update={"username": "compute-x", "password": "pw"})
    auth = agent_client_auth(settings)
    assert isinstance(auth["auth"], PasswordTokenAuth) and not auth["token"]
    assert not key.exists()
