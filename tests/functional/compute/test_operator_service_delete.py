"""Changes that reach every project or host, in a cloud of their own: deleting services
(refused while servers are on a compute host; an empty host's node, provider and
aggregate memberships go with it) and the default quota class."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.conftest import BACKENDS, cloud_settings, running_cloud
from tests.functional.compute.helpers import ensure_flavor, public_image


@pytest.fixture(scope="module", params=BACKENDS)
def small_cloud(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCloud]:
    path: Path = tmp_path_factory.mktemp("svcdelete")
    with running_cloud(cloud_settings(path, str(request.param), fake_hosts=2)) as running:
        yield running


@pytest.fixture(scope="module")
def admin(small_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = CloudClient(small_cloud.base_url, version="2.74")
    yield c
    c.close()


def _service(admin: CloudClient, host: str, binary: str = "nova-compute") -> dict[str, str]:
    resp = admin.http.get("/compute/v2.1/os-services", params={"host": host, "binary": binary},
                          headers={"OpenStack-API-Version": "compute 2.53"})
    (svc,) = resp.json()["services"]
    return dict(svc)


def test_a_compute_service_with_servers_is_kept_then_deleted(admin: CloudClient) -> None:
    flavor = ensure_flavor(admin, "delete.tiny", ram=64)
    server = admin.boot(flavor, public_image(admin, "delete-image"), host="fake-2")
    admin.wait_status(server, {"ACTIVE"})
    svc = _service(admin, "fake-2")
    agg = admin.compute("POST", "/os-aggregates", json={"aggregate": {"name": "doomed"}}
                        ).json()["aggregate"]
    admin.compute("POST", f"/os-aggregates/{agg['id']}/action",
                  json={"add_host": {"host": "fake-2"}})
    v253 = {"OpenStack-API-Version": "compute 2.53"}
    resp = admin.http.delete(f"/compute/v2.1/os-services/{svc['id']}", headers=v253)
    assert resp.status_code == 409, resp.text
    assert "hosting instances" in resp.json()["conflictingRequest"]["message"]

    admin.compute("DELETE", f"/servers/{server}")
    admin.wait_gone(server)
    resp = admin.http.delete(f"/compute/v2.1/os-services/{svc['id']}", headers=v253)
    assert resp.status_code == 204, resp.text

    names = [p["name"] for p in admin.placement("GET", "/resource_providers").json()[
        "resource_providers"]]
    assert names == ["fake-1"]
    hyps = admin.compute("GET", "/os-hypervisors").json()["hypervisors"]
    assert [h["hypervisor_hostname"] for h in hyps] == ["fake-1"]
    assert admin.compute("GET", f"/os-aggregates/{agg['id']}").json()["aggregate"][
        "hosts"] == []
    ids = [s["id"] for s in admin.http.get("/compute/v2.1/os-services", headers=v253)
           .json()["services"]]
    assert svc["id"] not in ids
    admin.compute("DELETE", f"/os-aggregates/{agg['id']}")


def test_other_services_are_deleted_by_integer_id_before_2_53(admin: CloudClient) -> None:
    rows = admin.http.get("/compute/v2.1/os-services", params={"binary": "nova-scheduler"},
                          headers={"OpenStack-API-Version": "compute 2.52"}).json()["services"]
    resp = admin.http.delete(f"/compute/v2.1/os-services/{rows[0]['id']}",
                             headers={"OpenStack-API-Version": "compute 2.52"})
    assert resp.status_code == 204
    assert admin.http.delete("/compute/v2.1/os-services/99999",
                             headers={"OpenStack-API-Version": "compute 2.52"}
                             ).status_code == 404


def test_the_default_quota_class_is_every_project_s_default(admin: CloudClient) -> None:
    v = {"OpenStack-API-Version": "compute 2.57"}
    resp = admin.http.put("/compute/v2.1/os-quota-class-sets/default", headers=v,
                          json={"quota_class_set": {"instances": 3, "server_groups": 4}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["quota_class_set"]["instances"] == 3
    defaults = admin.http.get("/compute/v2.1/os-quota-sets/anyone/defaults", headers=v)
    assert defaults.json()["quota_set"]["instances"] == 3
    shown = admin.http.get("/compute/v2.1/os-quota-sets/anyone", headers=v).json()
    assert (shown["quota_set"]["instances"], shown["quota_set"]["server_groups"]) == (3, 4)
    for body in ({"quota_class_set": {"injected_files": 1}},  # gone at 2.57
                 {"quota_class_set": {"instances": -2}}, {"quota_class_set": {"x": 1}},
                 {"other": {}}):
        resp = admin.http.put("/compute/v2.1/os-quota-class-sets/default", headers=v,
                              json=body)
        assert resp.status_code == 400, body
    old = {"OpenStack-API-Version": "compute 2.49"}
    resp = admin.http.put("/compute/v2.1/os-quota-class-sets/default", headers=old,
                          json={"quota_class_set": {"networks": 1}})
    assert resp.status_code == 400  # nova-network's own quota is gone at every version
    resp = admin.http.put("/compute/v2.1/os-quota-class-sets/default", headers=old,
                          json={"quota_class_set": {"floating_ips": 1, "instances": 10}})
    assert resp.status_code == 200 and resp.json()["quota_class_set"]["floating_ips"] == 1
