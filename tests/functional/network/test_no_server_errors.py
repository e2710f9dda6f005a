"""Whatever a client sends, the answer is never a 5xx."""

from __future__ import annotations

from typing import Any

from compute_api.network.attributes import (
    NETWORK,
    PORT,
    SECURITY_GROUP,
    SECURITY_GROUP_RULE,
    SUBNET,
)
from tests.functional.network.conftest import Net

ODD: list[Any] = [None, [], {}, "x" * 300, -1, 2**40, True, 1.5, "💥", [{"a": 1}],
                  [{"ip_address": "10.0.0.1", "subnet_id": "x"}], {"start": "1"}]
RESOURCES = [("networks", NETWORK), ("subnets", SUBNET), ("ports", PORT),
             ("security-groups", SECURITY_GROUP),
             ("security-group-rules", SECURITY_GROUP_RULE)]


def test_odd_values_of_every_attribute_are_client_errors(member: Net, admin: Net) -> None:
    net = member.network()
    member.subnet(net["id"], "10.60.0.0/24")
    group = member.made("security-groups", "security_group", name="g")
    base = {"networks": {}, "subnets": {"network_id": net["id"], "cidr": "10.61.0.0/24",
                                        "ip_version": 4},
            "ports": {"network_id": net["id"]},
            "security-groups": {},
            "security-group-rules": {"security_group_id": group["id"],
                                     "direction": "ingress"}}
    failures = []
    for path, resource in RESOURCES:
        for attr in resource.attrs:
            for value in ODD:
                for client in (member, admin):
                    body = {resource.singular: {**base[path], attr: value}}
                    resp = client.post(f"/{path}", body)
                    if resp.status_code >= 500:
                        failures.append((path, attr, value, resp.text))
                    elif resp.status_code == 201:
                        item = resp.json()[resource.singular]
                        client.delete(f"/{path}/{item['id']}")
    for body in (None, [], "x", 3, {"network": None}, {"networks": []},
                 {"networks": [1]}, {"network": {}, "extra": 1}):
        resp = member.post("/networks", body)
        if resp.status_code >= 500:
            failures.append(("networks", "body", body, resp.text))
    for query in ({"limit": "-1"}, {"marker": "nope", "limit": "1"},
                  {"sort_dir": "up", "sort_key": "name"}, {"fields": "nope"},
                  {"admin_state_up": "maybe"}, {"page_reverse": "x", "limit": "2"}):
        resp = member.get("/networks", params=query)
        if resp.status_code >= 500:
            failures.append(("list", "query", query, resp.text))
    assert failures == []
