"""openstacksdk against a cloud with builtin password auth."""

from __future__ import annotations

import io
from typing import Any


def test_create_server_wait_then_delete_and_wait(conn: Any) -> None:
    flavor = conn.compute.create_flavor(name="sdk.small", ram=512, vcpus=1, disk=1)
    image = conn.image.create_image(name="sdk-image", data=io.BytesIO(b"\0" * 2048),
                                    disk_format="raw", container_format="bare")
    server = conn.compute.create_server(name="sdk-vm", flavor_id=flavor.id,
                                        image_id=image.id, networks="none")
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=120, interval=0.5)
    assert server.status == "ACTIVE"
    assert [s.name for s in conn.compute.servers()] == ["sdk-vm"]

    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=120, interval=0.5)
    assert list(conn.compute.servers()) == []
    conn.compute.delete_flavor(flavor)


def test_keypair_and_server_group_through_the_sdk(conn: Any) -> None:
    keypair = conn.compute.create_keypair(name="sdk-key")
    assert keypair.private_key
    assert [k.name for k in conn.compute.keypairs()] == ["sdk-key"]
    conn.compute.delete_keypair(keypair)
    group = conn.compute.create_server_group(name="sdk-group", policy="soft-anti-affinity")
    assert group.policy == "soft-anti-affinity"
    conn.compute.delete_server_group(group)
