"""Compatibility details clients and upstream's own tests rely on: integer flavor ids,
canonical access addresses, generated x509 key pairs before 2.92, 410 for removed APIs."""

from __future__ import annotations

import uuid

import jsonschema
import pytest
from cryptography import x509

from cli.embedded import EmbeddedCloud
from compute_api.removed_apis import REMOVED
from tests.cloud import CloudClient
from tests.functional.compute.conftest import client_for
from tests.functional.compute.helpers import ensure_flavor, public_image

# The API contract: the same on every backend, checked on production's.
pytestmark = pytest.mark.production_backend


def test_flavor_id_may_be_a_number(shared_client: CloudClient) -> None:
    number = int(uuid.uuid4().int % 10**9)
    made = shared_client.compute("POST", "/flavors", json={"flavor": {
        "name": f"int-{number}", "ram": 64, "vcpus": 1, "disk": 0, "id": number}})
    assert made.status_code == 200, made.text
    assert made.json()["flavor"]["id"] == str(number)
    shown = shared_client.compute("GET", f"/flavors/{number}")
    assert shown.status_code == 200 and shown.json()["flavor"]["name"] == f"int-{number}"
    assert shared_client.compute("DELETE", f"/flavors/{number}").status_code == 202
    # Booleans are no numbers.
    for bad in (True, False):
        resp = shared_client.compute("POST", "/flavors", json={"flavor": {
            "name": f"bad-{uuid.uuid4().hex[:6]}", "ram": 64, "vcpus": 1, "disk": 0,
            "id": bad}})
        assert resp.status_code == 400, (bad, resp.text)


def test_access_ipv6_is_kept_canonical(shared_client: CloudClient) -> None:
    flavor = ensure_flavor(shared_client, "compat.tiny", ram=64)
    image = public_image(shared_client, "compat-image")
    server = shared_client.boot(flavor, image, accessIPv6="2001:0DB8:0000::0001",
                                accessIPv4="192.0.2.7")
    try:
        shown = shared_client.server(server)
        assert shown["accessIPv6"] == "2001:db8::1"
        assert shown["accessIPv4"] == "192.0.2.7"
        updated = shared_client.compute("PUT", f"/servers/{server}", json={"server": {
            "accessIPv6": "2001:DB8:0:0:0:0:0:2"}})
        assert updated.status_code == 200, updated.text
        assert updated.json()["server"]["accessIPv6"] == "2001:db8::2"
    finally:
        shared_client.compute("DELETE", f"/servers/{server}")
        shared_client.wait_gone(server)


@pytest.mark.parametrize("version", ["2.2", "2.91"])
def test_x509_key_pairs_are_generated_until_2_92(shared_cloud: EmbeddedCloud,
                                                  version: str) -> None:
    # Ids as long as a real identity's (32 hex digits each) must fit the certificate.
    client = client_for(shared_cloud, f"{uuid.uuid4().hex}:{uuid.uuid4().hex}", version)
    name = f"cert-{uuid.uuid4().hex[:6]}"
    try:
        made = client.compute("POST", "/os-keypairs", json={"keypair": {
            "name": name, "type": "x509"}})
        assert made.status_code in (200, 201), made.text
        body = made.json()["keypair"]
        assert body["type"] == "x509" and "BEGIN RSA PRIVATE KEY" in body["private_key"]
        cert = x509.load_pem_x509_certificate(body["public_key"].encode())
        digest = cert.fingerprint(cert.signature_hash_algorithm or x509.hashes.SHA1())
        assert len(body["fingerprint"].split(":")) in (20, len(digest))
        shown = client.compute("GET", f"/os-keypairs/{name}").json()["keypair"]
        assert shown["public_key"] == body["public_key"] and "private_key" not in shown
    finally:
        client.compute("DELETE", f"/os-keypairs/{name}")
        client.close()


def test_removed_apis_answer_410(shared_cloud: EmbeddedCloud) -> None:
    client = client_for(shared_cloud, "gone-user:gone-project", "2.1")
    try:
        for method, path in REMOVED:
            concrete = path.replace("{server_id}", str(uuid.uuid4())).replace("{id}", "1")
            resp = client.compute(method, concrete, json={} if method in ("POST", "PUT")
                                  else None)
            assert resp.status_code == 410, (method, path, resp.text)
            assert resp.json()["computeFault"]["code"] == 410
        # Without a token it is still a 401 first.
        anonymous = CloudClient(shared_cloud.base_url, token="")
        anonymous.http.headers.pop("X-Auth-Token", None)
        assert anonymous.compute("GET", "/os-cells").status_code == 401
        anonymous.close()
    finally:
        client.close()


def test_unknown_action_is_400_and_removed_action_410(shared_client: CloudClient) -> None:
    flavor = ensure_flavor(shared_client, "compat.tiny", ram=64)
    server = shared_client.boot(flavor, public_image(shared_client, "compat-act"))
    try:
        unknown = shared_client.compute("POST", f"/servers/{server}/action",
                                        json={"frobnicate": None})
        assert unknown.status_code == 400
        assert unknown.json()["badRequest"]["message"] == \
            "There is no such action: frobnicate"
        gone = shared_client.compute("POST", f"/servers/{server}/action",
                                     json={"resetNetwork": None})
        assert gone.status_code == 410
    finally:
        shared_client.compute("DELETE", f"/servers/{server}")
        shared_client.wait_gone(server)


def test_admin_resets_a_servers_state(shared_cloud: EmbeddedCloud,
                                      shared_client: CloudClient) -> None:
    flavor = ensure_flavor(shared_client, "compat.tiny", ram=64)
    image = public_image(shared_client, "compat-reset")
    member = client_for(shared_cloud, "reset-user:reset-project", "2.47")
    server = member.boot(flavor, image)
    try:
        assert member.wait_status(server, {"ACTIVE", "ERROR"})["status"] == "ACTIVE"
        url = f"/servers/{server}/action"
        refused = member.compute("POST", url, json={"os-resetState": {"state": "error"}})
        assert refused.status_code == 403
        for bad in ({"state": "stopped"}, {}, {"state": "error", "x": 1}):
            assert shared_client.compute("POST", url, json={"os-resetState": bad}
                                         ).status_code == 400, bad
        assert member.server(server)["status"] == "ACTIVE"
        reset = shared_client.compute("POST", url, json={"os-resetState": {"state": "error"}})
        assert reset.status_code == 202
        shown = member.server(server)
        assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("ERROR", None)
        back = shared_client.compute("POST", url, json={"os-resetState": {"state": "active"}})
        assert back.status_code == 202 and member.server(server)["status"] == "ACTIVE"
        shared_client.compute("POST", url, json={"os-resetState": {"state": "error"}})
    finally:
        # A server in ERROR is deleted like any other.
        assert member.compute("DELETE", f"/servers/{server}").status_code == 204
        member.wait_gone(server)
        member.close()


def test_usage_audit_report_says_no_host_ran_an_audit(shared_cloud: EmbeddedCloud,
                                                      shared_client: CloudClient) -> None:
    from tempest.lib.api_schema.response.compute.v2_1 import (
        instance_usage_audit_logs as audit_schemas,
    )

    listed = shared_client.compute("GET", "/os-instance_usage_audit_log")
    assert listed.status_code == 200
    jsonschema.validate(listed.json(), audit_schemas.list_instance_usage_audit_log[
        "response_body"])
    report = listed.json()["instance_usage_audit_logs"]
    assert report["num_hosts"] == report["num_hosts_not_run"] >= 1
    shown = shared_client.compute("GET", "/os-instance_usage_audit_log/2026-03-15 10:00:00")
    jsonschema.validate(shown.json(), audit_schemas.get_instance_usage_audit_log[
        "response_body"])
    period = shown.json()["instance_usage_audit_log"]
    assert (period["period_beginning"], period["period_ending"]) == (
        "2026-02-01 00:00:00", "2026-03-01 00:00:00")
    bad = shared_client.compute("GET", "/os-instance_usage_audit_log/yesterday")
    assert bad.status_code == 400
    member = client_for(shared_cloud, "audit-user:audit-project", "2.47")
    assert member.compute("GET", "/os-instance_usage_audit_log").status_code == 403
    member.close()
