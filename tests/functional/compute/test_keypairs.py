"""Key pairs: import, generate (before 2.92), per-user visibility, microversion shapes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.functional.compute.conftest import client_for
from tests.functional.compute.helpers import ensure_flavor, public_image

PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJKXgHZIT5oyx1ttpEdOfCdlEsPrnQ2Fh"
              "lm4aNXUbeyB test@example")


@pytest.fixture
def user(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, "kp-user:kp-project", "2.10")
    yield c
    for kp in c.compute("GET", "/os-keypairs").json()["keypairs"]:
        c.compute("DELETE", f"/os-keypairs/{kp['keypair']['name']}")
    c.close()


def test_import_shows_fingerprint_and_type(user: CloudClient) -> None:
    resp = user.compute("POST", "/os-keypairs", json={"keypair": {
        "name": "imported", "public_key": PUBLIC_KEY}})
    assert resp.status_code == 201
    kp = resp.json()["keypair"]
    assert kp["type"] == "ssh"
    assert kp["user_id"] == "kp-user"
    assert "private_key" not in kp
    assert len(kp["fingerprint"].split(":")) == 16
    shown = user.compute("GET", "/os-keypairs/imported").json()["keypair"]
    assert shown["public_key"] == PUBLIC_KEY
    assert shown["fingerprint"] == kp["fingerprint"]
    assert {"id", "created_at", "deleted", "user_id"} <= set(shown)


def test_generate_returns_a_private_key_once(user: CloudClient) -> None:
    kp = user.compute("POST", "/os-keypairs", json={"keypair": {"name": "gen"}}).json()
    assert "PRIVATE KEY" in kp["keypair"]["private_key"]
    shown = user.compute("GET", "/os-keypairs/gen").json()["keypair"]
    assert "private_key" not in shown
    assert shown["public_key"].startswith("ssh-rsa ")


@pytest.mark.parametrize(("version", "status", "has_type"), [
    ("2.1", 200, False), ("2.2", 201, True), ("2.73", 201, True)])
def test_create_and_delete_status_by_microversion(shared_cloud: EmbeddedCloud, version: str,
                                                  status: int, has_type: bool) -> None:
    c = client_for(shared_cloud, "kp-v:kp-v", version)
    try:
        resp = c.compute("POST", "/os-keypairs", json={"keypair": {
            "name": "v", "public_key": PUBLIC_KEY}})
        assert resp.status_code == status
        assert ("type" in resp.json()["keypair"]) is has_type
        assert c.compute("DELETE", "/os-keypairs/v").status_code == (202 if status == 200
                                                                    else 204)
    finally:
        c.close()


BAD = [
    ("duplicate", {"name": "dup", "public_key": PUBLIC_KEY}, 409, "conflictingRequest"),
    ("bad key", {"name": "bad", "public_key": "ssh-rsa not-a-key"}, 400, "badRequest"),
    ("bad name", {"name": "a/b", "public_key": PUBLIC_KEY}, 400, "badRequest"),
    ("bad type", {"name": "t", "public_key": PUBLIC_KEY, "type": "pgp"}, 400, "badRequest"),
    ("unknown field", {"name": "u", "colour": "red"}, 400, "badRequest"),
]


@pytest.mark.parametrize(("what", "body", "status", "key"), BAD, ids=[b[0] for b in BAD])
def test_bad_keypair_requests(user: CloudClient, what: str, body: dict[str, str],
                              status: int, key: str) -> None:
    user.compute("POST", "/os-keypairs", json={"keypair": {"name": "dup",
                                                           "public_key": PUBLIC_KEY}})
    resp = user.compute("POST", "/os-keypairs", json={"keypair": body})
    assert resp.status_code == status, resp.text
    assert resp.json()[key]["code"] == status


def test_keypairs_are_per_user_and_admin_may_ask_for_another(
        user: CloudClient, shared_cloud: EmbeddedCloud, admin: CloudClient) -> None:
    user.compute("POST", "/os-keypairs", json={"keypair": {"name": "mine",
                                                           "public_key": PUBLIC_KEY}})
    other = client_for(shared_cloud, "someone:kp-project", "2.10")
    try:
        assert other.compute("GET", "/os-keypairs").json()["keypairs"] == []
        assert other.compute("GET", "/os-keypairs/mine").status_code == 404
        assert other.compute("GET", "/os-keypairs?user_id=kp-user").status_code == 403
    finally:
        other.close()
    listed = admin.compute("GET", "/os-keypairs?user_id=kp-user").json()["keypairs"]
    assert [k["keypair"]["name"] for k in listed] == ["mine"]


def test_server_create_checks_key_name(alice: CloudClient, admin: CloudClient) -> None:
    flavor, image = ensure_flavor(admin, "kp.tiny"), public_image(admin, "kp-image")
    resp = alice.compute("POST", "/servers", json={"server": {
        "name": "k", "flavorRef": flavor, "imageRef": image, "networks": "none",
        "key_name": "missing"}})
    assert resp.status_code == 400
    assert resp.json()["badRequest"]["message"] == "Invalid key_name provided."
