"""The operator APIs' answers validate against Tempest's schemas at every boundary.

Tempest's own service clients send the requests and check status, body and version
header, as its admin API tests do against Nova. Tempest has no module for the 2.88
hypervisor views (it keeps checking them with its 2.53 one, which requires the fields
2.88 removed): those are checked field by field in test_operator_api.py.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.functional.compute.helpers import ensure_flavor, public_image
from tests.functional.compute.test_tempest_schemas import (
    TEMPEST_MISSING,
    _NoAuthProvider,
    use_version,
)

# The API contract: the same on every backend, checked on production's.
pytestmark = pytest.mark.production_backend

with contextlib.suppress(ImportError):  # reported by the fixture below
    from tempest.lib import exceptions as lib_exc  # type: ignore[import-untyped]
    from tempest.lib.services.compute import (  # type: ignore[import-untyped]
        aggregates_client,
        availability_zone_client,
        extensions_client,
        hosts_client,
        hypervisor_client,
        quota_classes_client,
        services_client,
        tenant_usages_client,
    )

PROJECT = "proj-operator-schemas"
TOKEN = f"admin:{PROJECT}"


@dataclass
class Clients:
    services: Any
    hypervisors: Any
    aggregates: Any
    usages: Any
    hosts: Any
    quota_classes: Any
    extensions: Any
    zones: Any
    http: CloudClient
    server: str


def _wait_active(http: CloudClient, server_id: str) -> None:
    http.wait_status(server_id, {"ACTIVE"})


@pytest.fixture(scope="module")
def clients(shared_cloud: EmbeddedCloud) -> Iterator[Clients]:
    if TEMPEST_MISSING:
        pytest.fail(f"tempest is not installed ({TEMPEST_MISSING})")
    auth = _NoAuthProvider(f"{shared_cloud.base_url}/compute/v2.1", TOKEN)

    def make(module: Any, name: str) -> Any:
        return getattr(module, name)(auth, "compute", "RegionOne")

    http = CloudClient(shared_cloud.base_url, token=TOKEN, version="2.53")
    flavor = ensure_flavor(http, "operator.tiny", ram=64)
    server = http.boot(flavor, public_image(http, "operator-image"), name="operator-vm")
    _wait_active(http, server)
    yield Clients(
        services=make(services_client, "ServicesClient"),
        hypervisors=make(hypervisor_client, "HypervisorClient"),
        aggregates=make(aggregates_client, "AggregatesClient"),
        usages=make(tenant_usages_client, "TenantUsagesClient"),
        hosts=make(hosts_client, "HostsClient"),
        quota_classes=make(quota_classes_client, "QuotaClassesClient"),
        extensions=make(extensions_client, "ExtensionsClient"),
        zones=make(availability_zone_client, "AvailabilityZoneClient"),
        http=http, server=server)
    http.compute("DELETE", f"/servers/{server}")
    http.wait_gone(server)
    http.close()


@pytest.fixture(autouse=True)
def _microversion_reset() -> Iterator[None]:
    yield
    use_version(None)


@pytest.mark.parametrize("version", ["2.1", "2.11", "2.52", "2.53", "2.100"])
def test_service_list(clients: Clients, version: str) -> None:
    use_version(version)
    services = clients.services.list_services()["services"]
    binaries = {s["binary"] for s in services}
    assert {"nova-compute", "nova-conductor", "nova-scheduler"} <= binaries
    only = clients.services.list_services(binary="nova-compute", host="fake-1")["services"]
    assert [(s["host"], s["zone"]) for s in only] == [("fake-1", "nova")]


@pytest.mark.parametrize("version", ["2.1", "2.11", "2.52"])
def test_service_enable_disable_before_2_53(clients: Clients, version: str) -> None:
    use_version(version)
    svc = clients.services
    try:
        out = svc.disable_service(host="fake-4", binary="nova-compute")["service"]
        assert out == {"host": "fake-4", "binary": "nova-compute", "status": "disabled"}
        out = svc.disable_log_reason(host="fake-4", binary="nova-compute",
                                     disabled_reason="maintenance")["service"]
        assert out["disabled_reason"] == "maintenance"
        if version != "2.1":
            out = svc.update_forced_down(host="fake-4", binary="nova-compute",
                                         forced_down=True)["service"]
            assert out["forced_down"] is True
            svc.update_forced_down(host="fake-4", binary="nova-compute", forced_down=False)
    finally:
        out = svc.enable_service(host="fake-4", binary="nova-compute")["service"]
    assert out["status"] == "enabled"


@pytest.mark.parametrize("version", ["2.53", "2.100"])
def test_service_update_from_2_53(clients: Clients, version: str) -> None:
    use_version(version)
    svc = clients.services
    (row,) = svc.list_services(binary="nova-compute", host="fake-4")["services"]
    try:
        out = svc.update_service(row["id"], status="disabled",
                                 disabled_reason="maintenance")["service"]
        assert (out["status"], out["disabled_reason"]) == ("disabled", "maintenance")
        out = svc.update_service(row["id"], forced_down=True)["service"]
        assert (out["forced_down"], out["state"]) == (True, "down")
    finally:
        out = svc.update_service(row["id"], status="enabled", forced_down=False)["service"]
    assert (out["status"], out["disabled_reason"], out["state"]) == ("enabled", None, "up")


@pytest.mark.parametrize("version", ["2.1", "2.28", "2.33", "2.52", "2.53", "2.75", "2.87"])
def test_hypervisors(clients: Clients, version: str) -> None:
    use_version(version)
    hyp = clients.hypervisors
    brief = hyp.list_hypervisors()["hypervisors"]
    detail = hyp.list_hypervisors(detail=True)["hypervisors"]
    assert [h["id"] for h in brief] == [h["id"] for h in detail]
    assert len(brief) == 4
    one = hyp.show_hypervisor(brief[0]["id"])["hypervisor"]
    assert one["hypervisor_hostname"] == "fake-1"
    assert sum(h["running_vms"] for h in detail) >= 1
    hyp.show_hypervisor_uptime(brief[0]["id"])
    stats = hyp.show_hypervisor_statistics()["hypervisor_statistics"]
    assert stats["count"] == 4 and stats["vcpus"] == sum(h["vcpus"] for h in detail)
    if not at_least(version, "2.53"):
        found = hyp.search_hypervisor("fake-")["hypervisors"]
        assert len(found) == 4
        hosting = hyp.list_servers_on_hypervisor("fake")["hypervisors"]
        names = [s["name"] for h in hosting for s in h.get("servers", [])]
        assert "operator-vm" in names


def at_least(version: str, floor: str) -> bool:
    return tuple(map(int, version.split("."))) >= tuple(map(int, floor.split(".")))


@pytest.mark.parametrize("version", ["2.53", "2.75"])
def test_hypervisors_with_servers(clients: Clients, version: str) -> None:
    use_version(version)
    hyp = clients.hypervisors
    listed = hyp.list_hypervisors(detail=True, with_servers=True)["hypervisors"]
    servers = [s["uuid"] for h in listed for s in h.get("servers", [])]
    assert clients.server in servers
    if version == "2.75":
        assert all("servers" in h for h in listed)
    else:
        assert any("servers" not in h for h in listed)
    hyp.show_hypervisor(listed[0]["id"], with_servers=True)


@pytest.mark.parametrize("version", ["2.1", "2.40", "2.41", "2.100"])
def test_aggregates(clients: Clients, version: str) -> None:
    use_version(version)
    agg = clients.aggregates
    name = f"operator-agg-{version}"
    made = agg.create_aggregate(name=name, availability_zone=f"zone-{version}")["aggregate"]
    try:
        agg.show_aggregate(made["id"])
        agg.update_aggregate(made["id"], name=name + "-renamed")
        agg.set_metadata(made["id"], metadata={"ssd": "true"})
        added = agg.add_host(made["id"], host="fake-3")["aggregate"]
        assert added["hosts"] == ["fake-3"]
        assert added["availability_zone"] == f"zone-{version}"
        listed = {a["id"]: a for a in agg.list_aggregates()["aggregates"]}
        assert listed[made["id"]]["metadata"] == {"ssd": "true",
                                                  "availability_zone": f"zone-{version}"}
        zones = clients.zones.list_availability_zones()["availabilityZoneInfo"]
        assert f"zone-{version}" in {z["zoneName"] for z in zones}
        agg.remove_host(made["id"], host="fake-3")
    finally:
        agg.delete_aggregate(made["id"])


@pytest.mark.parametrize("version", ["2.1", "2.40", "2.100"])
def test_tenant_usages(clients: Clients, version: str) -> None:
    use_version(version)
    period = {"start": "2020-01-01T00:00:00", "end": "2099-01-01T00:00:00"}
    usages = clients.usages.list_tenant_usages(detailed=1, **period)["tenant_usages"]
    ours = [u for u in usages if u["tenant_id"] == PROJECT]
    assert ours and clients.server in {s["instance_id"] for s in ours[0]["server_usages"]}
    one = clients.usages.show_tenant_usage(PROJECT, **period)["tenant_usage"]
    assert one["tenant_id"] == PROJECT and one["total_hours"] > 0


@pytest.mark.parametrize("version", ["2.1", "2.42"])
def test_hosts(clients: Clients, version: str) -> None:
    use_version(version)
    hosts = clients.hosts.list_hosts()["hosts"]
    assert {"host_name": "fake-1", "service": "compute", "zone": "nova"} in hosts
    shown = clients.hosts.show_host("fake-1")["host"]
    assert [r["resource"]["project"] for r in shown][:3] == ["(total)", "(used_now)",
                                                            "(used_max)"]
    # Tempest's update_host sends null for what it is not given, which upstream's schema
    # refuses (its own tests only use it for refusals); the raw body is what works.
    with pytest.raises(lib_exc.BadRequest):
        clients.hosts.update_host("fake-4", status="disable")
    _, body = clients.hosts.put("os-hosts/fake-4", json.dumps({"status": "disable"}))
    assert json.loads(body) == {"host": "fake-4", "status": "disabled"}
    _, body = clients.hosts.put("os-hosts/fake-4", json.dumps({"status": "enable"}))
    assert json.loads(body)["status"] == "enabled"


@pytest.mark.parametrize("version", ["2.1", "2.49", "2.50", "2.56", "2.57", "2.100"])
def test_quota_class_default(clients: Clients, version: str) -> None:
    use_version(version)
    shown = clients.quota_classes.show_quota_class_set("default")["quota_class_set"]
    assert shown["id"] == "default" and shown["instances"] == 10
    # Another class than the default one: nothing uses it, so other tests are unaffected.
    name = f"operator-{version}"
    updated = clients.quota_classes.update_quota_class_set(name, cores=7)["quota_class_set"]
    assert updated["cores"] == 7 and "id" not in updated
    assert clients.quota_classes.show_quota_class_set(name)["quota_class_set"]["cores"] == 7


def test_extensions(clients: Clients) -> None:
    listed = clients.extensions.list_extensions()["extensions"]
    assert "os-aggregates" in {e["alias"] for e in listed}
    assert clients.extensions.show_extension("os-services")["extension"]["name"] == "Services"
