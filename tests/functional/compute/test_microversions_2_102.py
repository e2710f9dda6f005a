"""Microversions 2.101 to 2.104: the flavor name filter, flavors without rxtx_factor and
OS-FLV-DISABLED:disabled, unknown query parameters refused everywhere (2.102), and
pinning or unpinning a server's availability zone (2.104)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.functional.compute.conftest import client_for
from tests.functional.compute.helpers import ensure_flavor, public_image


def _v(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


def test_the_maximum_is_2_104(admin: CloudClient) -> None:
    root = admin.compute("GET", "/", headers=_v("2.1")).json()["version"]
    assert root["version"] == "2.104"
    assert admin.compute("GET", "/flavors", headers=_v("2.104")).status_code == 200
    resp = admin.compute("GET", "/flavors", headers=_v("2.105"))
    assert resp.status_code == 406


@pytest.fixture(scope="module")
def flavors(admin: CloudClient) -> Iterator[list[str]]:
    tag = uuid.uuid4().hex[:6]
    names = [f"fn-{tag}-small", f"fn-{tag}-large", f"other-{tag}"]
    made = []
    for name in names:
        resp = admin.compute("POST", "/flavors", json={"flavor": {
            "name": name, "ram": 64, "vcpus": 1, "disk": 0}})
        assert resp.status_code == 200, resp.text
        made.append(resp.json()["flavor"]["id"])
    yield names
    for flavor_id in made:
        admin.compute("DELETE", f"/flavors/{flavor_id}")


def _names(client: CloudClient, path: str, version: str) -> set[str]:
    resp = client.compute("GET", path, headers=_v(version))
    assert resp.status_code == 200, resp.text
    return {f["name"] for f in resp.json()["flavors"]}


def test_flavors_are_filtered_by_name_from_2_102(admin: CloudClient,
                                                 flavors: list[str]) -> None:
    prefix = flavors[0].rsplit("-", 1)[0]
    for path in ("/flavors", "/flavors/detail"):
        assert _names(admin, f"{path}?name={prefix}", "2.102") == set(flavors[:2])
        assert _names(admin, f"{path}?name=^{flavors[2]}$", "2.102") == {flavors[2]}
    # Before 2.102 the parameter is not a filter.
    assert set(flavors) <= _names(admin, f"/flavors?name={prefix}", "2.74")
    bad = admin.compute("GET", "/flavors?name=(", headers=_v("2.102"))
    assert bad.status_code == 400 and "badRequest" in bad.json()
    strict = admin.compute("GET", f"/flavors?name={prefix}", headers=_v("2.101"))
    assert strict.status_code == 400  # unknown at 2.75-2.101


def test_flavor_list_refuses_unknown_parameters_from_2_75(admin: CloudClient) -> None:
    assert admin.compute("GET", "/flavors?foo=1", headers=_v("2.74")).status_code == 200
    for version in ("2.75", "2.102"):
        resp = admin.compute("GET", "/flavors/detail?foo=1", headers=_v(version))
        assert resp.status_code == 400, version
    resp = admin.compute("GET", "/flavors?rxtx_factor=1", headers=_v("2.102"))
    assert resp.status_code == 400


def test_flavors_lose_rxtx_factor_and_disabled_at_2_102(admin: CloudClient,
                                                        flavors: list[str]) -> None:
    old = admin.compute("GET", "/flavors/detail", headers=_v("2.101")).json()["flavors"]
    assert all("rxtx_factor" in f and "OS-FLV-DISABLED:disabled" in f for f in old)
    new = admin.compute("GET", "/flavors/detail", headers=_v("2.102")).json()["flavors"]
    assert new and not any({"rxtx_factor", "OS-FLV-DISABLED:disabled"} & set(f) for f in new)
    shown = admin.compute("GET", f"/flavors/{new[0]['id']}", headers=_v("2.102")).json()
    assert "rxtx_factor" not in shown["flavor"]
    body = {"flavor": {"name": f"rx-{uuid.uuid4().hex[:6]}", "ram": 64, "vcpus": 1,
                       "disk": 0, "rxtx_factor": 2.0}}
    refused = admin.compute("POST", "/flavors", json=body, headers=_v("2.102"))
    assert refused.status_code == 400 and "rxtx_factor" in refused.text
    made = admin.compute("POST", "/flavors", json=body, headers=_v("2.101"))
    assert made.status_code == 200 and made.json()["flavor"]["rxtx_factor"] == 2.0
    admin.compute("DELETE", f"/flavors/{made.json()['flavor']['id']}")


@pytest.mark.parametrize(("path", "good"), [
    ("/os-availability-zone", ""), ("/extensions", ""), ("/os-aggregates", ""),
    ("/limits", "tenant_id=admin"), ("/os-quota-sets/admin", "user_id=u"),
    ("/os-simple-tenant-usage", "detailed=1"), ("/os-keypairs", "limit=1"),
    ("/servers/detail", "limit=1"), ("/os-hypervisors", "limit=1"),
])
def test_unknown_query_parameters_are_refused_from_2_102(admin: CloudClient, path: str,
                                                         good: str) -> None:
    assert admin.compute("GET", f"{path}?bogus=1", headers=_v("2.101")).status_code in (
        200, 400)
    refused = admin.compute("GET", f"{path}?bogus=1", headers=_v("2.102"))
    assert refused.status_code == 400, refused.text
    assert "bogus" in refused.json()["badRequest"]["message"]
    if good:
        ok = admin.compute("GET", f"{path}?{good}", headers=_v("2.102"))
        assert ok.status_code == 200, ok.text


def test_a_server_and_its_items_refuse_unknown_parameters_from_2_102(
        admin: CloudClient) -> None:
    missing = str(uuid.uuid4())
    # The query is checked before the server is looked up, as upstream's schemas are.
    for path in (f"/servers/{missing}", f"/servers/{missing}/os-instance-actions",
                 f"/servers/{missing}/metadata", f"/servers/{missing}/os-server-password"):
        assert admin.compute("GET", f"{path}?bogus=1", headers=_v("2.102")
                             ).status_code == 400, path
        assert admin.compute("GET", f"{path}?bogus=1", headers=_v("2.101")
                             ).status_code == 404, path
    actions = admin.compute("GET", f"/servers/{missing}/os-instance-actions?limit=1",
                            headers=_v("2.102"))
    assert actions.status_code == 404


@pytest.fixture(scope="module")
def pia(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, "pia:proj-pinned-zone", "2.104")
    yield c
    c.close()


def _put(client: CloudClient, server_id: str, version: str = "2.104",
         **fields: Any) -> Any:
    return client.compute("PUT", f"/servers/{server_id}", headers=_v(version),
                          json={"server": fields})


def test_a_server_is_unpinned_and_pinned_again_to_its_zone_at_2_104(
        admin: CloudClient, pia: CloudClient) -> None:
    flavor = ensure_flavor(admin, "pin.tiny", ram=64)
    image = public_image(admin, "pin-image")
    server = pia.boot(flavor, image, availability_zone="nova")
    try:
        pia.wait_status(server, {"ACTIVE"})
        assert pia.server(server)["pinned_availability_zone"] == "nova"
        assert _put(pia, server, pinned_availability_zone="nova").status_code == 200
        moved = _put(pia, server, pinned_availability_zone="elsewhere")
        assert moved.status_code == 409 and "Unpin first" in moved.text
        unpinned = _put(pia, server, pinned_availability_zone=None)
        assert unpinned.status_code == 200, unpinned.text
        body = unpinned.json()["server"]
        assert body["pinned_availability_zone"] is None
        assert body["OS-EXT-AZ:availability_zone"] == "nova"
        assert pia.server(server)["pinned_availability_zone"] is None
        other = _put(pia, server, pinned_availability_zone="elsewhere")
        assert other.status_code == 409 and "current availability zone 'nova'" in other.text
        assert pia.server(server)["pinned_availability_zone"] is None
        again = _put(pia, server, pinned_availability_zone="nova", name="renamed")
        assert again.status_code == 200
        assert (again.json()["server"]["pinned_availability_zone"],
                again.json()["server"]["name"]) == ("nova", "renamed")
        for bad in ("", " nova", 5, "x" * 256):
            assert _put(pia, server, pinned_availability_zone=bad).status_code == 400, bad
        early = _put(pia, server, "2.103", pinned_availability_zone=None)
        assert early.status_code == 400
        assert pia.server(server)["pinned_availability_zone"] == "nova"
    finally:
        pia.compute("DELETE", f"/servers/{server}")
        pia.wait_gone(server)
    assert _put(pia, str(uuid.uuid4()), pinned_availability_zone=None).status_code == 404
