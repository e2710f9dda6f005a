"""The scheduler honours what operators configure: zones, flavor and image requests to
placement, aggregate filters, and explanations that name the filter that said no."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.conftest import BACKENDS, cloud_settings, running_cloud
from tests.functional.compute.conftest import client_for

FILTERS = ["ComputeFilter", "RetryFilter", "AvailabilityZoneFilter",
           "RequestedDestinationFilter", "ImagePropertiesFilter",
           "AggregateInstanceExtraSpecsFilter", "AggregateMultiTenancyIsolation"]


@pytest.fixture(scope="module", params=BACKENDS)
def sched_cloud(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCloud]:
    settings = cloud_settings(tmp_path_factory.mktemp("sched"), str(request.param))
    settings.scheduler = settings.scheduler.model_copy(update={
        "enabled_filters": FILTERS, "default_schedule_zone": "nova",
        # Hosts of equal weight in name order: tests below rely on which comes first.
        "shuffle_best_same_weighed_hosts": False})
    with running_cloud(settings) as running:
        yield running


@pytest.fixture(scope="module")
def admin(sched_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(sched_cloud, "admin:proj-sched", version="2.74")
    yield c
    c.close()


@pytest.fixture(scope="module")
def member(sched_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(sched_cloud, "someone:proj-sched", version="2.74")
    yield c
    c.close()


@pytest.fixture(scope="module")
def image(admin: CloudClient) -> str:
    return _image(admin, "sched-plain")


def _image(admin: CloudClient, name: str, **properties: str) -> str:
    resp = admin.http.post("/image/v2/images", json={
        "name": name, "disk_format": "raw", "container_format": "bare",
        "visibility": "public", **properties})
    assert resp.status_code == 201, resp.text
    image_id = str(resp.json()["id"])
    put = admin.http.put(f"/image/v2/images/{image_id}/file", content=b"\0" * 512,
                         headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 204, put.text
    return image_id


def _flavor(admin: CloudClient, extra_specs: dict[str, str]) -> str:
    name = f"sched-{uuid.uuid4().hex[:8]}"
    flavor = admin.create_flavor(name, ram=128, vcpus=1, disk=1)
    resp = admin.compute("POST", f"/flavors/{flavor}/os-extra_specs",
                         json={"extra_specs": extra_specs})
    assert resp.status_code == 200, resp.text
    return flavor


def _aggregate(admin: CloudClient, hosts: list[str], zone: str | None = None,
               **metadata: str) -> int:
    body: dict[str, Any] = {"name": f"agg-{uuid.uuid4().hex[:8]}"}
    if zone is not None:
        body["availability_zone"] = zone
    resp = admin.compute("POST", "/os-aggregates", json={"aggregate": body})
    assert resp.status_code == 200, resp.text
    agg = int(resp.json()["aggregate"]["id"])
    for host in hosts:
        added = admin.compute("POST", f"/os-aggregates/{agg}/action",
                              json={"add_host": {"host": host}})
        assert added.status_code == 200, added.text
    if metadata:
        meta = admin.compute("POST", f"/os-aggregates/{agg}/action",
                             json={"set_metadata": {"metadata": metadata}})
        assert meta.status_code == 200, meta.text
    return agg


def _drop_aggregate(admin: CloudClient, agg: int) -> None:
    shown = admin.compute("GET", f"/os-aggregates/{agg}").json()["aggregate"]
    for host in shown["hosts"]:
        admin.compute("POST", f"/os-aggregates/{agg}/action",
                      json={"remove_host": {"host": host}})
    assert admin.compute("DELETE", f"/os-aggregates/{agg}").status_code == 200


def _boot(c: CloudClient, flavor: str, image: str, **extra: Any) -> dict[str, Any]:
    server_id = c.boot(flavor, image, **extra)
    return c.wait_status(server_id, {"ACTIVE", "ERROR"})


def _delete(c: CloudClient, *servers: dict[str, Any]) -> None:
    for server in servers:
        c.compute("DELETE", f"/servers/{server['id']}")
    for server in servers:
        c.wait_gone(server["id"])


def _provider(c: CloudClient, host: str) -> str:
    rps = c.placement("GET", f"/resource_providers?name={host}").json()["resource_providers"]
    return str(rps[0]["uuid"])


def _set_traits(c: CloudClient, host: str, add: set[str], remove: set[str]) -> None:
    for trait in add:
        c.placement("PUT", f"/traits/{trait}")
    rp = _provider(c, host)
    current = c.placement("GET", f"/resource_providers/{rp}/traits").json()
    traits = (set(current["traits"]) | add) - remove
    resp = c.placement("PUT", f"/resource_providers/{rp}/traits", json={
        "traits": sorted(traits),
        "resource_provider_generation": current["resource_provider_generation"]})
    assert resp.status_code == 200, resp.text


def _set_inventory(c: CloudClient, host: str,
                   changes: dict[str, int | dict[str, Any] | None]) -> dict[str, Any]:
    """Change some of a host's inventories; returns them as they were."""
    rp = _provider(c, host)
    current = c.placement("GET", f"/resource_providers/{rp}/inventories").json()
    inventories = dict(current["inventories"])
    for rc, total in changes.items():
        if rc.startswith("CUSTOM_"):
            c.placement("PUT", f"/resource_classes/{rc}")
        if total is None:
            inventories.pop(rc, None)
        elif isinstance(total, dict):
            inventories[rc] = total
        else:
            inventories[rc] = {"total": total}
    resp = c.placement("PUT", f"/resource_providers/{rp}/inventories", json={
        "inventories": inventories,
        "resource_provider_generation": current["resource_provider_generation"]})
    assert resp.status_code == 200, resp.text
    return dict(current["inventories"])


def _allocations(c: CloudClient, server_id: str) -> dict[str, dict[str, int]]:
    body = c.placement("GET", f"/allocations/{server_id}").json()["allocations"]
    return {rp: alloc["resources"] for rp, alloc in body.items()}


def _fault(server: dict[str, Any]) -> str:
    assert server["status"] == "ERROR", server
    return str(server["fault"]["message"])


# -- availability zones ---------------------------------------------------------------


def test_a_zone_request_lands_in_the_zone_and_the_server_shows_it(
        admin: CloudClient, image: str) -> None:
    agg = _aggregate(admin, ["fake-3"], zone="az-sched")
    flavor = _flavor(admin, {})
    try:
        zones = {z["zoneName"] for z in admin.compute(
            "GET", "/os-availability-zone").json()["availabilityZoneInfo"]}
        assert {"az-sched", "nova"} <= zones
        inside = [_boot(admin, flavor, image, availability_zone="az-sched")
                  for _ in range(2)]
        assert {s["OS-EXT-SRV-ATTR:host"] for s in inside} == {"fake-3"}
        assert {s["OS-EXT-AZ:availability_zone"] for s in inside} == {"az-sched"}
        default = [_boot(admin, flavor, image, availability_zone="nova") for _ in range(3)]
        assert "fake-3" not in {s["OS-EXT-SRV-ATTR:host"] for s in default}
        assert {s["OS-EXT-AZ:availability_zone"] for s in default} == {"nova"}
        listed = admin.compute("GET", "/servers/detail").json()["servers"]
        zone_of = {s["id"]: s["OS-EXT-AZ:availability_zone"] for s in listed}
        assert zone_of[inside[0]["id"]] == "az-sched" and zone_of[default[0]["id"]] == "nova"
        _delete(admin, *inside, *default)
        # Placement is asked for the zone's aggregates only: with its one host full there
        # is no candidate at all, rather than other hosts the zone filter removes.
        before = _set_inventory(admin, "fake-3", {"MEMORY_MB": 64})
        try:
            full = _boot(admin, flavor, image, availability_zone="az-sched")
        finally:
            _set_inventory(admin, "fake-3", {"MEMORY_MB": before["MEMORY_MB"]})
        assert "free with availability zone az-sched" in _fault(full)
        _delete(admin, full)
    finally:
        _drop_aggregate(admin, agg)


def test_servers_without_a_zone_get_the_default_schedule_zone(
        admin: CloudClient, image: str) -> None:
    agg = _aggregate(admin, ["fake-1"], zone="az-elsewhere")
    flavor = _flavor(admin, {})
    try:
        loose = [_boot(admin, flavor, image) for _ in range(3)]
        assert "fake-1" not in {s["OS-EXT-SRV-ATTR:host"] for s in loose}
        shown = admin.compute("GET", f"/servers/{loose[0]['id']}",
                              headers={"OpenStack-API-Version": "compute 2.96"}).json()
        assert shown["server"]["pinned_availability_zone"] == "nova"
        _delete(admin, *loose)
    finally:
        _drop_aggregate(admin, agg)


def test_an_unknown_or_unavailable_zone_is_refused_at_create(
        admin: CloudClient, image: str) -> None:
    flavor = _flavor(admin, {})
    body = {"server": {"name": "z", "flavorRef": flavor, "imageRef": image,
                       "networks": "none", "availability_zone": "no-such-zone"}}
    resp = admin.compute("POST", "/servers", json=body)
    assert resp.status_code == 400
    assert resp.json() == {"badRequest": {
        "code": 400, "message": "The requested availability zone is not available"}}
    # A zone whose only host is disabled is not available either.
    agg = _aggregate(admin, ["fake-4"], zone="az-off")
    off = admin.compute("PUT", "/os-services/disable",
                        headers={"OpenStack-API-Version": "compute 2.1"},
                        json={"host": "fake-4", "binary": "nova-compute"})
    assert off.status_code == 200, off.text
    try:
        body["server"]["availability_zone"] = "az-off"
        assert admin.compute("POST", "/servers", json=body).status_code == 400
    finally:
        admin.compute("PUT", "/os-services/enable",
                      headers={"OpenStack-API-Version": "compute 2.1"},
                      json={"host": "fake-4", "binary": "nova-compute"})
        _drop_aggregate(admin, agg)


def test_zone_host_forms_are_for_admins(admin: CloudClient, member: CloudClient,
                                        image: str) -> None:
    flavor = _flavor(admin, {})
    body = {"server": {"name": "forced", "flavorRef": flavor, "imageRef": image,
                       "networks": "none", "availability_zone": "nova:fake-2"}}
    refused = member.compute("POST", "/servers", json=body)
    assert refused.status_code == 403, refused.text
    to_host = _boot(admin, flavor, image, availability_zone="nova:fake-2")
    to_node = _boot(admin, flavor, image, availability_zone="nova::fake-1")
    assert to_host["OS-EXT-SRV-ATTR:host"] == "fake-2"
    assert to_node["OS-EXT-SRV-ATTR:hypervisor_hostname"] == "fake-1"
    assert to_host["OS-EXT-AZ:availability_zone"] == "nova"
    bad = admin.compute("POST", "/servers", json={"server": {
        **body["server"], "availability_zone": "a:b:c:d"}})
    assert bad.status_code == 400
    _delete(admin, to_host, to_node)


# -- the placement query from flavor and image ----------------------------------------


def test_required_and_forbidden_traits_from_flavor_and_image(admin: CloudClient,
                                                             image: str) -> None:
    _set_traits(admin, "fake-3", {"CUSTOM_SCHED_FAST"}, set())
    try:
        required = _flavor(admin, {"trait:CUSTOM_SCHED_FAST": "required"})
        forbidden = _flavor(admin, {"trait:CUSTOM_SCHED_FAST": "forbidden"})
        plain = _flavor(admin, {})
        traited = _image(admin, "sched-traited", **{"trait:CUSTOM_SCHED_FAST": "required"})
        fast = [_boot(admin, required, image), _boot(admin, plain, traited)]
        assert {s["OS-EXT-SRV-ATTR:host"] for s in fast} == {"fake-3"}
        slow = [_boot(admin, forbidden, image) for _ in range(3)]
        assert "fake-3" not in {s["OS-EXT-SRV-ATTR:host"] for s in slow}
        _delete(admin, *fast, *slow)
    finally:
        _set_traits(admin, "fake-3", set(), {"CUSTOM_SCHED_FAST"})


def test_dedicated_cpus_and_granular_groups_claim_what_they_ask(admin: CloudClient,
                                                                 image: str) -> None:
    dedicated = _flavor(admin, {"hw:cpu_policy": "dedicated"})
    nowhere = _boot(admin, dedicated, image)
    assert "PCPU: need 1, largest free 0" in _fault(nowhere)
    _set_inventory(admin, "fake-4", {"PCPU": 4, "CUSTOM_SCHED_UNIT": 2})
    try:
        pinned = _boot(admin, dedicated, image)
        assert pinned["OS-EXT-SRV-ATTR:host"] == "fake-4"
        held = _allocations(admin, pinned["id"])[_provider(admin, "fake-4")]
        assert held["PCPU"] == 1 and "VCPU" not in held
        granular = _flavor(admin, {"resources1:CUSTOM_SCHED_UNIT": "1",
                                   "resources2:CUSTOM_SCHED_UNIT": "1",
                                   "group_policy": "none"})
        unit = _boot(admin, granular, image)
        assert unit["OS-EXT-SRV-ATTR:host"] == "fake-4"
        assert _allocations(admin, unit["id"])[_provider(admin, "fake-4")][
            "CUSTOM_SCHED_UNIT"] == 2
        _delete(admin, pinned, unit, nowhere)
    finally:
        _set_inventory(admin, "fake-4", {"PCPU": None, "CUSTOM_SCHED_UNIT": None})


def test_an_unknown_resource_class_fails_the_build_with_a_reason(admin: CloudClient,
                                                                 image: str) -> None:
    flavor = _flavor(admin, {"resources:CUSTOM_SCHED_NEVER_DEFINED": "1"})
    server = _boot(admin, flavor, image)
    assert "No valid host was found" in _fault(server)
    assert _allocations(admin, server["id"]) == {}
    _delete(admin, server)


# -- aggregate and image filters, explained ---------------------------------------------


def test_aggregate_extra_specs_steer_and_explain(admin: CloudClient, image: str) -> None:
    agg = _aggregate(admin, ["fake-1"], ssd="true")
    try:
        ssd = _flavor(admin, {"aggregate_instance_extra_specs:ssd": "true"})
        on_ssd = _boot(admin, ssd, image)
        assert on_ssd["OS-EXT-SRV-ATTR:host"] == "fake-1"
        spinning = _flavor(admin, {"aggregate_instance_extra_specs:ssd": "false"})
        failed = _boot(admin, spinning, image)
        assert ("4 hosts removed by AggregateInstanceExtraSpecsFilter (ssd=false)"
                in _fault(failed))
        _delete(admin, on_ssd, failed)
    finally:
        _drop_aggregate(admin, agg)


def test_tenant_isolation_keeps_other_projects_off(sched_cloud: EmbeddedCloud,
                                                   admin: CloudClient, image: str) -> None:
    agg = _aggregate(admin, ["fake-2"], filter_tenant_id="proj-sched")
    other = client_for(sched_cloud, "admin:proj-other", version="2.74")
    try:
        flavor = _flavor(admin, {})
        mine = _boot(admin, flavor, image, host="fake-2")
        assert mine["OS-EXT-SRV-ATTR:host"] == "fake-2"
        theirs = _boot(other, flavor, image, host="fake-2")
        assert ("1 host removed by AggregateMultiTenancyIsolation (project proj-other"
                in _fault(theirs))
        elsewhere = [_boot(other, flavor, image) for _ in range(3)]
        assert "fake-2" not in {s["OS-EXT-SRV-ATTR:host"] for s in elsewhere}
        _delete(admin, mine)
        _delete(other, theirs, *elsewhere)
    finally:
        other.close()
        _drop_aggregate(admin, agg)


def test_image_properties_the_hosts_cannot_run(admin: CloudClient) -> None:
    flavor = _flavor(admin, {})
    arm = _image(admin, "sched-arm", hw_architecture="aarch64")
    server = _boot(admin, flavor, arm)
    assert ("4 hosts removed by ImagePropertiesFilter (hw_architecture=aarch64)"
            in _fault(server))
    fake_hv = _image(admin, "sched-fake", img_hv_type="fake", hw_vm_mode="hvm")
    fine = _boot(admin, flavor, fake_hv)
    assert fine["status"] == "ACTIVE"
    _delete(admin, server, fine)


# -- weighers ---------------------------------------------------------------------------


def test_a_host_where_a_build_just_failed_is_tried_last(admin: CloudClient,
                                                        image: str) -> None:
    # Every host is equally free now: without the build-failure weigher the name
    # breaks the tie, and fake-1 comes first.
    flavor = _flavor(admin, {})
    retried = _boot(admin, flavor, image, metadata={"fake:fail_spawn": "fake-1"})
    assert retried["status"] == "ACTIVE" and retried["OS-EXT-SRV-ATTR:host"] != "fake-1"
    after = [_boot(admin, flavor, image) for _ in range(2)]
    assert "fake-1" not in {s["OS-EXT-SRV-ATTR:host"] for s in after}
    _delete(admin, retried, *after)
