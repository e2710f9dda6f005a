"""The builtin identity service: discovery, tokens, lookups, and tokens on every API."""

from __future__ import annotations

import httpx
import pytest

from cli.embedded import EmbeddedCloud
from common.auth import TokenSigner, key_path, load_key
from tests.functional.compute.conftest import ADMIN_PASSWORD, password_token


def _admin_token(cloud: EmbeddedCloud) -> str:
    resp = password_token(cloud.base_url, "admin", ADMIN_PASSWORD, "admin")
    assert resp.status_code == 201, resp.text
    return resp.headers["X-Subject-Token"]


def _get(cloud: EmbeddedCloud, path: str, token: str | None, **headers: str
         ) -> httpx.Response:
    all_headers = dict(headers)
    if token is not None:
        all_headers["X-Auth-Token"] = token
    return httpx.get(f"{cloud.base_url}{path}", headers=all_headers, timeout=30)


def test_version_discovery_documents(identity_cloud: EmbeddedCloud) -> None:
    root = httpx.get(f"{identity_cloud.base_url}/identity/", timeout=30)
    assert root.status_code == 300
    (v3,) = root.json()["versions"]["values"]
    assert v3["id"].startswith("v3.") and v3["status"] == "stable"
    assert v3["links"][0]["href"] == f"{identity_cloud.base_url}/identity/v3/"
    doc = httpx.get(f"{identity_cloud.base_url}/identity/v3", timeout=30).json()["version"]
    assert {"id", "status", "links", "media-types", "updated"} <= set(doc)


def test_password_token_has_keystone_shape_and_catalog(identity_cloud: EmbeddedCloud
                                                       ) -> None:
    resp = password_token(identity_cloud.base_url, "admin", ADMIN_PASSWORD, "admin")
    assert resp.status_code == 201
    assert resp.headers["X-Subject-Token"].startswith("kn1.")
    token = resp.json()["token"]
    assert token["methods"] == ["password"]
    assert token["expires_at"].endswith("Z") and token["issued_at"].endswith("Z")
    assert token["user"]["name"] == "admin"
    assert token["user"]["domain"] == {"id": "default", "name": "Default"}
    assert token["project"]["name"] == "admin"
    assert token["project"]["domain"] == {"id": "default", "name": "Default"}
    assert {r["name"] for r in token["roles"]} == {"admin"}
    catalog = {s["type"]: s for s in token["catalog"]}
    assert set(catalog) == {"compute", "image", "identity", "network", "placement"}
    assert catalog["network"]["name"] == "neutron"
    public = [e for e in catalog["compute"]["endpoints"] if e["interface"] == "public"]
    assert public[0]["url"] == f"{identity_cloud.base_url}/compute/v2.1"
    assert public[0]["region"] == public[0]["region_id"] == "RegionOne"


@pytest.mark.parametrize(("user", "password", "project"), [
    ("admin", "wrong", "admin"),
    ("nobody", ADMIN_PASSWORD, "admin"),
    ("admin", ADMIN_PASSWORD, "no-such-project"),
], ids=["bad password", "unknown user", "unknown project"])
def test_bad_credentials_get_401_in_keystone_format(identity_cloud: EmbeddedCloud, user: str,
                                                    password: str, project: str) -> None:
    resp = password_token(identity_cloud.base_url, user, password, project)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == 401
    assert "X-Subject-Token" not in resp.headers


def test_validate_token_and_lookups(identity_cloud: EmbeddedCloud) -> None:
    token = _admin_token(identity_cloud)
    check = _get(identity_cloud, "/identity/v3/auth/tokens", token, **{
        "X-Subject-Token": token})
    assert check.status_code == 200
    project_id = check.json()["token"]["project"]["id"]
    assert check.headers["X-Subject-Token"] == token
    shown = _get(identity_cloud, f"/identity/v3/projects/{project_id}", token)
    assert shown.json()["project"]["name"] == "admin"
    by_name = _get(identity_cloud, "/identity/v3/projects?name=admin", token)
    assert [p["id"] for p in by_name.json()["projects"]] == [project_id]
    users = _get(identity_cloud, "/identity/v3/users?name=admin", token).json()["users"]
    assert [u["name"] for u in users] == ["admin"]
    domains = _get(identity_cloud, "/identity/v3/domains?name=Default", token).json()
    assert [d["id"] for d in domains["domains"]] == ["default"]
    forged = _get(identity_cloud, "/identity/v3/auth/tokens", token,
                  **{"X-Subject-Token": token[:-4] + "AAAA"})
    assert forged.status_code == 404


def _make_user(cloud: EmbeddedCloud, admin: str, name: str, project: str, role: str
               ) -> None:
    headers = {"X-Auth-Token": admin}
    base = f"{cloud.base_url}/identity/v3"
    proj = httpx.post(f"{base}/projects", json={"project": {"name": project}},
                      headers=headers, timeout=30)
    assert proj.status_code in (201, 409), proj.text
    project_id = httpx.get(f"{base}/projects?name={project}", headers=headers,
                           timeout=30).json()["projects"][0]["id"]
    user = httpx.post(f"{base}/users", json={"user": {"name": name, "password": "pw-" + name}},
                      headers=headers, timeout=30)
    assert user.status_code == 201, user.text
    grant = httpx.put(f"{base}/projects/{project_id}/users/{user.json()['user']['id']}/roles/"
                      f"{role}", headers=headers, timeout=30)
    assert grant.status_code == 204


def test_tokens_work_on_compute_and_placement_and_roles_apply(identity_cloud: EmbeddedCloud
                                                              ) -> None:
    admin = _admin_token(identity_cloud)
    _make_user(identity_cloud, admin, "carol", "carol-project", "member")
    carol = password_token(identity_cloud.base_url, "carol", "pw-carol", "carol-project")
    assert carol.status_code == 201
    member = carol.headers["X-Subject-Token"]
    compute = "/compute/v2.1"
    assert _get(identity_cloud, f"{compute}/servers", member).status_code == 200
    assert _get(identity_cloud, f"{compute}/servers", None).status_code == 401
    assert _get(identity_cloud, f"{compute}/servers", "admin:admin").status_code == 401
    assert _get(identity_cloud, f"{compute}/os-availability-zone/detail",
                member).status_code == 403
    placement = "/placement/resource_providers"
    assert _get(identity_cloud, placement, admin).status_code == 200
    assert _get(identity_cloud, placement, member).status_code == 403


def test_expired_and_foreign_tokens_are_refused(identity_cloud: EmbeddedCloud) -> None:
    stranger = TokenSigner(b"x" * 64)
    forged, _ = stranger.issue("u", "p", ("admin",), 60)
    assert _get(identity_cloud, "/compute/v2.1/servers", forged).status_code == 401
    signer = TokenSigner(load_key(key_path(identity_cloud.settings)))
    expired, _ = signer.issue("u", "p", ("admin",), ttl=-1)
    resp = _get(identity_cloud, "/compute/v2.1/servers", expired)
    assert resp.status_code == 401
    assert resp.json()["unauthorized"]["code"] == 401
