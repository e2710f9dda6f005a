"""``kilonova host list`` and ``kilonova host drain`` against a running cloud over HTTP.

The cloud uses the builtin identity: the commands log in with a password from the
``OS_*`` variables and find the compute endpoint in the catalog, as the openstack CLI
does.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli import hosts
from cli.embedded import EmbeddedCloud
from cli.main import main
from tests.cloud import CloudClient
from tests.conftest import BACKENDS, cloud_settings, running_cloud
from tests.functional.compute.actions_helpers import act, allocations, provider_of, settled
from tests.functional.compute.conftest import password_token
from tests.functional.compute.helpers import ensure_flavor, public_image

PASSWORD = "drain-admin-secret"
SMALL = {"VCPU": 1, "MEMORY_MB": 64, "DISK_GB": 1}


@pytest.fixture(scope="module", params=BACKENDS)
def cloud(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[EmbeddedCloud]:
    settings = cloud_settings(tmp_path_factory.mktemp("drain"), str(request.param),
                              fake_hosts=3)
    settings.auth = settings.auth.model_copy(update={"strategy": "builtin"})
    settings.identity = settings.identity.model_copy(update={"admin_password": PASSWORD})
    with running_cloud(settings) as running:
        yield running


@pytest.fixture(scope="module")
def admin(cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    resp = password_token(cloud.base_url, "admin", PASSWORD, "admin")
    assert resp.status_code == 201, resp.text
    client = CloudClient(cloud.base_url, token=resp.headers["X-Subject-Token"],
                         version="2.74")
    yield client
    client.close()


@pytest.fixture
def os_env(cloud: EmbeddedCloud, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no clouds.yaml here
    for name in ("OS_CLOUD", "OS_TOKEN", "OS_COMPUTE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OS_AUTH_URL", f"{cloud.base_url}/identity/v3")
    monkeypatch.setenv("OS_USERNAME", "admin")
    monkeypatch.setenv("OS_PASSWORD", PASSWORD)
    monkeypatch.setenv("OS_PROJECT_NAME", "admin")


def boot_on(admin: CloudClient, host: str, name: str, **extra: object) -> str:
    flavor = ensure_flavor(admin, "drain.small", ram=64, vcpus=1)
    image = public_image(admin, "drain-img")
    server_id = admin.boot(flavor, image, name=name, host=host, **extra)
    settled(admin, server_id, "ACTIVE")
    return server_id


def servers_on(admin: CloudClient, host: str) -> list[str]:
    resp = admin.compute("GET", "/servers", params={"all_tenants": 1, "host": host})
    assert resp.status_code == 200, resp.text
    return [s["id"] for s in resp.json()["servers"]]


def service_of(admin: CloudClient, host: str) -> dict[str, object]:
    resp = admin.compute("GET", "/os-services", params={"host": host,
                                                        "binary": "nova-compute"})
    assert resp.status_code == 200, resp.text
    [svc] = resp.json()["services"]
    return dict(svc)


def test_host_list_shows_every_host_with_its_usage(cloud: EmbeddedCloud, admin: CloudClient,
                                                  os_env: None,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    server_id = boot_on(admin, "fake-2", "listed")
    try:
        assert main(["host", "list"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].split()[:5] == ["HOST", "ZONE", "STATUS", "STATE", "SERVERS"]
        rows = {line.split()[0]: line.split() for line in lines[1:]}
        assert set(rows) == {"fake-1", "fake-2", "fake-3"}
        assert rows["fake-2"][2:6] == ["enabled", "up", "1", "1/" + rows["fake-2"][5][2:]]
        assert rows["fake-1"][4] == "0"
    finally:
        admin.compute("DELETE", f"/servers/{server_id}")
        admin.wait_gone(server_id)


def test_drain_moves_running_and_stopped_servers_and_reports_what_cannot_move(
        cloud: EmbeddedCloud, admin: CloudClient, os_env: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    source = "fake-1"
    running = boot_on(admin, source, "running")
    stubborn = boot_on(admin, source, "no-live", metadata={"fake:fail_live_migration": "*"})
    stopped = boot_on(admin, source, "stopped")
    assert act(admin, stopped, {"os-stop": None}).status_code == 202
    settled(admin, stopped, "SHUTOFF")
    broken = boot_on(admin, source, "broken")
    assert act(admin, broken, {"os-resetState": {"state": "error"}}).status_code == 202
    try:
        assert main(["host", "drain", source, "--timeout", "60"]) == 1
        out = capsys.readouterr().out

        svc = service_of(admin, source)
        assert (svc["status"], svc["disabled_reason"]) == (
            "disabled", "drained by kilonova host drain")
        assert servers_on(admin, source) == [broken]
        assert f"{running} (running, ACTIVE): live migration to fake-" in out
        assert f"{stubborn} (no-live, ACTIVE): cold migration to fake-" in out
        assert f"{stopped} (stopped, SHUTOFF): cold migration to fake-" in out
        assert f"{broken} (broken, ERROR): not moved: status ERROR" in out
        assert f"host {source}: 3 moved, 1 not moved, 1 left on the host" in out
        for server_id, status in ((running, "ACTIVE"), (stubborn, "ACTIVE"),
                                  (stopped, "SHUTOFF")):
            server = settled(admin, server_id, status)
            host = server["OS-EXT-SRV-ATTR:host"]
            assert host != source
            # Only the new host holds the server; nothing is left for the migration.
            assert allocations(admin, server_id) == {provider_of(admin, host): SMALL}

        # Once the errored server is gone, draining again succeeds: the host is empty.
        admin.compute("DELETE", f"/servers/{broken}")
        admin.wait_gone(broken)
        assert main(["host", "drain", source]) == 0
        out = capsys.readouterr().out
        assert f"host {source}: 0 server(s) to move" in out
        assert servers_on(admin, source) == []
        # New servers no longer land on the drained host.
        flavor = ensure_flavor(admin, "drain.small", ram=64, vcpus=1)
        image = public_image(admin, "drain-img")
        resp = admin.compute("POST", "/servers", json={"server": {
            "name": "late", "flavorRef": flavor, "imageRef": image, "networks": "none",
            "host": source}})
        assert resp.status_code == 202, resp.text
        late = resp.json()["server"]["id"]
        assert settled(admin, late, "ERROR")["fault"]["message"]
        admin.compute("DELETE", f"/servers/{late}")
    finally:
        for server_id in (running, stubborn, stopped, broken):
            admin.compute("DELETE", f"/servers/{server_id}")
        for server_id in (running, stubborn, stopped, broken):
            admin.wait_gone(server_id)
        svc = service_of(admin, source)
        admin.compute("PUT", f"/os-services/{svc['id']}", json={"status": "enabled"},
                      headers={"OpenStack-API-Version": "compute 2.53"})


def test_drain_of_an_unknown_host_or_without_credentials_explains(
        cloud: EmbeddedCloud, os_env: None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["host", "drain", "no-such-host"]) == 2
    assert "no compute service on host 'no-such-host'" in capsys.readouterr().err
    monkeypatch.setenv("OS_PASSWORD", "wrong")
    assert main(["host", "list"]) == 2
    assert "login refused (401)" in capsys.readouterr().err
    monkeypatch.delenv("OS_AUTH_URL")
    assert main(["host", "list"]) == 2
    assert "no credentials" in capsys.readouterr().err


def test_a_bad_token_is_refused(cloud: EmbeddedCloud) -> None:
    out = io.StringIO()
    api = hosts.ComputeAPI(cloud.compute_url, "not-a-token")
    try:
        with pytest.raises(hosts.HostCommandError, match="401"):
            hosts.drain_host(api, "fake-1", out)
    finally:
        api.close()
