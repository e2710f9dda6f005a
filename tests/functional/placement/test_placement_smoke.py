"""The service starts, answers and speaks placement's dialect."""

from __future__ import annotations

import uuid

import httpx


def test_root_needs_no_token(placement_url: str) -> None:
    r = httpx.get(placement_url + "/")
    assert r.status_code == 200
    assert r.json()["versions"][0]["max_version"] == "1.39"
    assert r.headers["openstack-api-version"] == "placement 1.0"
    assert r.headers["x-openstack-request-id"].startswith("req-")


def test_provider_roundtrip(api: httpx.Client) -> None:
    rp = str(uuid.uuid4())
    r = api.post("/resource_providers", json={"name": f"rp-{rp}", "uuid": rp})
    assert r.status_code == 200, r.text
    r = api.put(f"/resource_providers/{rp}/inventories", json={
        "resource_provider_generation": 0,
        "inventories": {"VCPU": {"total": 8}, "MEMORY_MB": {"total": 1024}},
    })
    assert r.status_code == 200, r.text
    consumer = str(uuid.uuid4())
    r = api.put(f"/allocations/{consumer}", json={
        "allocations": {rp: {"resources": {"VCPU": 2}}}, "project_id": "p", "user_id": "u",
        "consumer_generation": None, "consumer_type": "INSTANCE",
    })
    assert r.status_code == 204, r.text
    r = api.get("/allocation_candidates", params={"resources": "VCPU:1,MEMORY_MB:10"})
    assert r.status_code == 200, r.text
    assert rp in r.json()["provider_summaries"], r.json()
