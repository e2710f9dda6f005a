"""Quotas: limits, usage, updates, and no burst past a limit under concurrency."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.functional.compute.conftest import client_for
from tests.functional.compute.helpers import ensure_flavor, public_image, set_quota


def test_fifty_concurrent_creates_never_exceed_a_quota_of_ten(shared_cloud: EmbeddedCloud
                                                             ) -> None:
    project = f"race-{uuid.uuid4().hex[:6]}"
    admin = client_for(shared_cloud, "admin:admin")
    racer = client_for(shared_cloud, f"racer:{project}")
    try:
        flavor = ensure_flavor(admin, "race.tiny", ram=64)
        image = public_image(admin)
        set_quota(admin, project, instances=10, cores=-1, ram=-1)
        body = {"server": {"name": "r", "flavorRef": flavor, "imageRef": image,
                           "networks": "none"}}
        with ThreadPoolExecutor(50) as pool:
            codes = list(pool.map(lambda _: racer.compute("POST", "/servers", json=body)
                                  .status_code, range(50)))
        assert codes.count(202) == 10
        assert codes.count(403) == 40
        listed = racer.compute("GET", "/servers").json()["servers"]
        assert len(listed) == 10
        limits = racer.compute("GET", "/limits").json()["limits"]["absolute"]
        assert limits["totalInstancesUsed"] == 10
        for server in listed:
            racer.compute("DELETE", f"/servers/{server['id']}")
    finally:
        admin.close()
        racer.close()


def test_quota_exceeded_message_and_min_max_count(shared_cloud: EmbeddedCloud,
                                                  admin: CloudClient) -> None:
    project = f"q-{uuid.uuid4().hex[:6]}"
    user = client_for(shared_cloud, f"u:{project}")
    try:
        flavor = ensure_flavor(admin, "q.two", ram=128, vcpus=2)
        image = public_image(admin, "q-image")
        set_quota(admin, project, instances=3, cores=4, ram=-1)
        body: dict[str, Any] = {"server": {"name": "m", "flavorRef": flavor,
                                           "imageRef": image, "networks": "none",
                                           "min_count": 3}}
        refused = user.compute("POST", "/servers", json=body)
        assert refused.status_code == 403
        assert refused.json()["forbidden"]["message"] == (
            "Quota exceeded for cores: Requested 6, but already used 0 of 4 cores")
        body["server"].update(min_count=1, max_count=5, return_reservation_id=True)
        partial = user.compute("POST", "/servers", json=body)
        assert partial.status_code == 202
        assert len(user.compute("GET", "/servers").json()["servers"]) == 2
        below = admin.compute("PUT", f"/os-quota-sets/{project}",
                              json={"quota_set": {"instances": 1}})
        assert below.status_code == 400
        assert "already used and reserved 2" in below.json()["badRequest"]["message"]
        forced = admin.compute("PUT", f"/os-quota-sets/{project}",
                               json={"quota_set": {"instances": 1, "force": True}})
        assert forced.json()["quota_set"]["instances"] == 1
    finally:
        user.close()


def test_cores_and_ram_in_use_are_summed_from_the_servers_flavors(
        shared_cloud: EmbeddedCloud, admin: CloudClient) -> None:
    project = f"q-{uuid.uuid4().hex[:6]}"
    user = client_for(shared_cloud, f"u:{project}")
    try:
        two = ensure_flavor(admin, "q.sum.two", ram=96, vcpus=2)
        one = ensure_flavor(admin, "q.sum.one", ram=32, vcpus=1)
        image = public_image(admin, "q-image")
        set_quota(admin, project, instances=10, cores=4, ram=200)
        for flavor in (two, one):
            made = user.compute("POST", "/servers", json={"server": {
                "name": "s", "flavorRef": flavor, "imageRef": image, "networks": "none"}})
            assert made.status_code == 202, made.text
        refused = user.compute("POST", "/servers", json={"server": {
            "name": "s", "flavorRef": two, "imageRef": image, "networks": "none"}})
        assert refused.status_code == 403
        assert refused.json()["forbidden"]["message"] == (
            "Quota exceeded for cores: Requested 2, but already used 3 of 4 cores")
        set_quota(admin, project, instances=10, cores=-1, ram=200)
        refused = user.compute("POST", "/servers", json={"server": {
            "name": "s", "flavorRef": two, "imageRef": image, "networks": "none"}})
        assert refused.json()["forbidden"]["message"] == (
            "Quota exceeded for ram: Requested 96, but already used 128 of 200 ram")
        fits = user.compute("POST", "/servers", json={"server": {
            "name": "s", "flavorRef": one, "imageRef": image, "networks": "none"}})
        assert fits.status_code == 202, fits.text
        detail = admin.compute("GET", f"/os-quota-sets/{project}/detail").json()["quota_set"]
        assert (detail["instances"]["in_use"], detail["cores"]["in_use"],
                detail["ram"]["in_use"]) == (3, 4, 160)
        for server in user.compute("GET", "/servers").json()["servers"]:
            user.compute("DELETE", f"/servers/{server['id']}")
    finally:
        user.close()


@pytest.mark.parametrize(("version", "present", "absent"), [
    ("2.1", {"fixed_ips", "injected_files", "instances"}, set()),
    ("2.36", {"injected_files", "server_groups"}, {"fixed_ips", "security_groups"}),
    ("2.57", {"instances", "key_pairs", "server_group_members"},
     {"injected_files", "injected_file_content_bytes", "fixed_ips"}),
])
def test_quota_set_fields_follow_the_microversion(shared_cloud: EmbeddedCloud, version: str,
                                                  present: set[str], absent: set[str]
                                                  ) -> None:
    c = client_for(shared_cloud, "viewer:quota-view", version)
    try:
        for path in ("/os-quota-sets/quota-view", "/os-quota-sets/quota-view/defaults",
                     "/os-quota-sets/quota-view/detail"):
            qs = c.compute("GET", path).json()["quota_set"]
            assert qs["id"] == "quota-view"
            assert present <= set(qs)
            assert not absent & set(qs)
        detail = c.compute("GET", "/os-quota-sets/quota-view/detail").json()["quota_set"]
        assert detail["instances"] == {"in_use": 0, "limit": 10, "reserved": 0}
    finally:
        c.close()


def test_quota_update_and_delete_are_admin_only_and_checked(
        alice: CloudClient, admin: CloudClient) -> None:
    denied = alice.compute("PUT", "/os-quota-sets/proj-a",
                           json={"quota_set": {"instances": 50}})
    assert denied.status_code == 403
    assert alice.compute("GET", "/os-quota-sets/proj-b").status_code == 403
    bad = admin.compute("PUT", "/os-quota-sets/proj-z", json={"quota_set": {"instances": -2}})
    assert bad.status_code == 400
    unknown = admin.compute("PUT", "/os-quota-sets/proj-z", json={"quota_set": {"gpus": 1}})
    assert unknown.status_code == 400
    done = admin.compute("PUT", "/os-quota-sets/proj-z",
                         json={"quota_set": {"instances": 50, "force": True}})
    assert done.json()["quota_set"]["instances"] == 50
    assert "id" not in done.json()["quota_set"]
    assert admin.compute("DELETE", "/os-quota-sets/proj-z").status_code == 202
    shown = admin.compute("GET", "/os-quota-sets/proj-z").json()["quota_set"]
    assert shown["instances"] == 10


def test_key_pair_quota_is_enforced_per_user(shared_cloud: EmbeddedCloud,
                                            admin: CloudClient) -> None:
    user = client_for(shared_cloud, "keeper:proj-keys")
    try:
        resp = user.compute("POST", "/os-keypairs", json={"keypair": {"name": "k"}})
        assert resp.status_code == 201
        set_quota(admin, "proj-keys", key_pairs=1)
        over = user.compute("POST", "/os-keypairs", json={"keypair": {"name": "k2"}})
        assert over.status_code == 403
        assert "too many key pairs" in over.json()["forbidden"]["message"]
    finally:
        user.compute("DELETE", "/os-keypairs/k")
        admin.compute("DELETE", "/os-quota-sets/proj-keys")
        user.close()


@pytest.mark.parametrize(("version", "present", "absent"), [
    ("2.1", {"maxTotalInstances", "maxSecurityGroups", "maxPersonality"}, set()),
    ("2.36", {"maxPersonality", "maxServerGroups"}, {"maxSecurityGroups",
                                                     "maxTotalFloatingIps"}),
    ("2.57", {"maxTotalCores", "totalRAMUsed"}, {"maxPersonality", "maxPersonalitySize"}),
])
def test_limits_follow_the_microversion(shared_cloud: EmbeddedCloud, version: str,
                                        present: set[str], absent: set[str]) -> None:
    c = client_for(shared_cloud, "viewer:limits-view", version)
    try:
        limits = c.compute("GET", "/limits").json()["limits"]
        assert limits["rate"] == []
        assert present <= set(limits["absolute"])
        assert not absent & set(limits["absolute"])
    finally:
        c.close()
