"""``kilonova host list|drain``: the operator's view of compute hosts, and emptying one.

These commands are clients of the compute API, like the ``openstack`` CLI: they
authenticate the way it does (``--os-cloud`` with a clouds.yaml, the ``OS_*``
variables, or a token and the compute endpoint) and need an admin.

Draining a host first disables its compute service (no new servers land there), then
moves every server away, one at a time: a live migration for running and paused ones,
a cold migration (confirmed at once) for stopped ones and for running ones whose live
migration failed. What cannot move (errored, shelved, mid-task servers, no valid
destination) is reported with the reason, and the exit status says whether the host is
empty.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx
import yaml

COMMANDS = ("host",)
COMPUTE_BINARY = "nova-compute"
# Services addressed by UUID; hypervisor usage fields (dropped at 2.88).
SERVICES_VERSION = "2.53"
USAGE_VERSION = "2.87"
SERVER_VERSION = "2.47"
LIVE = frozenset({"ACTIVE", "PAUSED"})
COLD = frozenset({"SHUTOFF"})
SETTLED = frozenset({"ACTIVE", "PAUSED", "SHUTOFF", "ERROR", "VERIFY_RESIZE"})
CLOUDS_FILES = (Path("clouds.yaml"), Path.home() / ".config/openstack/clouds.yaml",
                Path("/etc/openstack/clouds.yaml"))


class HostCommandError(Exception):
    """The command cannot go on (authentication, unknown host, API refusal)."""


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    host = sub.add_parser("host", help="compute hosts: list, drain (an API client; admin)")
    host.add_argument("--os-cloud", default=os.environ.get("OS_CLOUD"),
                      help="a cloud of clouds.yaml (default: $OS_CLOUD; else the OS_* "
                      "variables)")
    host.add_argument("--os-token", default=os.environ.get("OS_TOKEN"),
                      help="a token to use as is (with --os-compute-url)")
    host.add_argument("--os-compute-url", default=os.environ.get("OS_COMPUTE_URL"),
                      help="the compute endpoint (.../v2.1), with --os-token")
    actions = host.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="hosts with their zone, state and usage")
    drain = actions.add_parser("drain", help="disable a host and move every server away")
    drain.add_argument("name", help="the compute host")
    drain.add_argument("--timeout", type=float, default=600.0,
                       help="seconds to wait for each server's move (default 600)")
    drain.add_argument("--reason", default="drained by kilonova host drain",
                       help="the disabled reason recorded on the service")


# -- talking to the compute API ----------------------------------------------------------


def _clouds_entry(name: str) -> dict[str, Any]:
    for path in CLOUDS_FILES:
        if path.is_file():
            clouds = (yaml.safe_load(path.read_text()) or {}).get("clouds", {})
            if name in clouds:
                return dict(clouds[name])
    raise HostCommandError(f"cloud {name!r} is in no clouds.yaml "
                           f"({', '.join(str(p) for p in CLOUDS_FILES)})")


def _password_auth(args: argparse.Namespace) -> dict[str, Any]:
    if args.os_cloud:
        entry = _clouds_entry(args.os_cloud)
        auth = dict(entry.get("auth", {}))
        auth.setdefault("region_name", entry.get("region_name"))
        return auth
    env = os.environ
    if not env.get("OS_AUTH_URL"):
        raise HostCommandError("no credentials: give --os-cloud, the OS_* variables "
                               "(OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME) "
                               "or --os-token with --os-compute-url")
    return {"auth_url": env["OS_AUTH_URL"], "username": env.get("OS_USERNAME"),
            "password": env.get("OS_PASSWORD"), "project_name": env.get("OS_PROJECT_NAME"),
            "user_domain_name": env.get("OS_USER_DOMAIN_NAME", "Default"),
            "project_domain_name": env.get("OS_PROJECT_DOMAIN_NAME", "Default"),
            "region_name": env.get("OS_REGION_NAME")}


def _token_and_endpoint(auth: dict[str, Any]) -> tuple[str, str]:
    """Log in with a password (identity v3) and find the compute endpoint in the catalog."""
    url = str(auth["auth_url"]).rstrip("/")
    if not url.endswith("/v3"):
        url += "/v3"
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": auth.get("username"), "password": auth.get("password"),
        "domain": {"name": auth.get("user_domain_name") or "Default"}}}},
        "scope": {"project": {"name": auth.get("project_name"), "domain": {
            "name": auth.get("project_domain_name") or "Default"}}}}}
    resp = httpx.post(f"{url}/auth/tokens", json=body, timeout=30)
    if resp.status_code != 201:
        raise HostCommandError(f"login refused ({resp.status_code}): {_message(resp)}")
    region = auth.get("region_name")
    for service in resp.json()["token"].get("catalog", []):
        if service.get("type") != "compute":
            continue
        for endpoint in service.get("endpoints", []):
            if endpoint.get("interface") == "public" and (
                    not region or endpoint.get("region") in (region, None)):
                return resp.headers["X-Subject-Token"], str(endpoint["url"])
    raise HostCommandError("the identity catalog has no public compute endpoint")


class ComputeAPI:
    """The few compute API calls the host commands make."""

    def __init__(self, endpoint: str, token: str) -> None:
        self.http = httpx.Client(base_url=endpoint.rstrip("/"), timeout=60,
                                 headers={"X-Auth-Token": token})

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ComputeAPI:
        if args.os_token:
            if not args.os_compute_url:
                raise HostCommandError("--os-token needs --os-compute-url")
            return cls(args.os_compute_url, args.os_token)
        token, endpoint = _token_and_endpoint(_password_auth(args))
        return cls(endpoint, token)

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, version: str = SERVER_VERSION,
             ok: tuple[int, ...] = (200, 202, 204), **kw: Any) -> httpx.Response:
        try:
            resp = self.http.request(method, path, headers={
                "OpenStack-API-Version": f"compute {version}"}, **kw)
        except httpx.HTTPError as exc:
            raise HostCommandError(f"{method} {path}: {exc}") from exc
        if resp.status_code not in ok:
            raise HostCommandError(f"{method} {path}: {resp.status_code} {_message(resp)}")
        return resp

    def compute_services(self, host: str | None = None) -> list[dict[str, Any]]:
        params = {"binary": COMPUTE_BINARY, **({"host": host} if host else {})}
        resp = self.call("GET", "/os-services", SERVICES_VERSION, params=params)
        return list(resp.json()["services"])

    def hypervisors(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/os-hypervisors/detail", USAGE_VERSION
                              ).json()["hypervisors"])

    def servers_on(self, host: str) -> Iterator[dict[str, Any]]:
        marker: str | None = None
        while True:
            params: dict[str, Any] = {"all_tenants": "1", "host": host, "limit": 200}
            if marker:
                params["marker"] = marker
            page = self.call("GET", "/servers/detail", params=params).json()["servers"]
            yield from page
            if len(page) < 200:
                return
            marker = page[-1]["id"]

    def server(self, server_id: str) -> dict[str, Any] | None:
        resp = self.call("GET", f"/servers/{server_id}", ok=(200, 404))
        return None if resp.status_code == 404 else dict(resp.json()["server"])

    def action(self, server_id: str, body: dict[str, Any]) -> httpx.Response:
        return self.call("POST", f"/servers/{server_id}/action", ok=(200, 202, 204, 400,
                                                                     403, 409), json=body)


def _message(resp: httpx.Response) -> str:
    """The API's error message (upstream's ``{"kind": {"message": ...}}``), or the text."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()[:300]
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, dict) and "message" in value:
                return str(value["message"])
    return resp.text.strip()[:300]


# -- host list -----------------------------------------------------------------------


def list_hosts(api: ComputeAPI, out: TextIO) -> int:
    usage = {h["hypervisor_hostname"]: h for h in api.hypervisors()}
    by_host = {h.get("service", {}).get("host"): h for h in usage.values()}
    rows = [("HOST", "ZONE", "STATUS", "STATE", "SERVERS", "VCPUS", "RAM MB", "DISK GB",
             "REASON")]
    for svc in sorted(api.compute_services(), key=lambda s: str(s["host"])):
        hyp = by_host.get(svc["host"], {})
        rows.append((
            str(svc["host"]), str(svc["zone"]), str(svc["status"]), str(svc["state"]),
            str(hyp.get("running_vms", "-")),
            f"{hyp.get('vcpus_used', '-')}/{hyp.get('vcpus', '-')}",
            f"{hyp.get('memory_mb_used', '-')}/{hyp.get('memory_mb', '-')}",
            f"{hyp.get('local_gb_used', '-')}/{hyp.get('local_gb', '-')}",
            str(svc.get("disabled_reason") or "")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
                  + "\n")
    return 0


# -- host drain ----------------------------------------------------------------------


@dataclass
class DrainReport:
    moved: list[tuple[str, str, str]] = field(default_factory=list)  # id, how, where
    stuck: list[tuple[str, str]] = field(default_factory=list)  # id, why


def _wait_settled(api: ComputeAPI, server_id: str, timeout: float
                  ) -> dict[str, Any] | None:
    """The server once no task runs on it (None: deleted meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        server = api.server(server_id)
        if server is None or (server["status"] in SETTLED
                              and server.get("OS-EXT-STS:task_state") is None):
            return server
        if time.monotonic() > deadline:
            raise TimeoutError(f"still {server['status']} "
                               f"({server.get('OS-EXT-STS:task_state')}) after "
                               f"{timeout:.0f} s")
        time.sleep(0.5)


def _fault(server: dict[str, Any]) -> str:
    fault = server.get("fault") or {}
    return str(fault.get("message") or "no fault recorded")


class Drainer:
    def __init__(self, api: ComputeAPI, host: str, timeout: float,
                 say: Callable[[str], None]) -> None:
        self.api = api
        self.host = host
        self.timeout = timeout
        self.say = say

    def live(self, server: dict[str, Any]) -> tuple[bool, str]:
        """Try a live migration; (moved, where or why not)."""
        sid = server["id"]
        resp = self.api.action(sid, {"os-migrateLive": {"host": None,
                                                        "block_migration": "auto"}})
        if resp.status_code != 202:
            return False, f"live migration refused: {_message(resp)}"
        return self._outcome(_wait_settled(self.api, sid, self.timeout), "live")

    def cold(self, server: dict[str, Any]) -> tuple[bool, str]:
        """Cold-migrate and confirm; (moved, where or why not)."""
        sid = server["id"]
        resp = self.api.action(sid, {"migrate": None})
        if resp.status_code != 202:
            return False, f"cold migration refused: {_message(resp)}"
        after = _wait_settled(self.api, sid, self.timeout)
        if after is not None and after["status"] == "VERIFY_RESIZE":
            confirm = self.api.action(sid, {"confirmResize": None})
            if confirm.status_code != 204:
                return False, f"confirming the migration refused: {_message(confirm)}"
            after = _wait_settled(self.api, sid, self.timeout)
        return self._outcome(after, "cold")

    def _outcome(self, after: dict[str, Any] | None, kind: str) -> tuple[bool, str]:
        """Where a settled move left the server: (moved, its new host or why not)."""
        if after is None:
            return True, "(deleted meanwhile)"
        where = str(after.get("OS-EXT-SRV-ATTR:host"))
        if where != self.host and after["status"] != "ERROR":
            return True, where
        return False, f"{kind} migration failed: {_fault(after)}"

    def move(self, server: dict[str, Any]) -> tuple[bool, str, str]:
        """(moved, how, where or why not)."""
        status = server["status"]
        task = server.get("OS-EXT-STS:task_state")
        if task is not None:
            return False, "-", f"busy ({status}, task {task}); drain again when it ends"
        if status in LIVE:
            moved, detail = self.live(server)
            if moved or status != "ACTIVE":
                return moved, "live", detail
            # A running server that cannot go live can still move stopped and restarted.
            self.say(f"    {detail}; trying a cold migration")
            moved, cold_detail = self.cold(server)
            return moved, "cold", cold_detail if moved else f"{detail}; {cold_detail}"
        if status in COLD:
            moved, detail = self.cold(server)
            return moved, "cold", detail
        return False, "-", f"status {status}: only running, paused or stopped servers move"

    def run(self, reason: str) -> DrainReport:
        services = self.api.compute_services(self.host)
        if not services:
            raise HostCommandError(f"no compute service on host {self.host!r}")
        svc = services[0]
        if svc["status"] != "disabled":
            self.api.call("PUT", f"/os-services/{svc['id']}", SERVICES_VERSION,
                          json={"status": "disabled", "disabled_reason": reason})
            self.say(f"host {self.host}: compute service disabled ({reason})")
        report = DrainReport()
        servers = list(self.api.servers_on(self.host))
        self.say(f"host {self.host}: {len(servers)} server(s) to move")
        for n, server in enumerate(servers, 1):
            label = f"[{n}/{len(servers)}] {server['id']} ({server['name']}, " \
                    f"{server['status']})"
            started = time.monotonic()
            self.say(f"{label}: moving")
            try:
                moved, how, detail = self.move(server)
            except (TimeoutError, HostCommandError) as exc:
                moved, how, detail = False, "-", str(exc)
            took = time.monotonic() - started
            if moved:
                report.moved.append((server["id"], how, detail))
                self.say(f"{label}: {how} migration to {detail} ({took:.1f} s)")
            else:
                report.stuck.append((server["id"], detail))
                self.say(f"{label}: not moved: {detail}")
        return report


def drain_host(api: ComputeAPI, host: str, out: TextIO, timeout: float = 600.0,
               reason: str = "drained by kilonova host drain") -> int:
    """Drain ``host``; 0 when it ends empty, 1 otherwise."""
    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    report = Drainer(api, host, timeout, say).run(reason)
    left = [s["id"] for s in api.servers_on(host)]
    say(f"host {host}: {len(report.moved)} moved, {len(report.stuck)} not moved, "
        f"{len(left)} left on the host")
    for server_id, why in report.stuck:
        say(f"  {server_id}: {why}")
    return 0 if not left else 1


def run(args: argparse.Namespace) -> int:
    try:
        api = ComputeAPI.from_args(args)
    except HostCommandError as exc:
        print(f"kilonova host: {exc}", file=sys.stderr)
        return 2
    try:
        if args.action == "list":
            return list_hosts(api, sys.stdout)
        return drain_host(api, args.name, sys.stdout, args.timeout, args.reason)
    except HostCommandError as exc:
        print(f"kilonova host: {exc}", file=sys.stderr)
        return 2
    finally:
        api.close()
