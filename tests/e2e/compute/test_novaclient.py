"""python-novaclient (the library) against a cloud with builtin password auth."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from tests.e2e.compute.conftest import ADMIN_PASSWORD

PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFbVQ0dk1mWz3Cw2YkXn3b4cPjV0tX0m5o9PzJ9rQ1aB "
              "nova@e2e")


@pytest.fixture(scope="module")
def nova(builtin_cloud: EmbeddedCloud) -> Iterator[Any]:
    try:
        from keystoneauth1 import session
        from keystoneauth1.identity import v3
        from novaclient import api_versions, client
    except ImportError:
        pytest.fail("python-novaclient is not installed: install the project's e2e extra")
    auth = v3.Password(auth_url=builtin_cloud.identity_url, username="admin",
                       password=ADMIN_PASSWORD, project_name="admin",
                       user_domain_name="Default", project_domain_name="Default")
    sess = session.Session(auth=auth)
    nova = client.Client("2.1", session=sess, region_name="RegionOne")
    # As the nova CLI does: the highest version both the cloud and this client know.
    nova.api_version = api_versions.discover_version(nova, api_versions.APIVersion("2.latest"))
    yield nova
    sess.session.close()


def _wait(nova: Any, server_id: str, status: str) -> Any:
    deadline = time.monotonic() + 120
    while True:
        server = nova.servers.get(server_id)
        if server.status == status:
            return server
        assert time.monotonic() < deadline, f"{server_id} stuck in {server.status}"
        time.sleep(0.5)


def test_novaclient_negotiates_and_drives_servers(nova: Any, builtin_cloud: EmbeddedCloud
                                                  ) -> None:
    # novaclient asks for the highest version both sides know (2.96 for novaclient 18).
    assert nova.api_version.get_string().startswith("2.")
    assert nova.api_version.ver_minor >= 90
    flavor = nova.flavors.create("nova.small", ram=256, vcpus=1, disk=1)
    import openstack

    conn = openstack.connect(
        auth_url=builtin_cloud.identity_url, username="admin", password=ADMIN_PASSWORD,
        project_name="admin", user_domain_name="Default", project_domain_name="Default",
        region_name="RegionOne", identity_api_version="3")
    image = conn.image.create_image(name="nova-image", data=io.BytesIO(b"\0" * 2048),
                                    disk_format="raw", container_format="bare")
    keypair = nova.keypairs.create("nova-key", public_key=PUBLIC_KEY)
    try:
        assert keypair.fingerprint
        server = nova.servers.create("nova-vm", image.id, flavor.id, nics="none",
                                     key_name="nova-key", hostname="nova-vm-host",
                                     availability_zone="nova")
        active = _wait(nova, server.id, "ACTIVE")
        assert active.key_name == "nova-key"
        assert getattr(active, "OS-EXT-SRV-ATTR:hostname") == "nova-vm-host"
        assert active.pinned_availability_zone == "nova"
        assert [s.name for s in nova.servers.list()] == ["nova-vm"]
        assert [s.name for s in nova.servers.list(search_opts={"name": "^nova"})] == [
            "nova-vm"]
        assert nova.servers.list(search_opts={"name": "^other"}) == []
        nova.servers.update(server.id, name="nova-renamed")
        assert nova.servers.get(server.id).name == "nova-renamed"
        nova.servers.delete(server.id)
        deadline = time.monotonic() + 120
        while nova.servers.list():
            assert time.monotonic() < deadline, "server was not deleted"
            time.sleep(0.5)
    finally:
        nova.keypairs.delete("nova-key")
        nova.flavors.delete(flavor.id)
        conn.image.delete_image(image)
        conn.close()
