"""Network quotas, and Neutron's list semantics: filters, fields, sorting, pages."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from tests.functional.network.conftest import Net, neutron_error


def test_quota_defaults_update_details_and_over_quota(member: Net, admin: Net) -> None:
    quota = member.get(f"/quotas/{member.project}").json()["quota"]
    assert quota == {"network": 100, "subnet": 100, "port": 500, "security_group": 10,
                     "security_group_rule": 100, "router": 10, "floatingip": 50}
    assert member.get(f"/quotas/{member.project}/default").json()["quota"] == quota
    neutron_error(member.put(f"/quotas/{member.project}", {"quota": {"network": 1}}), 403,
                  "PolicyNotAuthorized")
    resp = admin.put(f"/quotas/{member.project}", {"quota": {"network": 1}})
    assert resp.status_code == 200 and resp.json()["quota"]["network"] == 1, resp.text
    neutron_error(admin.put(f"/quotas/{member.project}", {"quota": {"netwerk": 1}}), 400,
                  "HTTPBadRequest")
    member.network()
    msg = neutron_error(member.post("/networks", {"network": {}}), 409, "OverQuota")
    assert "network" in msg
    details = member.get(f"/quotas/{member.project}/details").json()["quota"]
    assert details["network"] == {"limit": 1, "used": 1, "reserved": 0}
    listed = admin.get("/quotas").json()["quotas"]
    assert member.project in [q["project_id"] for q in listed]
    neutron_error(member.get("/quotas"), 403, "PolicyNotAuthorized")
    assert admin.delete(f"/quotas/{member.project}").status_code == 204
    assert member.get(f"/quotas/{member.project}").json()["quota"]["network"] == 100


def test_filters_fields_sorting_and_pages(member: Net) -> None:
    made = [member.network(name=name, admin_state_up=name != "c")
            for name in ("b", "a", "c", "a")]
    nets = member.get("/networks", params=[("name", "a"), ("name", "c")]).json()["networks"]
    assert sorted(n["name"] for n in nets) == ["a", "a", "c"]
    down = member.get("/networks", params={"admin_state_up": "false"}).json()["networks"]
    assert [n["name"] for n in down] == ["c"]
    narrow = member.get("/networks", params=[("fields", "id"), ("fields", "name")])
    assert all(set(n) == {"id", "name"} for n in narrow.json()["networks"])
    shown = member.get(f"/networks/{made[0]['id']}", params={"fields": "name"}).json()
    assert shown == {"network": {"name": "b"}}
    mine = ("project_id", member.project)  # shared networks of other tests are listed too
    ordered = member.get("/networks", params=[mine, ("sort_key", "name"),
                                              ("sort_dir", "desc")])
    assert [n["name"] for n in ordered.json()["networks"]] == ["c", "b", "a", "a"]
    neutron_error(member.get("/networks", params={"sort_key": "nope"}), 400, "HTTPBadRequest")
    page = {"limit": 3, "sort_key": "name", "project_id": member.project}
    first = member.get("/networks", params=page).json()
    assert [n["name"] for n in first["networks"]] == ["a", "a", "b"]
    [link] = first["networks_links"]
    assert link["rel"] == "next"
    query = parse_qs(urlparse(link["href"]).query)
    assert query["marker"] == [first["networks"][-1]["id"]]
    rest = member.get("/networks", params={**page, "marker": query["marker"][0]}).json()
    assert [n["name"] for n in rest["networks"]] == ["c"]
    assert [ln["rel"] for ln in rest["networks_links"]] == ["previous"]
    back = member.get("/networks", params={**page, "limit": 2, "page_reverse": "True",
                                           "marker": rest["networks"][0]["id"]})
    assert [n["name"] for n in back.json()["networks"]] == ["a", "b"]
    neutron_error(member.get("/networks", params={"limit": "x"}), 400, "HTTPBadRequest")


def test_port_filters_by_fixed_ip_and_device(member: Net) -> None:
    net = member.network()
    member.subnet(net["id"], "10.9.0.0/24")
    port = member.port(net["id"], device_id="dev-1", fixed_ips=[{"ip_address": "10.9.0.7"}])
    member.port(net["id"], device_id="dev-2")
    by_ip = member.get("/ports", params={"fixed_ips": "ip_address=10.9.0.7"}).json()["ports"]
    assert [p["id"] for p in by_ip] == [port["id"]]
    by_dev = member.get("/ports", params={"device_id": "dev-1"}).json()["ports"]
    assert [p["id"] for p in by_dev] == [port["id"]]
