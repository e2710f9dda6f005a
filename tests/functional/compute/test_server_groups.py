"""Server groups: policies per microversion, membership through the `group` hint."""

from __future__ import annotations

import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.functional.compute.conftest import client_for
from tests.functional.compute.helpers import ensure_flavor, public_image

CASES = [
    # (version, request body, status, expected policy field)
    ("2.1", {"name": "g", "policies": ["affinity"]}, 200, ("policies", ["affinity"])),
    ("2.1", {"name": "g", "policies": ["soft-affinity"]}, 400, None),
    ("2.15", {"name": "g", "policies": ["soft-anti-affinity"]}, 200,
     ("policies", ["soft-anti-affinity"])),
    ("2.15", {"name": "g", "policies": ["affinity", "anti-affinity"]}, 400, None),
    ("2.64", {"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 2}},
     200, ("policy", "anti-affinity")),
    ("2.64", {"name": "g", "policy": "affinity", "rules": {"max_server_per_host": 2}},
     400, None),
    ("2.64", {"name": "g", "policies": ["affinity"]}, 400, None),
    ("2.64", {"name": "g", "policy": "clustered"}, 400, None),
    ("2.64", {"name": "", "policy": "affinity"}, 400, None),
]


@pytest.mark.parametrize(("version", "body", "status", "field"), CASES,
                         ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_create_server_group_by_microversion(shared_cloud: EmbeddedCloud, version: str,
                                             body: dict[str, object], status: int,
                                             field: tuple[str, object] | None) -> None:
    c = client_for(shared_cloud, "sg:sg-project", version)
    try:
        resp = c.compute("POST", "/os-server-groups", json={"server_group": body})
        assert resp.status_code == status, resp.text
        if field is None:
            return
        group = resp.json()["server_group"]
        assert group[field[0]] == field[1]
        assert group["members"] == []
        assert ("metadata" in group) is (not version.startswith("2.64"))
        assert ("project_id" in group) is (version != "2.1")
        assert c.compute("DELETE", f"/os-server-groups/{group['id']}").status_code == 204
    finally:
        c.close()


def test_group_hint_adds_members_within_quota(shared_cloud: EmbeddedCloud,
                                              admin: CloudClient) -> None:
    c = client_for(shared_cloud, "sg2:sg2-project")
    try:
        flavor, image = ensure_flavor(admin, "sg.tiny", ram=64), public_image(admin, "sg-img")
        group = c.compute("POST", "/os-server-groups", json={"server_group": {
            "name": "spread", "policy": "anti-affinity"}}).json()["server_group"]
        admin.compute("PUT", "/os-quota-sets/sg2-project", json={"quota_set": {
            "server_group_members": 2}})
        body = {"server": {"name": "m", "flavorRef": flavor, "imageRef": image,
                           "networks": "none"}, "os:scheduler_hints": {"group": group["id"]}}
        first = c.compute("POST", "/servers", json=body).json()["server"]["id"]
        second = c.compute("POST", "/servers", json=body).json()["server"]["id"]
        third = c.compute("POST", "/servers", json=body)
        assert third.status_code == 403
        shown = c.compute("GET", f"/os-server-groups/{group['id']}").json()["server_group"]
        assert sorted(shown["members"]) == sorted([first, second])
        server = c.compute("GET", f"/servers/{first}").json()["server"]
        assert server["server_groups"] == [group["id"]]
        bad = {**body, "os:scheduler_hints": {"group": "6b0cbd68-5bd5-4cfa-9c8c-6c5a5c1b8f8e"}}
        assert c.compute("POST", "/servers", json=bad).status_code == 400
        for sid in (first, second):
            c.compute("DELETE", f"/servers/{sid}")
        for sid in (first, second):
            c.wait_gone(sid)
        shown = c.compute("GET", f"/os-server-groups/{group['id']}").json()["server_group"]
        assert shown["members"] == []
    finally:
        c.close()


def test_server_group_quota(shared_cloud: EmbeddedCloud, admin: CloudClient) -> None:
    c = client_for(shared_cloud, "sg3:sg3-project")
    try:
        admin.compute("PUT", "/os-quota-sets/sg3-project",
                      json={"quota_set": {"server_groups": 1}})
        body = {"server_group": {"name": "one", "policy": "affinity"}}
        assert c.compute("POST", "/os-server-groups", json=body).status_code == 200
        over = c.compute("POST", "/os-server-groups", json=body)
        assert over.status_code == 403
        assert "too many server groups" in over.json()["forbidden"]["message"]
    finally:
        c.close()
