"""Microversions 2.74 to 2.100: requested host, hostnames, hints, pinned zone, image
properties, strict list queries, non-admin filters, flavor access and extra specs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.functional.compute.conftest import client_for
from tests.functional.compute.helpers import ensure_flavor, public_image


@pytest.fixture(scope="module")
def boot(admin: CloudClient) -> dict[str, str]:
    return {"flavor": ensure_flavor(admin, "late.tiny", ram=64),
            "image": public_image(admin, "late-img")}


@pytest.fixture(scope="module")
def carol(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    """A user of her own project, so server lists here see only this module's servers."""
    c = client_for(shared_cloud, "carol:proj-late", "2.100")
    yield c
    c.close()


@pytest.fixture(scope="module")
def root(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, "admin:admin", "2.100")
    yield c
    c.close()


def at(cloud: EmbeddedCloud, token: str, version: str) -> CloudClient:
    return client_for(cloud, token, version)


def _boot(client: CloudClient, boot: dict[str, str], **extra: Any) -> str:
    server_id = client.boot(boot["flavor"], boot["image"], **extra)
    client.wait_status(server_id, {"ACTIVE"})
    return server_id


def _delete(client: CloudClient, *servers: str) -> None:
    for server_id in servers:
        client.compute("DELETE", f"/servers/{server_id}")
    for server_id in servers:
        client.wait_gone(server_id)


def _hosts(admin: CloudClient) -> list[str]:
    rps = admin.placement("GET", "/resource_providers").json()["resource_providers"]
    return sorted(rp["name"] for rp in rps)


def _host_of(root: CloudClient, server_id: str) -> str:
    return str(root.server(server_id)["OS-EXT-SRV-ATTR:host"])


def test_admin_chooses_the_host_at_2_74(shared_cloud: EmbeddedCloud, root: CloudClient,
                                        carol: CloudClient, boot: dict[str, str]) -> None:
    hosts = _hosts(root)
    target = hosts[-1]
    server = _boot(root, boot, host=target)
    try:
        assert _host_of(root, server) == target
        node = root.server(server)["OS-EXT-SRV-ATTR:hypervisor_hostname"]
        other = _boot(root, boot, hypervisor_hostname=node)
        assert _host_of(root, other) == target
        _delete(root, other)
    finally:
        _delete(root, server)
    before = len(carol.compute("GET", "/servers").json()["servers"])
    body = {"server": {"name": "x", "flavorRef": boot["flavor"], "imageRef": boot["image"],
                       "networks": "none", "host": target}}
    forbidden = carol.compute("POST", "/servers", json=body)
    assert forbidden.status_code == 403, forbidden.text
    assert "forbidden" in forbidden.json()
    unknown = root.compute("POST", "/servers", json={"server": {
        **body["server"], "host": "no-such-host"}})
    assert unknown.status_code == 400
    assert "no-such-host" in unknown.json()["badRequest"]["message"]
    old = at(shared_cloud, "admin:admin", "2.73")
    try:
        assert old.compute("POST", "/servers", json=body).status_code == 400
    finally:
        old.close()
    assert len(carol.compute("GET", "/servers").json()["servers"]) == before


def test_same_and_different_host_hints_place_servers(root: CloudClient,
                                                     carol: CloudClient,
                                                     boot: dict[str, str]) -> None:
    first = _boot(carol, boot)
    hint_near = {"os:scheduler_hints": {"same_host": first}}
    hint_far = {"OS-SCH-HNT:scheduler_hints": {"different_host": [first]}}
    near = far = ""
    try:
        for hint, wanted in ((hint_near, True), (hint_far, False)):
            resp = carol.compute("POST", "/servers", json={"server": {
                "name": "hinted", "flavorRef": boot["flavor"], "imageRef": boot["image"],
                "networks": "none"}, **hint})
            assert resp.status_code == 202, resp.text
            server = resp.json()["server"]["id"]
            carol.wait_status(server, {"ACTIVE"})
            assert (_host_of(root, server) == _host_of(root, first)) is wanted
            if wanted:
                near = server
            else:
                far = server
        shown = carol.server(near)["scheduler_hints"]
        assert shown == {"same_host": [first]}
        assert carol.server(far)["scheduler_hints"] == {"different_host": [first]}
        assert carol.server(first)["scheduler_hints"] == {}
        bad = carol.compute("POST", "/servers", json={"server": {
            "name": "bad-hint", "flavorRef": boot["flavor"], "imageRef": boot["image"],
            "networks": "none"}, "os:scheduler_hints": {"same_host": "not-a-uuid"}})
        assert bad.status_code == 400
    finally:
        _delete(carol, *(s for s in (first, near, far) if s))


def test_hostname_is_settable_and_visible_from_2_90(shared_cloud: EmbeddedCloud,
                                                    carol: CloudClient,
                                                    boot: dict[str, str]) -> None:
    server = _boot(carol, boot, name="My Server_1", hostname="web-01")
    old = at(shared_cloud, "carol:proj-late", "2.89")
    try:
        assert carol.server(server)["OS-EXT-SRV-ATTR:hostname"] == "web-01"
        assert "OS-EXT-SRV-ATTR:hostname" not in old.server(server)
        updated = carol.compute("PUT", f"/servers/{server}",
                                json={"server": {"hostname": "web-02"}})
        assert updated.status_code == 200, updated.text
        assert updated.json()["server"]["OS-EXT-SRV-ATTR:hostname"] == "web-02"
        assert old.compute("PUT", f"/servers/{server}",
                           json={"server": {"hostname": "x1"}}).status_code == 400
        for bad in ("under score!", "a", "x" * 64):
            resp = at(shared_cloud, "carol:proj-late", "2.93").compute(
                "PUT", f"/servers/{server}", json={"server": {"hostname": bad}})
            assert resp.status_code == 400, bad
        fqdn = "db-1.example.internal"
        assert carol.compute("PUT", f"/servers/{server}", json={"server": {
            "hostname": fqdn}}).json()["server"]["OS-EXT-SRV-ATTR:hostname"] == fqdn
        assert carol.server(server)["OS-EXT-SRV-ATTR:hostname"] == fqdn
        many = carol.compute("POST", "/servers", json={"server": {
            "name": "many", "flavorRef": boot["flavor"], "imageRef": boot["image"],
            "networks": "none", "hostname": "many", "min_count": 2}})
        assert many.status_code == 400
    finally:
        old.close()
        _delete(carol, server)


def test_default_hostname_comes_from_the_name(carol: CloudClient,
                                              boot: dict[str, str]) -> None:
    server = _boot(carol, boot, name="My Server_1")
    try:
        assert carol.server(server)["OS-EXT-SRV-ATTR:hostname"] == "my-server-1"
    finally:
        _delete(carol, server)


def test_pinned_zone_image_properties_and_hints_by_version(
        shared_cloud: EmbeddedCloud, root: CloudClient, carol: CloudClient,
        boot: dict[str, str]) -> None:
    image = root.http.post("/image/v2/images", json={
        "name": "late-props", "disk_format": "qcow2", "container_format": "bare",
        "visibility": "public", "hw_disk_bus": "virtio", "os_distro": "debian"}).json()
    root.http.put(f"/image/v2/images/{image['id']}/file", content=b"\0" * 512,
                  headers={"Content-Type": "application/octet-stream"})
    pinned = _boot(carol, {**boot, "image": image["id"]}, availability_zone="nova")
    loose = _boot(carol, boot)
    try:
        shown = carol.server(pinned)
        assert shown["pinned_availability_zone"] == "nova"
        assert carol.server(loose)["pinned_availability_zone"] is None
        props = shown["image"]["properties"]
        assert props["hw_disk_bus"] == "virtio" and props["os_distro"] == "debian"
        assert props["disk_format"] == "qcow2" and props["base_image_ref"] == image["id"]
        for version, fields in (("2.95", set()), ("2.96", {"pinned_availability_zone"}),
                                ("2.99", {"pinned_availability_zone"}),
                                ("2.100", {"pinned_availability_zone", "scheduler_hints"})):
            client = at(shared_cloud, "carol:proj-late", version)
            try:
                body = client.server(pinned)
                present = {f for f in ("pinned_availability_zone", "scheduler_hints")
                           if f in body}
                assert present == fields, version
                with_props = tuple(map(int, version.split("."))) >= (2, 98)
                assert ("properties" in body["image"]) is with_props, version
            finally:
                client.close()
    finally:
        _delete(carol, pinned, loose)


def test_update_response_is_complete_only_from_2_75(shared_cloud: EmbeddedCloud,
                                                    carol: CloudClient,
                                                    boot: dict[str, str]) -> None:
    server = _boot(carol, boot)
    try:
        for version, complete in (("2.74", False), ("2.75", True)):
            client = at(shared_cloud, "carol:proj-late", version)
            try:
                body = client.compute("PUT", f"/servers/{server}",
                                      json={"server": {"name": f"v{version}"}}).json()
                server_view = body["server"]
                assert ("OS-EXT-STS:vm_state" in server_view) is complete
                assert ("key_name" in server_view) is complete
                assert server_view["name"] == f"v{version}"
            finally:
                client.close()
    finally:
        _delete(carol, server)


def test_unknown_list_parameters_are_refused_from_2_75(shared_cloud: EmbeddedCloud,
                                                       carol: CloudClient) -> None:
    old = at(shared_cloud, "carol:proj-late", "2.74")
    try:
        assert old.compute("GET", "/servers?colour=red").status_code == 200
        assert old.compute("GET", "/servers/detail?sort_key=vcpus").status_code == 200
    finally:
        old.close()
    for path in ("/servers?colour=red", "/servers/detail?sort_key=vcpus",
                 "/servers?sort_key=nope", "/servers?block_device_mapping=1",
                 "/servers?name=%5B"):
        resp = carol.compute("GET", path)
        assert resp.status_code == 400, path
        assert resp.json()["badRequest"]["code"] == 400


def test_list_filters_and_non_admin_filters_from_2_83(
        shared_cloud: EmbeddedCloud, root: CloudClient, carol: CloudClient,
        admin: CloudClient, boot: dict[str, str]) -> None:
    other_flavor = ensure_flavor(admin, "late.other", ram=96)
    alpha = _boot(carol, boot, name="alpha-1")
    beta = _boot(carol, {**boot, "flavor": other_flavor}, name="beta-1")
    try:
        def names(client: CloudClient, query: str) -> set[str]:
            resp = client.compute("GET", f"/servers/detail?{query}")
            assert resp.status_code == 200, resp.text
            return {s["name"] for s in resp.json()["servers"]}

        assert names(carol, "name=^al") == {"alpha-1"}
        assert names(carol, "name=-1$") == {"alpha-1", "beta-1"}
        assert names(carol, f"flavor={other_flavor}") == {"beta-1"}
        assert names(carol, f"image={boot['image']}") == {"alpha-1", "beta-1"}
        assert names(carol, "ip=10.0.0.1") == set()
        assert names(carol, "vm_state=active&power_state=1") == {"alpha-1", "beta-1"}
        assert names(carol, "vm_state=stopped") == set()
        old = at(shared_cloud, "carol:proj-late", "2.82")
        try:
            # Before 2.83 a non-admin's vm_state filter is dropped, not applied.
            assert names(old, "vm_state=stopped") == {"alpha-1", "beta-1"}
        finally:
            old.close()
        host = _host_of(root, alpha)
        assert "alpha-1" in names(root, f"all_tenants=1&host={host}")
        assert names(carol, f"host={host}") == {"alpha-1", "beta-1"}  # admin-only: dropped
    finally:
        _delete(carol, alpha, beta)


def test_sorting_by_several_keys_pages_through_every_server(
        carol: CloudClient, boot: dict[str, str]) -> None:
    servers = [carol.boot(boot["flavor"], boot["image"], name=f"page-{i % 3}")
               for i in range(7)]
    for server in servers:
        carol.wait_status(server, {"ACTIVE"})
    try:
        for sort in ("sort_key=display_name&sort_dir=asc&sort_key=created_at&sort_dir=desc",
                     "sort_key=host&sort_dir=asc", "sort_key=launched_at&sort_dir=desc"):
            seen: list[str] = []
            marker = ""
            while True:
                resp = carol.compute("GET", f"/servers?limit=3&{sort}{marker}")
                assert resp.status_code == 200, resp.text
                page = [s["id"] for s in resp.json()["servers"]]
                seen += page
                if len(page) < 3:
                    break
                marker = f"&marker={page[-1]}"
            assert sorted(seen) == sorted(servers), sort
        names = [s["name"] for s in carol.compute(
            "GET", "/servers?sort_key=display_name&sort_dir=asc").json()["servers"]]
        assert names == sorted(names)
    finally:
        _delete(carol, *servers)


def test_private_flavor_access_lists(admin: CloudClient, carol: CloudClient,
                                     alice: CloudClient, boot: dict[str, str]) -> None:
    resp = admin.compute("POST", "/flavors", json={"flavor": {
        "name": "late.private", "id": "late.private", "ram": 64, "vcpus": 1, "disk": 1,
        "os-flavor-access:is_public": False}})
    assert resp.status_code == 200, resp.text
    try:
        def listed(client: CloudClient) -> bool:
            flavors = client.compute("GET", "/flavors").json()["flavors"]
            return "late.private" in {f["id"] for f in flavors}

        assert not listed(carol)
        assert carol.compute("GET", "/flavors/late.private").status_code == 404
        assert admin.compute("GET", "/flavors/late.private/os-flavor-access").json() == {
            "flavor_access": []}
        added = admin.compute("POST", "/flavors/late.private/action",
                              json={"addTenantAccess": {"tenant": "proj-late"}})
        assert added.status_code == 200, added.text
        assert added.json() == {"flavor_access": [
            {"flavor_id": "late.private", "tenant_id": "proj-late"}]}
        again = admin.compute("POST", "/flavors/late.private/action",
                              json={"addTenantAccess": {"tenant": "proj-late"}})
        assert again.status_code == 409
        assert listed(carol) and not listed(alice)
        assert carol.compute("GET", "/flavors/late.private").status_code == 200
        server = _boot(carol, {**boot, "flavor": "late.private"})
        _delete(carol, server)
        denied = alice.compute("POST", "/servers", json={"server": {
            "name": "x", "flavorRef": "late.private", "imageRef": boot["image"],
            "networks": "none"}})
        assert denied.status_code == 400
        assert carol.compute("POST", "/flavors/late.private/action", json={
            "removeTenantAccess": {"tenant": "proj-late"}}).status_code == 403
        removed = admin.compute("POST", "/flavors/late.private/action",
                                json={"removeTenantAccess": {"tenant": "proj-late"}})
        assert removed.json() == {"flavor_access": []}
        assert admin.compute("POST", "/flavors/late.private/action", json={
            "removeTenantAccess": {"tenant": "proj-late"}}).status_code == 404
        assert not listed(carol)
        assert admin.compute("POST", "/flavors/late.private/action", json={
            "addTenantAccess": {"tenant": "p", "extra": 1}}).status_code == 400
        public = admin.compute("GET", f"/flavors/{boot['flavor']}/os-flavor-access")
        assert public.status_code == 404
        assert admin.compute("POST", f"/flavors/{boot['flavor']}/action", json={
            "addTenantAccess": {"tenant": "p"}}).status_code == 409
    finally:
        admin.compute("DELETE", "/flavors/late.private")


@pytest.mark.parametrize(("key", "value", "ok_at_2_86"), [
    ("hw:cpu_policy", "dedicated", True),
    ("hw:cpu_policy", "bogus", False),
    ("hw:numa_nodes", "two", False),
    ("hw:numa_cpus.0", "0-1", True),
    ("hw:no_such_key", "1", False),
    ("resources:VCPU", "2", True),
    ("resources1:lowercase", "2", False),
    ("trait:HW_CPU_X86_AVX2", "required", True),
    ("trait:HW_CPU_X86_AVX2", "maybe", False),
    ("quota:cpu_quota", "10000", True),
    ("quota:bogus", "1", False),
    ("aggregate_instance_extra_specs:ssd", "true", True),
    ("no-namespace", "anything", True),
])
def test_extra_specs_are_validated_from_2_86(shared_cloud: EmbeddedCloud,
                                             admin: CloudClient, key: str, value: str,
                                             ok_at_2_86: bool) -> None:
    flavor = ensure_flavor(admin, "late.specs", ram=64)
    old = at(shared_cloud, "admin:admin", "2.85")
    new = at(shared_cloud, "admin:admin", "2.86")
    try:
        body = {"extra_specs": {key: value}}
        resp = new.compute("POST", f"/flavors/{flavor}/os-extra_specs", json=body)
        assert (resp.status_code == 200) is ok_at_2_86, resp.text
        if not ok_at_2_86:
            assert key in resp.json()["badRequest"]["message"]
            specs = admin.compute("GET", f"/flavors/{flavor}/os-extra_specs").json()
            assert key not in specs["extra_specs"]
            put = new.compute("PUT", f"/flavors/{flavor}/os-extra_specs/{key}",
                              json={key: value})
            assert put.status_code == 400
        assert old.compute("POST", f"/flavors/{flavor}/os-extra_specs",
                           json=body).status_code == 200
    finally:
        old.close()
        new.close()
        admin.compute("DELETE", f"/flavors/{flavor}/os-extra_specs/{key}")


def test_os_migrations_pages_and_filters_from_2_59(shared_cloud: EmbeddedCloud,
                                                   root: CloudClient,
                                                   boot: dict[str, str]) -> None:
    from tests.functional.compute.actions_helpers import act, settled

    server = _boot(root, boot, name="mig-pages")
    try:
        for _ in range(3):
            assert act(root, server, {"migrate": None}).status_code == 202
            settled(root, server, "VERIFY_RESIZE")
            assert act(root, server, {"confirmResize": None}).status_code == 204
            settled(root, server, "ACTIVE")
        mine = f"instance_uuid={server}"
        every = root.compute("GET", f"/os-migrations?{mine}").json()["migrations"]
        assert len(every) == 3 and all(m["user_id"] == "admin" for m in every)
        first = root.compute("GET", f"/os-migrations?{mine}&limit=2").json()
        assert [m["uuid"] for m in first["migrations"]] == [m["uuid"] for m in every[:2]]
        link = first["migrations_links"][0]
        assert link["rel"] == "next" and f"marker={every[1]['uuid']}" in link["href"]
        rest = root.compute("GET", f"/os-migrations?{mine}&limit=2&marker={every[1]['uuid']}")
        assert [m["uuid"] for m in rest.json()["migrations"]] == [every[2]["uuid"]]
        assert "migrations_links" not in rest.json()
        assert root.compute("GET", f"/os-migrations?{mine}&project_id=admin").json()[
            "migrations"] == every
        assert root.compute("GET", f"/os-migrations?{mine}&user_id=nobody").json()[
            "migrations"] == []
        future = "2999-01-01T00:00:00Z"
        assert root.compute("GET", f"/os-migrations?{mine}&changes-since={future}").json()[
            "migrations"] == []
        for bad in ("colour=red", "marker=" + server, "limit=-1", "changes-since=yesterday"):
            assert root.compute("GET", f"/os-migrations?{bad}").status_code == 400, bad
        old = at(shared_cloud, "admin:admin", "2.58")
        try:
            assert old.compute("GET", "/os-migrations?colour=red").status_code == 200
            assert "uuid" not in old.compute("GET", f"/os-migrations?{mine}").json()[
                "migrations"][0]
        finally:
            old.close()
    finally:
        _delete(root, server)
