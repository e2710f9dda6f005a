"""Helpers to drive a running cloud over HTTP the way a client would."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

ADMIN = "admin:admin"


class CloudClient:
    """Thin HTTP helper over the compute, image and placement endpoints."""

    def __init__(self, base_url: str, token: str = ADMIN, version: str | None = "2.47"
                 ) -> None:
        headers = {"X-Auth-Token": token}
        if version:
            headers["OpenStack-API-Version"] = f"compute {version}"
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=60)

    def close(self) -> None:
        self.http.close()

    def compute(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, f"/compute/v2.1{path}", **kw)

    def placement(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"OpenStack-API-Version": "placement 1.39"}
        return self.http.request(method, f"/placement{path}", headers=headers, **kw)

    def create_flavor(self, name: str = "small", ram: int = 512, vcpus: int = 1,
                      disk: int = 1) -> str:
        resp = self.compute("POST", "/flavors", json={"flavor": {
            "name": name, "ram": ram, "vcpus": vcpus, "disk": disk, "id": name}})
        assert resp.status_code == 200, resp.text
        return str(resp.json()["flavor"]["id"])

    def create_image(self, name: str = "test-image", data: bytes = b"\0" * 1024) -> str:
        resp = self.http.post("/image/v2/images", json={
            "name": name, "disk_format": "raw", "container_format": "bare"})
        assert resp.status_code == 201, resp.text
        image_id = str(resp.json()["id"])
        put = self.http.put(f"/image/v2/images/{image_id}/file", content=data,
                            headers={"Content-Type": "application/octet-stream"})
        assert put.status_code == 204, put.text
        return image_id

    def boot(self, flavor: str, image: str, name: str | None = None, **extra: Any
             ) -> str:
        body = {"server": {"name": name or f"vm-{uuid.uuid4().hex[:6]}", "flavorRef": flavor,
                           "imageRef": image, "networks": "none", **extra}}
        resp = self.compute("POST", "/servers", json=body)
        assert resp.status_code == 202, resp.text
        return str(resp.json()["server"]["id"])

    def server(self, server_id: str) -> dict[str, Any]:
        resp = self.compute("GET", f"/servers/{server_id}")
        assert resp.status_code == 200, resp.text
        result: dict[str, Any] = resp.json()["server"]
        return result

    def wait_status(self, server_id: str, statuses: set[str], timeout: float = 60
                    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            server = self.server(server_id)
            if server["status"] in statuses:
                return server
            if time.monotonic() > deadline:
                raise AssertionError(f"{server_id} stuck in {server['status']}/"
                                     f"{server['OS-EXT-STS:task_state']}")
            time.sleep(0.05)

    def wait_gone(self, server_id: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.compute("GET", f"/servers/{server_id}").status_code != 404:
            if time.monotonic() > deadline:
                raise AssertionError(f"{server_id} was not deleted")
            time.sleep(0.05)

    def total_usage(self) -> dict[str, int]:
        """Sum of usages over every resource provider."""
        totals: dict[str, int] = {}
        rps = self.placement("GET", "/resource_providers").json()["resource_providers"]
        for rp in rps:
            usages = self.placement("GET", f"/resource_providers/{rp['uuid']}/usages")
            for rc, used in usages.json()["usages"].items():
                totals[rc] = totals.get(rc, 0) + used
        return totals
