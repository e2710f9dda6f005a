"""Metadata: a guest configured by DHCP reaches http://169.254.169.254/ through its
network's bridge, and the metadata server in the DHCP namespace answers it (and only it)
with its own documents; the server goes with the network."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from common.errors import NotFound
from common.messages import (
    FlavorPayload,
    HostNetwork,
    HostNetworkState,
    InstancePayload,
    MetadataFacts,
    NetSubnet,
)
from tests.integration.network.lab import Guest, Lab, in_ns, port

# Configures the lease as a guest's DHCP client does: the address, then the classless
# static routes (option 121), which replace the router option.
HOOK = """#!/bin/sh
case "$1" in
bound)
    ip addr add "$ip/$mask" dev "$interface"
    set -- $staticroutes
    while [ $# -ge 2 ]; do ip route replace "$1" via "$2" dev "$interface"; shift 2; done
    echo "LEASE=$ip ROUTES=$staticroutes MS=$msstaticroutes" ;;
esac
exit 0
"""
URL = "http://169.254.169.254/openstack/latest/meta_data.json"


class Guests:
    """A lookup answering from the instances the test made, by (network, address)."""

    def __init__(self) -> None:
        self.held: dict[tuple[uuid.UUID, str], InstancePayload] = {}

    def add(self, network_id: uuid.UUID, address: str, name: str) -> InstancePayload:
        inst = InstancePayload(
            uuid=uuid.uuid4(), display_name=name, project_id="p", user_id="u",
            flavor=FlavorPayload(flavorid="f", name="m1.tiny", vcpus=1, memory_mb=64),
            image_ref=None, vm_state="active", task_state=None, power_state=1, host="h1",
            node="h1", metadata_facts=MetadataFacts(instance_id=len(self.held) + 1))
        self.held[(network_id, address)] = inst
        return inst

    def lookup(self, network_id: uuid.UUID, address: str) -> InstancePayload:
        try:
            return self.held[(network_id, address)]
        except KeyError:
            raise NotFound(f"no server has address {address}") from None


def configure_by_dhcp(guest: Guest, hook: Path) -> str:
    done = in_ns(guest.ns, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "4",
                 "-T", "1", "-O", "staticroutes", "-O", "msstaticroutes", "-s", str(hook),
                 check=False, timeout=30)
    return next((line for line in done.stdout.splitlines() if line.startswith("LEASE=")),
                "")


def meta_data(guest: Guest) -> dict[str, object] | None:
    # This busybox's wget crashes with -T: coreutils' timeout bounds it.
    done = in_ns(guest.ns, "timeout", "10", "busybox", "wget", "-q", "-O-", URL,
                 check=False, timeout=30)
    return json.loads(done.stdout) if done.returncode == 0 else None


def test_guests_get_their_own_metadata_from_169_254_169_254(lab: Lab, tmp_path: Path
                                                            ) -> None:
    hook = tmp_path / "hook"
    hook.write_text(HOOK)
    hook.chmod(0o755)
    h1 = lab.host("h1", underlay_ip="192.0.2.1")
    guests = Guests()
    h1.serve_metadata(guests.lookup)
    subnet = uuid.uuid4()
    net = HostNetwork(id=uuid.uuid4(), type="vxlan", segmentation_id=3101, mtu=1450,
                      subnets=[NetSubnet(id=subnet, cidr="10.0.31.0/24",
                                         gateway_ip="10.0.31.1", dhcp_server_ip="10.0.31.2")])
    first = port(net.id, "fa:16:3e:00:31:01", "10.0.31.57", subnet)
    second = port(net.id, "fa:16:3e:00:31:02", "10.0.31.58", subnet)
    web = guests.add(net.id, "10.0.31.57", "web")
    db = guests.add(net.id, "10.0.31.58", "db")
    g1 = lab.guest(h1, "g1", first, None)
    g2 = lab.guest(h1, "g2", second, None)
    state = HostNetworkState(networks=[net], ports=[first, second])
    h1.apply(state)
    h1.apply(state)  # a second apply keeps the running server

    routes = "169.254.169.254/32 10.0.31.2 0.0.0.0/0 10.0.31.1"
    assert configure_by_dhcp(g1, hook) == f"LEASE=10.0.31.57 ROUTES={routes} MS={routes}"
    assert configure_by_dhcp(g2, hook) == f"LEASE=10.0.31.58 ROUTES={routes} MS={routes}"
    assert "default via 10.0.31.1" in in_ns(g1.ns, "ip", "route").stdout
    for guest, inst in ((g1, web), (g2, db)):
        doc = meta_data(guest)
        assert doc is not None
        assert (doc["uuid"], doc["name"]) == (str(inst.uuid), inst.display_name)

    h1.apply(HostNetworkState())
    assert meta_data(g1) is None
    assert set(lab.namespaces()) == {lab.name("h1"), g1.ns, g2.ns}
