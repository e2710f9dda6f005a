"""Run upstream's Tempest compute API tests against a fresh ``kilonova serve all``.

Starts the embedded cloud (builtin identity, simulated hosts) in a temporary data
directory, creates pre-provisioned accounts, a flavor pair and an image pair, writes a
Tempest workspace for them (no network or volume service), runs
``tempest run --regex <REGEX>`` and prints the counts. Not part of the test suite (it
takes minutes); the next engineer's measuring stick for compute API conformance:

    .venv/bin/python scripts/tempest_compute.py [--regex tempest.api.compute] [--concurrency 2]
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
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
ADMIN_PASSWORD = "tempest-admin-" + secrets.token_hex(4)


def _start(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {"KILONOVA_AUTH__STRATEGY": "builtin", "KILONOVA_IDENTITY__ADMIN_PASSWORD":
           ADMIN_PASSWORD, "KILONOVA_QUOTA__INSTANCES": "-1", "KILONOVA_QUOTA__CORES": "-1",
           "KILONOVA_QUOTA__RAM": "-1", "KILONOVA_IDENTITY__SOURCE_FAILURE_ATTEMPTS": "0",
           "PATH": str(VENV_BIN) + ":/usr/bin:/bin"}
    proc = subprocess.Popen([str(VENV_BIN / "kilonova"), "serve", "all", "--data-dir",
                             str(data), "--port", str(port), "--fake-hosts", "4"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/identity/v3", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"serve all exited: {err}")
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
        self.http = httpx.Client(base_url=base, timeout=60, headers={
            "X-Auth-Token": resp.headers["X-Subject-Token"],
            "OpenStack-API-Version": "compute 2.1"})

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


# The scheduler filters Tempest may assume (what Kilonova's scheduler does).
FILTERS = ",".join(["AvailabilityZoneFilter", "ComputeFilter", "ComputeCapabilitiesFilter",
                    "ImagePropertiesFilter", "ServerGroupAntiAffinityFilter",
                    "ServerGroupAffinityFilter", "SameHostFilter", "DifferentHostFilter"])

CONF = """[DEFAULT]
log_dir = {workspace}/logs
log_file = tempest.log

[auth]
use_dynamic_credentials = false
test_accounts_file = {workspace}/etc/accounts.yaml
default_credentials_domain_name = Default
create_isolated_networks = false
admin_username = admin
admin_password = {admin_password}
admin_project_name = admin
admin_domain_name = Default

[identity]
uri_v3 = {base}/identity/v3
auth_version = v3
region = RegionOne

[identity-feature-enabled]
api_v2 = false

[service_available]
nova = true
glance = true
neutron = false
cinder = false
swift = false
placement = true

[compute]
image_ref = {image}
image_ref_alt = {image_alt}
flavor_ref = {flavor}
flavor_ref_alt = {flavor_alt}
min_microversion = 2.1
max_microversion = latest
build_timeout = 90
endpoint_type = publicURL
fixed_network_name =

[compute-feature-enabled]
resize = true
cold_migration = true
live_migration = false
console_output = true
snapshot = true
pause = true
suspend = true
shelve = false
shelve_migrate = false
rescue = true
change_password = true
interface_attach = false
config_drive = true
personality = true
attach_encrypted_volume = false
serial_console = false
spice_console = false
vnc_console = false
metadata_service = false
scheduler_enabled_filters = {filters}

[validation]
run_validation = false

[image]
image_path =

[image-feature-enabled]
api_v1 = false
api_v2 = true
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regex", default="tempest.api.compute")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--port", type=int, default=18774)
    parser.add_argument("--keep", action="store_true", help="keep the workspace")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kn-tempest-"))
    proc = _start(work / "data", args.port)
    base = f"http://127.0.0.1:{args.port}"
    try:
        admin = Admin(base)
        # Tempest asks for a member with a reader and a manager of the same project.
        accounts = []
        for i in range(8):
            accounts.append(admin.account(f"tempest-user-{i}", ["member"]))
            for role in ("reader", "manager"):
                accounts.append(admin.account(f"tempest-{role}-{i}", [role],
                                              f"tempest-user-{i}-project"))
        accounts += [admin.account(f"tempest-admin-{i}", ["admin"]) for i in range(3)]
        workspace = work / "tempest"
        subprocess.run([str(VENV_BIN / "tempest"), "init", "--name", work.name, str(workspace)],
                       check=True,
                       stdout=subprocess.DEVNULL)
        (workspace / "etc" / "accounts.yaml").write_text(json.dumps(accounts, indent=1))
        (workspace / "etc" / "tempest.conf").write_text(CONF.format(
            workspace=workspace, base=base, admin_password=ADMIN_PASSWORD, filters=FILTERS,
            image=admin.image("tempest-image"),
            image_alt=admin.image("tempest-image-alt"), flavor=admin.flavor("t.small", 128),
            flavor_alt=admin.flavor("t.medium", 256)))
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
        proc.terminate()
        proc.wait(timeout=60)


if __name__ == "__main__":
    raise SystemExit(main())
