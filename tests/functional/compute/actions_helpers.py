"""Helpers of the server action tests: act, wait, read actions and allocations."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.cloud import CloudClient


def act(client: CloudClient, server_id: str, body: dict[str, Any]) -> httpx.Response:
    return client.compute("POST", f"/servers/{server_id}/action", json=body)


def settled(client: CloudClient, server_id: str, status: str, timeout: float = 30
            ) -> dict[str, Any]:
    """The server once it shows ``status`` with no task running."""
    deadline = time.monotonic() + timeout
    while True:
        server = client.server(server_id)
        if server["status"] == status and server["OS-EXT-STS:task_state"] is None:
            return server
        if time.monotonic() > deadline:
            raise AssertionError(f"{server_id} is {server['status']}/"
                                 f"{server['OS-EXT-STS:task_state']}, not {status}: "
                                 f"{server.get('fault')}")
        time.sleep(0.05)


def actions(client: CloudClient, server_id: str) -> list[dict[str, Any]]:
    resp = client.compute("GET", f"/servers/{server_id}/os-instance-actions")
    assert resp.status_code == 200, resp.text
    return list(resp.json()["instanceActions"])


def action_names(client: CloudClient, server_id: str) -> list[str]:
    """Oldest first."""
    return [a["action"] for a in reversed(actions(client, server_id))]


def events(client: CloudClient, server_id: str, action: str) -> list[dict[str, Any]]:
    """The events of the newest ``action`` on the server, once they all finished (call it
    once the server's task ended, or later events may not have started yet)."""
    deadline = time.monotonic() + 20
    while True:
        request_id = next(a["request_id"] for a in actions(client, server_id)
                          if a["action"] == action)
        resp = client.compute("GET", f"/servers/{server_id}/os-instance-actions/"
                                     f"{request_id}")
        assert resp.status_code == 200, resp.text
        found: list[dict[str, Any]] = resp.json()["instanceAction"]["events"]
        if found and all(e["finish_time"] for e in found):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.05)


def allocations(client: CloudClient, consumer: str) -> dict[str, dict[str, int]]:
    """Resource provider uuid -> resources the consumer holds there."""
    resp = client.placement("GET", f"/allocations/{consumer}")
    assert resp.status_code == 200, resp.text
    return {rp: dict(a["resources"]) for rp, a in resp.json()["allocations"].items()}


def provider_of(client: CloudClient, host: str) -> str:
    resp = client.placement("GET", f"/resource_providers?name={host}")
    assert resp.status_code == 200, resp.text
    return str(resp.json()["resource_providers"][0]["uuid"])


def migration_of(admin: CloudClient, server_id: str) -> dict[str, Any]:
    """The server's newest migration record (2.59 view, with its uuid)."""
    resp = admin.http.get(f"/compute/v2.1/os-migrations?instance_uuid={server_id}",
                          headers={"OpenStack-API-Version": "compute 2.59"})
    assert resp.status_code == 200, resp.text
    rows = resp.json()["migrations"]
    assert rows, f"no migration of {server_id}"
    return dict(rows[0])
