"""Details upstream's Tempest run found: extension show, usage with an empty project,
os-hosts body checks, nova-network quota class keys, lock reasons, and the server
sub-resources (password, addresses, interfaces, volume attachments)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.functional.compute.conftest import client_for
from tests.functional.compute.helpers import ensure_flavor, public_image


@pytest.fixture(scope="module")
def dora(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, "dora:proj-compat-items", "2.73")
    yield c
    c.close()


@pytest.fixture(scope="module")
def server(admin: CloudClient, dora: CloudClient) -> Iterator[str]:
    flavor = ensure_flavor(admin, "items.tiny", ram=64)
    image = public_image(admin, "items-image")
    server_id = dora.boot(flavor, image)
    dora.wait_status(server_id, {"ACTIVE"})
    yield server_id
    dora.compute("DELETE", f"/servers/{server_id}")
    dora.wait_gone(server_id)


def test_one_extension_is_shown_by_alias_and_an_unknown_one_is_404(admin: CloudClient
                                                                   ) -> None:
    shown = admin.compute("GET", "/extensions/os-hosts")
    assert shown.status_code == 200, shown.text
    ext = shown.json()["extension"]
    assert (ext["alias"], ext["name"]) == ("os-hosts", "Hosts")
    assert set(ext) == {"alias", "name", "description", "namespace", "updated", "links"}
    # Tempest shows os-consoles; the list is upstream's, aliases and names.
    consoles = admin.compute("GET", "/extensions/os-consoles").json()["extension"]
    assert consoles["name"] == "Consoles"
    listed = admin.compute("GET", "/extensions").json()["extensions"]
    assert len(listed) == 99 and {"NMN", "os-server-password", "os-volumes"} <= {
        e["alias"] for e in listed}
    assert not {"servers", "flavors", "os-server-tags"} & {e["alias"] for e in listed}
    missing = admin.compute("GET", "/extensions/os-no-such-thing")
    assert missing.status_code == 404 and "itemNotFound" in missing.json()


def test_usage_of_an_empty_project_id_is_not_found(admin: CloudClient) -> None:
    query = "?start=2026-01-01T00:00:00&end=2026-01-02T00:00:00"
    resp = admin.compute("GET", f"/os-simple-tenant-usage/{query}")
    assert resp.status_code == 404, resp.text
    assert "itemNotFound" in resp.json()
    listed = admin.compute("GET", f"/os-simple-tenant-usage{query}")
    assert listed.status_code == 200 and "tenant_usages" in listed.json()


@pytest.mark.parametrize("body", [
    {"status": "invalid"}, {"maintenance_mode": "sometimes"}, {},
    {"status": None, "maintenance_mode": None}, {"status": "enable", "extra": 1},
    {"status": 1}, "enable"])
def test_a_bad_host_update_is_400_even_for_an_unknown_host(admin: CloudClient,
                                                           body: object) -> None:
    unknown = f"nowhere-{uuid.uuid4().hex[:6]}"
    resp = admin.compute("PUT", f"/os-hosts/{unknown}", json=body,
                         headers={"OpenStack-API-Version": "compute 2.1"})
    assert resp.status_code == 400, (body, resp.text)
    assert "badRequest" in resp.json()


def test_a_good_host_update_of_an_unknown_host_is_404(admin: CloudClient) -> None:
    resp = admin.compute("PUT", f"/os-hosts/nowhere-{uuid.uuid4().hex[:6]}",
                         json={"status": "ENABLE", "maintenance_mode": "enable"},
                         headers={"OpenStack-API-Version": "compute 2.1"})
    assert resp.status_code == 404, resp.text


def test_host_update_takes_upstream_spellings(admin: CloudClient) -> None:
    v = {"OpenStack-API-Version": "compute 2.1"}
    hosts = admin.compute("GET", "/os-hosts", headers=v).json()["hosts"]
    host = next(h["host_name"] for h in hosts if h["service"] == "compute")
    try:
        resp = admin.compute("PUT", f"/os-hosts/{host}", json={"status": "Disable"},
                             headers=v)
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"host": host, "status": "disabled"}
    finally:
        resp = admin.compute("PUT", f"/os-hosts/{host}", json={"status": "ENABLE"},
                             headers=v)
    assert resp.json() == {"host": host, "status": "enabled"}


LEGACY = ("fixed_ips", "floating_ips", "security_groups", "security_group_rules")


def test_quota_classes_keep_nova_network_limits_until_2_50(admin: CloudClient) -> None:
    name = f"legacy-{uuid.uuid4().hex[:8]}"
    old = {"OpenStack-API-Version": "compute 2.1"}
    fresh = admin.compute("GET", f"/os-quota-class-sets/{name}", headers=old).json()
    assert all(fresh["quota_class_set"][k] == -1 for k in LEGACY)
    values = {k: 10 + i for i, k in enumerate(LEGACY)}
    resp = admin.compute("PUT", f"/os-quota-class-sets/{name}", headers=old,
                         json={"quota_class_set": {**values, "server_groups": 7}})
    assert resp.status_code == 200, resp.text
    updated = resp.json()["quota_class_set"]
    assert {k: updated[k] for k in LEGACY} == values
    assert "server_groups" not in updated and "id" not in updated
    shown = admin.compute("GET", f"/os-quota-class-sets/{name}", headers=old).json()
    assert {k: shown["quota_class_set"][k] for k in LEGACY} == values
    new = {"OpenStack-API-Version": "compute 2.50"}
    at_250 = admin.compute("GET", f"/os-quota-class-sets/{name}", headers=new).json()
    assert not set(LEGACY) & set(at_250["quota_class_set"])
    assert at_250["quota_class_set"]["server_groups"] == 7
    for key in (*LEGACY, "networks"):
        refused = admin.compute("PUT", f"/os-quota-class-sets/{name}", headers=new,
                                json={"quota_class_set": {key: 1}})
        assert refused.status_code == 400, key
    # A refused update writes nothing, even the keys before the bad one.
    bad = admin.compute("PUT", f"/os-quota-class-sets/{name}", headers=old,
                        json={"quota_class_set": {"floating_ips": 99, "cores": -5}})
    assert bad.status_code == 400
    again = admin.compute("GET", f"/os-quota-class-sets/{name}", headers=old).json()
    assert again["quota_class_set"]["floating_ips"] == values["floating_ips"]


def _action(client: CloudClient, server_id: str, body: object,
            version: str = "2.73") -> int:
    return client.compute("POST", f"/servers/{server_id}/action", json=body, headers={
        "OpenStack-API-Version": f"compute {version}"}).status_code


def test_the_reason_of_a_lock_is_kept_shown_and_cleared(dora: CloudClient,
                                                        server: str) -> None:
    assert _action(dora, server, {"lock": {"locked_reason": "maintenance window"}}) == 202
    try:
        shown = dora.server(server)
        assert (shown["locked"], shown["locked_reason"]) == (True, "maintenance window")
        listed = dora.compute("GET", "/servers/detail?locked=true").json()["servers"]
        assert [(s["id"], s["locked_reason"]) for s in listed] == [
            (server, "maintenance window")]
        unlocked = dora.compute("GET", "/servers?locked=false").json()["servers"]
        assert server not in {s["id"] for s in unlocked}
        old = dora.compute("GET", f"/servers/{server}", headers={
            "OpenStack-API-Version": "compute 2.72"}).json()["server"]
        assert "locked_reason" not in old and old["locked"] is True
    finally:
        assert _action(dora, server, {"unlock": None}) == 202
    shown = dora.server(server)
    assert (shown["locked"], shown["locked_reason"]) == (False, None)
    assert _action(dora, server, {"lock": None}) == 202
    assert dora.server(server)["locked_reason"] is None
    assert _action(dora, server, {"unlock": None}) == 202


@pytest.mark.parametrize("args", [{"locked_reason": ""}, {"locked_reason": "x" * 256},
                                  {"locked_reason": None}, {"locked_reason": 5},
                                  {"reason": "x"}])
def test_a_bad_lock_reason_is_400_and_locks_nothing(dora: CloudClient, server: str,
                                                    args: dict[str, object]) -> None:
    assert _action(dora, server, {"lock": args}) == 400
    assert dora.server(server)["locked"] is False


def test_a_lock_reason_before_2_73_is_refused(dora: CloudClient, server: str) -> None:
    assert _action(dora, server, {"lock": {"locked_reason": "x"}}, "2.72") == 400
    assert dora.server(server)["locked"] is False


def test_server_password_is_empty_until_set_and_clears(dora: CloudClient,
                                                       server: str) -> None:
    resp = dora.compute("GET", f"/servers/{server}/os-server-password")
    assert resp.status_code == 200 and resp.json() == {"password": ""}
    assert dora.compute("DELETE", f"/servers/{server}/os-server-password").status_code == 204
    assert dora.compute("GET", f"/servers/{server}/os-server-password").json() == {
        "password": ""}


def test_addresses_interfaces_and_volumes_of_a_server(dora: CloudClient,
                                                      server: str) -> None:
    base = f"/servers/{server}"
    ips = dora.compute("GET", f"{base}/ips")
    assert ips.status_code == 200 and ips.json() == {"addresses": dora.server(server)[
        "addresses"]}
    missing = dora.compute("GET", f"{base}/ips/no-such-network")
    assert missing.status_code == 404 and "itemNotFound" in missing.json()
    assert dora.compute("GET", f"{base}/os-interface").json() == {"interfaceAttachments": []}
    assert dora.compute("GET", f"{base}/os-interface/{uuid.uuid4()}").status_code == 404
    vols = dora.compute("GET", f"{base}/os-volume_attachments?limit=5&offset=0")
    assert vols.status_code == 200 and vols.json() == {"volumeAttachments": []}
    assert dora.compute("GET", f"{base}/os-volume_attachments?limit=-1").status_code == 400
    strict = dora.compute("GET", f"{base}/os-volume_attachments?foo=1", headers={
        "OpenStack-API-Version": "compute 2.75"})
    assert strict.status_code == 400
    lax = dora.compute("GET", f"{base}/os-volume_attachments?foo=1", headers={
        "OpenStack-API-Version": "compute 2.74"})
    assert lax.status_code == 200
    assert dora.compute("GET", f"{base}/os-volume_attachments/{uuid.uuid4()}"
                        ).status_code == 404


@pytest.mark.parametrize("path", ["os-server-password", "ips", "ips/public", "os-interface",
                                  "os-volume_attachments"])
def test_sub_resources_of_a_missing_or_foreign_server_are_404(
        dora: CloudClient, shared_cloud: EmbeddedCloud, server: str, path: str) -> None:
    assert dora.compute("GET", f"/servers/{uuid.uuid4()}/{path}").status_code == 404
    other = client_for(shared_cloud, "eve:proj-compat-other")
    try:
        assert other.compute("GET", f"/servers/{server}/{path}").status_code == 404
        if path == "os-server-password":
            assert other.compute("DELETE", f"/servers/{server}/{path}").status_code == 404
    finally:
        other.close()


def test_a_reader_sees_the_password_but_cannot_clear_it(shared_cloud: EmbeddedCloud,
                                                        server: str) -> None:
    reader = client_for(shared_cloud, "rita:proj-compat-items")
    reader.http.headers["X-Roles"] = "reader"
    try:
        assert reader.compute("GET", f"/servers/{server}/os-server-password"
                              ).status_code == 200
        assert reader.compute("DELETE", f"/servers/{server}/os-server-password"
                              ).status_code == 403
    finally:
        reader.close()
