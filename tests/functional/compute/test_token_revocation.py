"""Builtin tokens stop working the moment what they stand for is gone.

A deleted user, a removed role, a disabled user, a changed password and an explicit
``DELETE /v3/auth/tokens`` all take effect on the next request, on the compute API and
on placement alike (both check tokens against the identity records).
"""

from __future__ import annotations

import uuid

import httpx

from cli.embedded import EmbeddedCloud
from tests.functional.compute.conftest import ADMIN_PASSWORD, password_token

COMPUTE = "/compute/v2.1/servers"
PLACEMENT = "/placement/resource_providers"


def _token(cloud: EmbeddedCloud, user: str, password: str, project: str) -> str:
    resp = password_token(cloud.base_url, user, password, project)
    assert resp.status_code == 201, resp.text
    return resp.headers["X-Subject-Token"]


def _call(cloud: EmbeddedCloud, method: str, path: str, token: str, **kw: object
          ) -> httpx.Response:
    headers = {"X-Auth-Token": token, **kw.pop("headers", {})}  # type: ignore[dict-item]
    return httpx.request(method, f"{cloud.base_url}{path}", headers=headers, timeout=30,
                         **kw)  # type: ignore[arg-type]


class Identity:
    """Admin calls on the identity API of one cloud."""

    def __init__(self, cloud: EmbeddedCloud) -> None:
        self.cloud = cloud
        self.admin = _token(cloud, "admin", ADMIN_PASSWORD, "admin")

    def call(self, method: str, path: str, **kw: object) -> httpx.Response:
        return _call(self.cloud, method, f"/identity/v3{path}", self.admin, **kw)

    def user(self, roles: tuple[str, ...]) -> tuple[str, str, str, str]:
        """A new user with ``roles`` on a new project: (name, user id, project, project id)."""
        name, project = f"u-{uuid.uuid4().hex[:8]}", f"p-{uuid.uuid4().hex[:8]}"
        pid = self.call("POST", "/projects", json={"project": {"name": project}}
                        ).json()["project"]["id"]
        uid = self.call("POST", "/users", json={"user": {"name": name, "password": "pw-1"}}
                        ).json()["user"]["id"]
        for role in roles:
            grant = self.call("PUT", f"/projects/{pid}/users/{uid}/roles/{role}")
            assert grant.status_code == 204, grant.text
        return name, uid, project, pid


def test_deleting_a_user_voids_its_tokens_at_once(identity_cloud: EmbeddedCloud) -> None:
    ids = Identity(identity_cloud)
    name, uid, project, _ = ids.user(("admin",))
    token = _token(identity_cloud, name, "pw-1", project)
    assert _call(identity_cloud, "GET", COMPUTE, token).status_code == 200
    assert _call(identity_cloud, "GET", PLACEMENT, token).status_code == 200
    assert ids.call("DELETE", f"/users/{uid}").status_code == 204
    assert _call(identity_cloud, "GET", COMPUTE, token).status_code == 401
    assert _call(identity_cloud, "GET", PLACEMENT, token).status_code == 401


def test_a_demoted_admin_is_no_longer_admin(identity_cloud: EmbeddedCloud) -> None:
    ids = Identity(identity_cloud)
    name, uid, project, pid = ids.user(("admin", "member"))
    token = _token(identity_cloud, name, "pw-1", project)
    assert _call(identity_cloud, "GET", PLACEMENT, token).status_code == 200
    assert _call(identity_cloud, "GET", "/compute/v2.1/os-availability-zone/detail",
                 token).status_code == 200
    assert ids.call("DELETE", f"/projects/{pid}/users/{uid}/roles/admin").status_code == 204
    # Still a member of the project, no longer an admin anywhere.
    assert _call(identity_cloud, "GET", COMPUTE, token).status_code == 200
    assert _call(identity_cloud, "GET", PLACEMENT, token).status_code == 403
    assert _call(identity_cloud, "GET", "/compute/v2.1/os-availability-zone/detail",
                 token).status_code == 403
    shown = _call(identity_cloud, "GET", "/identity/v3/auth/tokens", ids.admin,
                  headers={"X-Subject-Token": token})
    assert {r["name"] for r in shown.json()["token"]["roles"]} == {"member"}
    # Without any role on the project the token is void.
    assert ids.call("DELETE", f"/projects/{pid}/users/{uid}/roles/member").status_code == 204
    assert _call(identity_cloud, "GET", COMPUTE, token).status_code == 401


def test_delete_auth_tokens_revokes_one_token(identity_cloud: EmbeddedCloud) -> None:
    ids = Identity(identity_cloud)
    name, _, project, _ = ids.user(("member",))
    first = _token(identity_cloud, name, "pw-1", project)
    second = _token(identity_cloud, name, "pw-1", project)
    revoke = _call(identity_cloud, "DELETE", "/identity/v3/auth/tokens", first,
                   headers={"X-Subject-Token": first})
    assert revoke.status_code == 204
    assert _call(identity_cloud, "GET", COMPUTE, first).status_code == 401
    assert _call(identity_cloud, "GET", COMPUTE, second).status_code == 200
    check = _call(identity_cloud, "GET", "/identity/v3/auth/tokens", ids.admin,
                  headers={"X-Subject-Token": first})
    assert check.status_code == 404
    # A token cannot be re-used to get another one once revoked.
    again = httpx.post(f"{identity_cloud.base_url}/identity/v3/auth/tokens", timeout=30,
                       json={"auth": {"identity": {"methods": ["token"],
                                                   "token": {"id": first}}}})
    assert again.status_code == 401


def test_one_user_cannot_revoke_anothers_token(identity_cloud: EmbeddedCloud) -> None:
    ids = Identity(identity_cloud)
    a_name, _, a_project, _ = ids.user(("member",))
    b_name, _, b_project, _ = ids.user(("member",))
    victim = _token(identity_cloud, a_name, "pw-1", a_project)
    attacker = _token(identity_cloud, b_name, "pw-1", b_project)
    resp = _call(identity_cloud, "DELETE", "/identity/v3/auth/tokens", attacker,
                 headers={"X-Subject-Token": victim})
    assert resp.status_code == 403
    assert _call(identity_cloud, "GET", COMPUTE, victim).status_code == 200


def test_password_change_and_disable_void_earlier_tokens(identity_cloud: EmbeddedCloud
                                                         ) -> None:
    ids = Identity(identity_cloud)
    name, uid, project, _ = ids.user(("member",))
    old = _token(identity_cloud, name, "pw-1", project)
    change = _call(identity_cloud, "POST", f"/identity/v3/users/{uid}/password", old,
                   json={"user": {"original_password": "pw-1", "password": "pw-2"}})
    assert change.status_code == 204, change.text
    assert _call(identity_cloud, "GET", COMPUTE, old).status_code == 401
    assert password_token(identity_cloud.base_url, name, "pw-1", project).status_code == 401
    new = _token(identity_cloud, name, "pw-2", project)
    assert _call(identity_cloud, "GET", COMPUTE, new).status_code == 200
    disable = ids.call("PATCH", f"/users/{uid}", json={"user": {"enabled": False}})
    assert disable.status_code == 200 and disable.json()["user"]["enabled"] is False
    assert _call(identity_cloud, "GET", COMPUTE, new).status_code == 401
    assert password_token(identity_cloud.base_url, name, "pw-2", project).status_code == 401
