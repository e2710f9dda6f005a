"""A cloud whose compute agent drives this machine's libvirtd (real QEMU guests)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from cli.embedded import EmbeddedCloud
from cli.wiring import build_computes
from common.service import Service
from common.settings import Settings
from tests.cloud import CloudClient
from tests.conftest import cloud_settings
from tests.integration.libvirt.guest import (
    URI,
    destroy_guests_under,
    missing_prerequisites,
    use_libvirt,
)
from tests.integration.libvirt.test_live_migration import DEST_PATH, SCRIPT, SOURCE_PATH


@pytest.fixture(scope="session")
def real_libvirt() -> None:
    missing = missing_prerequisites()
    if missing:
        # Fail, never skip: a green run must mean a real guest booted.
        pytest.fail("real-guest tests need: " + "; ".join(missing), pytrace=False)


@pytest.fixture
def libvirt_cloud(real_libvirt: None, tmp_path: Path) -> Iterator[EmbeddedCloud]:
    # One host: a resize can only happen in place (the libvirt driver copies no disks
    # between hosts yet).
    settings = use_libvirt(cloud_settings(tmp_path, "sqlite-memory",
                                          conductor={"allow_resize_to_same_host": True}),
                           tmp_path)
    running = EmbeddedCloud(settings).start()
    try:
        yield running
    finally:
        running.stop()
        destroy_guests_under(tmp_path)


@pytest.fixture
def libvirt_client(libvirt_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = CloudClient(libvirt_cloud.base_url)
    try:
        yield c
    finally:
        c.close()


def second_libvirtd_uri() -> str:
    """The qemu URI of the second libvirtd, started if it is not running."""
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"second libvirtd did not start ({SCRIPT}): {done.stderr}", pytrace=False)
    return done.stdout.strip().splitlines()[-1]


@dataclass
class TwoHosts:
    """A cloud whose agents drive two libvirtd: host ``a`` this machine's, host ``b`` the
    second one (scripts/libvirt/second_libvirtd.sh)."""

    cloud: EmbeddedCloud
    b_uri: str
    # Where A's libvirtd finds a destination's: a socket named after its host.
    sockets: Path
    a: str = "lv-a"
    b: str = "lv-b"
    paths: dict[str, Path] = field(default_factory=lambda: {"lv-a": SOURCE_PATH,
                                                            "lv-b": DEST_PATH})
    # Servers and images the test made: their files under the shared paths go afterwards.
    servers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    # B's agent and its settings (a test may stop it and start a new one).
    b_settings: Settings | None = None
    agent_b: Service | None = None

    def restart_agent_b(self) -> None:
        """A new agent for B, as after the host's agent process was restarted."""
        assert self.b_settings is not None and self.cloud._messaging is not None
        agent = build_computes(self.b_settings, self.cloud._messaging,
                               self.cloud.placement_url)
        self.cloud.services.append(agent)
        agent.start()
        self.agent_b = agent

    def uri(self, host: str) -> str:
        return URI if host == self.a else self.b_uri

    def cleanup(self) -> None:
        import libvirt

        for uri in (URI, self.b_uri):
            conn = libvirt.open(uri)
            try:
                for server_id in self.servers:
                    try:
                        dom = conn.lookupByUUIDString(server_id)
                    except libvirt.libvirtError:
                        continue
                    if dom.isActive():
                        dom.destroy()
                    dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
            finally:
                conn.close()
        for path in self.paths.values():
            for server_id in self.servers:
                shutil.rmtree(path / server_id, ignore_errors=True)
            for image_id in self.images:
                (path / "_base" / hashlib.sha1(image_id.encode()).hexdigest()).unlink(
                    missing_ok=True)


@pytest.fixture
def two_hosts(real_libvirt: None, tmp_path: Path) -> Iterator[TwoHosts]:
    """Host A on qemu:///system and host B on the second libvirtd, in one cloud.

    B's agent is a second compute service in the embedded cloud's process with its own
    Settings (libvirt URI, host, instances path), as `kilonova serve compute` with its
    own config file would be; no broker or shared database is needed for that.
    The second libvirtd sees A's instances path as B's directory (its mount namespace),
    so A keeps its files under SOURCE_PATH and B under DEST_PATH, each with its image
    cache in ``_base`` below: the paths in a live-migrated guest's definition resolve to
    B's own copies there, as they would on two machines laid out alike.
    """
    b_uri = second_libvirtd_uri()
    sockets = tmp_path / "libvirtd-of-host"
    sockets.mkdir()
    (sockets / "lv-b").symlink_to(parse_qs(urlsplit(b_uri).query)["socket"][0])
    settings = use_libvirt(cloud_settings(tmp_path, "sqlite-memory"), tmp_path, host="lv-a")
    settings.libvirt = settings.libvirt.model_copy(update={
        "instances_path": SOURCE_PATH, "image_cache_path": None,
        "live_migration_uri": f"qemu+unix:///system?socket={sockets}/{{host}}"})
    cloud = EmbeddedCloud(settings).start()
    hosts = TwoHosts(cloud, b_uri, sockets)
    try:
        # B is never a live-migration source here: its libvirtd could not reach A's
        # socket from its mount namespace anyway. Its inbound address is what A's
        # libvirtd sends the guest's memory and disks to (A has none of its own).
        b_settings = settings.model_copy(update={
            "compute": settings.compute.model_copy(update={"host": hosts.b}),
            "libvirt": settings.libvirt.model_copy(update={
                "uri": b_uri, "instances_path": DEST_PATH,
                "live_migration_inbound_addr": "tcp://127.0.0.1"})})
        assert cloud._messaging is not None
        agent_b = build_computes(b_settings, cloud._messaging, cloud.placement_url)
        cloud.services.append(agent_b)  # stopped before A's agent and the conductor
        agent_b.start()
        hosts.b_settings, hosts.agent_b = b_settings, agent_b
        yield hosts
    finally:
        cloud.stop()
        hosts.cleanup()
