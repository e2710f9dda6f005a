"""Networks over HTTP: versions, extensions, CRUD, provider attributes, isolation."""

from __future__ import annotations

import httpx

from cli.embedded import EmbeddedCloud
from tests.functional.network.conftest import Net, neutron_error


def test_versions_document_lists_v2(net_cloud: EmbeddedCloud) -> None:
    resp = httpx.get(f"{net_cloud.base_url}/networking/")
    assert resp.status_code == 200
    [version] = resp.json()["versions"]
    assert version["id"] == "v2.0" and version["status"] == "CURRENT"
    assert version["links"][0]["href"] == f"{net_cloud.base_url}/networking/v2.0/"


def test_v2_root_and_extensions(member: Net) -> None:
    resources = member.get("/").json()["resources"]
    assert {"networks", "subnets", "ports", "security_groups"} <= {
        r["collection"] for r in resources}
    aliases = {e["alias"] for e in member.get("/extensions").json()["extensions"]}
    assert {"security-group", "quotas", "provider", "binding", "port-security",
            "standard-attr-revisions", "external-net", "net-mtu"} <= aliases
    assert {"router", "ext-gw-mode", "fip-port-details"} <= aliases
    assert not {"extraroute", "l3-flavors", "l3-ha", "dvr"} & aliases
    assert member.get("/extensions/binding").json()["extension"]["alias"] == "binding"
    neutron_error(member.get("/extensions/nope"), 404, "ExtensionNotFound")


def test_network_create_show_update_delete(member: Net) -> None:
    net = member.network(name="blue", description="d")
    assert net["status"] == "ACTIVE" and net["admin_state_up"] is True
    assert net["mtu"] == 1450 and net["subnets"] == [] and net["shared"] is False
    assert net["router:external"] is False and net["port_security_enabled"] is True
    assert net["project_id"] == net["tenant_id"] == member.project
    assert net["revision_number"] == 0 and net["created_at"].endswith("Z")
    assert "provider:network_type" not in net
    shown = member.get(f"/networks/{net['id']}").json()["network"]
    assert shown == net
    updated = member.put(f"/networks/{net['id']}", {"network": {"name": "green"}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["network"]["name"] == "green"
    assert updated.json()["network"]["revision_number"] == 1
    assert member.delete(f"/networks/{net['id']}").status_code == 204
    msg = neutron_error(member.get(f"/networks/{net['id']}"), 404, "NetworkNotFound")
    assert msg == f"Network {net['id']} could not be found."


def test_provider_attributes_are_admin_only(member: Net, admin: Net) -> None:
    resp = member.post("/networks", {"network": {"provider:network_type": "vlan"}})
    neutron_error(resp, 403, "PolicyNotAuthorized")
    neutron_error(member.post("/networks", {"network": {"shared": True}}), 403,
                  "PolicyNotAuthorized")
    vx = admin.network(**{"provider:network_type": "vxlan"})
    assert 1 <= vx["provider:segmentation_id"] < 2**24 and vx["mtu"] == 1450
    vlan = admin.network(**{"provider:network_type": "vlan",
                            "provider:physical_network": "physnet-t",
                            "provider:segmentation_id": 101})
    assert (vlan["mtu"], vlan["provider:segmentation_id"]) == (1500, 101)
    again = admin.post("/networks", {"network": {
        "provider:network_type": "vlan", "provider:physical_network": "physnet-t",
        "provider:segmentation_id": 101}})
    neutron_error(again, 409, "VlanIdInUse")
    bad = admin.post("/networks", {"network": {"provider:network_type": "vlan",
                                               "provider:physical_network": "physnet-t",
                                               "provider:segmentation_id": 4095}})
    assert bad.status_code == 400
    for made in (vx, vlan):
        assert admin.delete(f"/networks/{made['id']}").status_code == 204


def test_another_projects_network_is_not_found(member: Net, other: Net) -> None:
    net = member.network()
    neutron_error(other.get(f"/networks/{net['id']}"), 404, "NetworkNotFound")
    neutron_error(other.delete(f"/networks/{net['id']}"), 404, "NetworkNotFound")
    neutron_error(other.post("/ports", {"port": {"network_id": net["id"]}}), 404,
                  "NetworkNotFound")
    assert net["id"] not in [n["id"] for n in other.get("/networks").json()["networks"]]


def test_shared_network_is_visible_and_usable_by_all(admin: Net, other: Net) -> None:
    net = admin.network(shared=True)
    assert other.get(f"/networks/{net['id']}").status_code == 200
    admin.subnet(net["id"], "10.90.0.0/24")
    port = other.port(net["id"])
    assert port["fixed_ips"][0]["ip_address"].startswith("10.90.0.")
    neutron_error(other.delete(f"/networks/{net['id']}"), 403, "PolicyNotAuthorized")
    neutron_error(admin.delete(f"/networks/{net['id']}"), 409, "NetworkInUse")
    assert other.delete(f"/ports/{port['id']}").status_code == 204
    assert admin.delete(f"/networks/{net['id']}").status_code == 204


def test_reader_may_read_but_not_write(member: Net, reader: Net) -> None:
    net = member.network()
    assert reader.get(f"/networks/{net['id']}").status_code == 200
    msg = neutron_error(reader.post("/networks", {"network": {}}), 403, "PolicyNotAuthorized")
    assert "create_network" in msg
    neutron_error(reader.delete(f"/networks/{net['id']}"), 403, "PolicyNotAuthorized")


def test_bad_bodies_answer_400_in_neutron_form(member: Net) -> None:
    neutron_error(member.post("/networks", {"network": {"colour": "red"}}), 400,
                  "HTTPBadRequest")
    neutron_error(member.post("/networks", {"network": {"id": "x"}}), 400, "HTTPBadRequest")
    neutron_error(member.post("/networks", {"netwerk": {}}), 400, "HTTPBadRequest")
    msg = neutron_error(member.post("/networks", {"network": {"admin_state_up": "maybe"}}),
                        400, "HTTPBadRequest")
    assert msg == "Invalid input for admin_state_up. Reason: 'maybe' cannot be converted " \
        "to boolean."
    net = member.network()
    neutron_error(member.put(f"/networks/{net['id']}", {"network": {"status": "DOWN"}}),
                  400, "HTTPBadRequest")
    resp = member.http.post("/v2.0/networks", content=b"{not json",
                            headers={"Content-Type": "application/json"})
    neutron_error(resp, 400, "HTTPBadRequest")
    neutron_error(member.get("/networks/not-a-uuid"), 404, "NetworkNotFound")


def test_bulk_create_is_all_or_nothing(member: Net) -> None:
    resp = member.post("/networks", {"networks": [{"name": "b1"}, {"name": "b2"}]})
    assert resp.status_code == 201, resp.text
    assert [n["name"] for n in resp.json()["networks"]] == ["b1", "b2"]
    before = len(member.get("/networks").json()["networks"])
    bad = member.post("/networks", {"networks": [{"name": "b3"}, {"mtu": 99999}]})
    assert bad.status_code == 400
    assert len(member.get("/networks").json()["networks"]) == before
