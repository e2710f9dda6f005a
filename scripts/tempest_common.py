"""Shared pieces of the Tempest runners (``tempest_compute.py``, ``tempest_network.py``).

Starts ``kilonova serve all`` with builtin identity in a temporary data directory,
provisions accounts, writes a Tempest workspace from a configuration template, runs
``tempest run --regex`` and prints the counts and the failing test ids.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
ADMIN_PASSWORD = "tempest-admin-" + secrets.token_hex(4)


def _start(data: Path, port: int, extra: dict[str, str] | None = None,
           ready: str = "/identity/v3") -> subprocess.Popen[bytes]:
    env = {"KILONOVA_AUTH__STRATEGY": "builtin", "KILONOVA_IDENTITY__ADMIN_PASSWORD":
           ADMIN_PASSWORD, "KILONOVA_QUOTA__INSTANCES": "-1", "KILONOVA_QUOTA__CORES": "-1",
           "KILONOVA_QUOTA__RAM": "-1", "KILONOVA_IDENTITY__SOURCE_FAILURE_ATTEMPTS": "0",
           "PATH": str(VENV_BIN) + ":/usr/bin:/bin", **(extra or {})}
    # Its log goes to a file beside the data: a pipe nobody reads fills up in a long run
    # and blocks every thread that logs (builds stuck in scheduling).
    log = data.parent / f"{data.name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(VENV_BIN / "kilonova"), "serve", "all", "--data-dir",
                                 str(data), "--port", str(port), "--fake-hosts", "4"],
                                env=env, stdout=subprocess.DEVNULL, stderr=out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{ready}", timeout=2).status_code < 500:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"serve all exited: {log.read_text()[-4000:]}")
        time.sleep(0.5)
    raise SystemExit("serve all did not start")


class Admin:
    def __init__(self, base: str) -> None:
        self.base = base
        resp = httpx.post(f"{base}/identity/v3/auth/tokens", timeout=30, json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
        resp.raise_for_status()
        self.token = resp.headers["X-Subject-Token"]
        self.http = httpx.Client(base_url=base, timeout=60, headers={
            "X-Auth-Token": self.token, "OpenStack-API-Version": "compute 2.1"})
        # Where /networking is: this cloud's, or the external Neutron's
        # (``use_neutron``).
        self.net = self.http

    def use_neutron(self, base: str) -> None:
        self.net = httpx.Client(base_url=base, timeout=60,
                                headers={"X-Auth-Token": self.token})

    def project(self, name: str) -> str:
        return str(self.http.post("/identity/v3/projects", json={"project": {
            "name": name}}).json()["project"]["id"])

    def account(self, name: str, roles: list[str], project: str | None = None
                ) -> dict[str, Any]:
        """A user with ``roles`` on ``project`` (default: a new project of its own)."""
        project_name = project or f"{name}-project"
        project_id = self.project(project_name) if project is None else \
            self.http.get(f"/identity/v3/projects?name={project}").json()["projects"][0]["id"]
        password = "pw-" + secrets.token_hex(6)
        user = self.http.post("/identity/v3/users", json={"user": {
            "name": name, "password": password}}).json()["user"]["id"]
        for role in roles:
            self.http.put(f"/identity/v3/projects/{project_id}/users/{user}/roles/{role}"
                          ).raise_for_status()
        return {"username": name, "project_name": project_name, "password": password,
                "domain_name": "Default", "roles": roles}

    def accounts(self) -> list[dict[str, Any]]:
        """Members, each project with a reader and a manager too, and three admins."""
        made = []
        for i in range(8):
            made.append(self.account(f"tempest-user-{i}", ["member"]))
            for role in ("reader", "manager"):
                made.append(self.account(f"tempest-{role}-{i}", [role],
                                         f"tempest-user-{i}-project"))
        return made + [self.account(f"tempest-admin-{i}", ["admin"]) for i in range(3)]

    def flavor(self, name: str, ram: int) -> str:
        resp = self.http.post("/compute/v2.1/flavors", json={"flavor": {
            "name": name, "ram": ram, "vcpus": 1, "disk": 1, "id": name}})
        resp.raise_for_status()
        return str(resp.json()["flavor"]["id"])

    def image(self, name: str) -> str:
        made = self.http.post("/image/v2/images", json={
            "name": name, "disk_format": "raw", "container_format": "bare",
            "visibility": "public"})
        made.raise_for_status()
        image_id = str(made.json()["id"])
        self.http.put(f"/image/v2/images/{image_id}/file", content=b"\0" * 4096, headers={
            "Content-Type": "application/octet-stream"}).raise_for_status()
        return image_id


    def extensions(self) -> list[str]:
        """The aliases ``GET /networking/v2.0/extensions`` lists, sorted."""
        listed = self.net.get("/networking/v2.0/extensions")
        listed.raise_for_status()
        return sorted(e["alias"] for e in listed.json()["extensions"])

    def network(self, name: str, cidr: str, **attrs: Any) -> str:
        """A network with ``attrs`` (``shared``, ``router:external``) and one subnet."""
        made = self.net.post("/networking/v2.0/networks", json={"network": {
            "name": name, **attrs}})
        made.raise_for_status()
        network_id = str(made.json()["network"]["id"])
        self.net.post("/networking/v2.0/subnets", json={"subnet": {
            "name": f"{name}-subnet", "network_id": network_id, "ip_version": 4,
            "cidr": cidr}}).raise_for_status()
        return network_id

    def router(self, name: str, gateway: str, network: str) -> None:
        """A router from ``network``'s subnets to the external network ``gateway``."""
        made = self.net.post("/networking/v2.0/routers", json={"router": {
            "name": name, "external_gateway_info": {"network_id": gateway}}})
        made.raise_for_status()
        router_id = made.json()["router"]["id"]
        subnets = self.net.get(f"/networking/v2.0/subnets?network_id={network}")
        for subnet in subnets.json()["subnets"]:
            self.net.put(f"/networking/v2.0/routers/{router_id}/add_router_interface",
                          json={"subnet_id": subnet["id"]}).raise_for_status()


# The [network] sections for runs with the network service on; ``{public_network}``
# is empty when no external network was made.
NETWORK_CONF = """
[network]
project_network_cidr = 10.100.0.0/16
project_network_mask_bits = 28
project_network_v6_cidr = 2001:db8::/48
project_network_v6_mask_bits = 64
project_networks_reachable = false
public_network_id = {public_network_id}
floating_network_name = {floating_network_name}
shared_physical_network = false
endpoint_type = publicURL
build_timeout = 60

[network-feature-enabled]
api_extensions = {extensions}
ipv6 = true
ipv6_subnet_attributes = true
port_security = true
port_admin_state_change = true
floating_ips = {floating_ips}
"""


def arguments(description: str, regex: str, port: int, *, flags: dict[str, str] | None = None
              ) -> argparse.Namespace:
    """The runner's options; ``flags`` adds on/off options (name to help text)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--regex", default=regex)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--neutron-backend", action="store_true", help=(
        "run the compute cloud with [network] backend = neutron, its Neutron a second "
        "cloud's network API (on --port + 1) that validates tokens with the first's "
        "identity API"))
    for flag, help_text in (flags or {}).items():
        parser.add_argument(flag, action="store_true", help=help_text)
    return parser.parse_args()


def run_tempest(args: argparse.Namespace, conf: Callable[[Admin, Path], str]) -> int:
    """Start the cloud, write the workspace with ``conf(admin, workspace)``, run, report."""
    work = Path(tempfile.mkdtemp(prefix="kn-tempest-"))
    base = f"http://127.0.0.1:{args.port}"
    extra: dict[str, str] = {}
    if args.neutron_backend:
        extra = {"KILONOVA_NETWORK__BACKEND": "neutron",
                 "KILONOVA_NETWORK__NEUTRON_URL": f"http://127.0.0.1:{args.port + 1}/networking",
                 "KILONOVA_NETWORK__NEUTRON_USERNAME": "nova-at-neutron",
                 "KILONOVA_NETWORK__NEUTRON_PASSWORD": NEUTRON_PASSWORD,
                 "KILONOVA_NETWORK__NEUTRON_PROJECT_NAME": "neutron-service-project",
                 "KILONOVA_NETWORK__NEUTRON_AUTH_URL": f"{base}/identity/v3"}
    proc = _start(work / "data", args.port, extra)
    neutron: subprocess.Popen[bytes] | None = None
    try:
        admin = Admin(base)
        if args.neutron_backend:
            neutron = _start_neutron(admin, work, args.port + 1)
        accounts = admin.accounts()
        workspace = work / "tempest"
        subprocess.run([str(VENV_BIN / "tempest"), "init", "--name", work.name, str(workspace)],
                       check=True, stdout=subprocess.DEVNULL)
        (workspace / "etc" / "accounts.yaml").write_text(json.dumps(accounts, indent=1))
        (workspace / "etc" / "tempest.conf").write_text(conf(admin, workspace))
        run = subprocess.run([str(VENV_BIN / "tempest"), "run", "--regex", args.regex,
                              "--concurrency", str(args.concurrency)], cwd=workspace,
                             capture_output=True, text=True)
        (work / "tempest-output.txt").write_text(run.stdout + run.stderr)
        totals = re.findall(r"^ - (Passed|Skipped|Failed|Expected Fail|Unexpected Success)"
                            r": (\d+)", run.stdout, re.M)
        print(f"tempest {args.regex}: " + ", ".join(f"{k.lower()} {v}" for k, v in totals))
        failed = re.findall(r"^\{\d+\} (\S+) \[[\d.]+s\] \.\.\. FAILED", run.stdout, re.M)
        for name in sorted(failed):
            print(f"FAILED {name}")
        print(f"full output: {work / 'tempest-output.txt'}")
        return 0
    finally:
        for running in (proc, neutron):
            if running is not None:
                running.terminate()
                running.wait(timeout=60)


NEUTRON_PASSWORD = "pw-" + secrets.token_hex(8)


def _start_neutron(admin: Admin, work: Path, port: int) -> subprocess.Popen[bytes]:
    """The second cloud, as the first's Neutron: its network API checks every token with
    the first's identity API (as a service user made there); the first's conductor acts
    at it as ``nova-at-neutron``, an admin of the service project."""
    service = admin.account("neutron-service", ["admin"], None)
    conductor_user = admin.http.post("/identity/v3/users", json={"user": {
        "name": "nova-at-neutron", "password": NEUTRON_PASSWORD}}).json()["user"]["id"]
    project = admin.http.get("/identity/v3/projects?name=neutron-service-project").json()[
        "projects"][0]["id"]
    admin.http.put(f"/identity/v3/projects/{project}/users/{conductor_user}/roles/admin"
                   ).raise_for_status()
    env = {"KILONOVA_AUTH__STRATEGY": "keystone",
           "KILONOVA_KEYSTONE__AUTH_URL": f"{admin.base}/identity/v3",
           "KILONOVA_KEYSTONE__USERNAME": service["username"],
           "KILONOVA_KEYSTONE__PASSWORD": service["password"],
           "KILONOVA_KEYSTONE__PROJECT_NAME": service["project_name"]}
    started = _start(work / "neutron", port, env, ready="/networking/")
    admin.use_neutron(f"http://127.0.0.1:{port}")
    return started
