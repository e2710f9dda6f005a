"""Evacuate a real guest off a host whose agent died, and the stale guest's removal.

Host B's agent stops (its libvirtd and the guest keep running, as when only the agent's
process or the host's network died); the operator forces B down and evacuates. The
server is rebuilt on A from its image; when B's agent comes back, it finds the guest
recorded on A and removes its own copy instead of running it twice.
"""

from __future__ import annotations

import time

from tests.cloud import CloudClient
from tests.functional.compute.actions_helpers import allocations, events, migration_of, provider_of
from tests.integration.libvirt.conftest import TwoHosts
from tests.integration.libvirt.guest import READY_MARKER, upload_test_image
from tests.integration.libvirt.test_api_moves import RESOURCES, defined_on
from tests.integration.libvirt.test_real_guest import act, settled, wait_console

V253 = {"OpenStack-API-Version": "compute 2.53"}


def force_down(client: CloudClient, host: str, down: bool) -> None:
    resp = client.compute("GET", "/os-services", params={"host": host}, headers=V253)
    [svc] = [s for s in resp.json()["services"] if s["binary"] == "nova-compute"]
    put = client.compute("PUT", f"/os-services/{svc['id']}", json={"forced_down": down},
                         headers=V253)
    assert put.status_code == 200, put.text


def test_a_real_guest_is_evacuated_and_the_dead_hosts_copy_removed_on_its_return(
        two_hosts: TwoHosts) -> None:
    hosts = two_hosts
    client = CloudClient(hosts.cloud.base_url, version="2.74")
    try:
        flavor = client.create_flavor("tiny", ram=128, vcpus=1, disk=1)
        image = upload_test_image(client.http, hosts.cloud.image_url)
        record = client.http.get(f"/image/v2/images/{image}").json()
        hosts.images += [image, record["kernel_id"], record["ramdisk_id"]]
        server_id = client.boot(flavor, image, host=hosts.b)
        hosts.servers.append(server_id)
        assert settled(client, server_id, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == hosts.b
        wait_console(client, server_id, READY_MARKER)

        assert hosts.agent_b is not None
        hosts.agent_b.stop()  # B's agent is gone; its guest still runs on B's libvirtd
        force_down(client, hosts.b, True)
        resp = act(client, server_id, {"evacuate": {}})
        assert resp.status_code == 200, resp.text
        server = settled(client, server_id, "ACTIVE")
        assert server["OS-EXT-SRV-ATTR:host"] == hosts.a
        assert server["OS-EXT-STS:power_state"] == 1
        wait_console(client, server_id, READY_MARKER)  # booted anew on A, from the image
        assert [(e["event"], e["result"]) for e in events(client, server_id, "evacuate")] == [
            ("conductor_rebuild_server", "Success"), ("compute_rebuild_instance", "Success")]
        migration = migration_of(client, server_id)
        assert (migration["migration_type"], migration["status"]) == ("evacuation", "done")
        assert allocations(client, server_id) == {provider_of(client, hosts.a): RESOURCES}
        assert allocations(client, migration["uuid"]) == {}
        assert defined_on(hosts, hosts.a, server_id)
        assert defined_on(hosts, hosts.b, server_id)  # nobody on B to remove it yet

        force_down(client, hosts.b, False)
        hosts.restart_agent_b()
        deadline = time.monotonic() + 60
        while defined_on(hosts, hosts.b, server_id):
            assert time.monotonic() < deadline, "B's agent kept the evacuated guest"
            time.sleep(0.5)
        assert not (hosts.paths[hosts.b] / server_id).exists()
        server = settled(client, server_id, "ACTIVE")
        assert server["OS-EXT-SRV-ATTR:host"] == hosts.a
        assert defined_on(hosts, hosts.a, server_id)
        assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
        client.wait_gone(server_id)
    finally:
        client.close()
