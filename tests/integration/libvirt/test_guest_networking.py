"""The built-in network data plane with real QEMU guests on two libvirt hosts.

Each host is a network namespace (``kngn-a``, ``kngn-b``) holding its own libvirtd (with
its own mount namespace, as in network.py) and the data plane its agent programs
(``[network] namespace``); the hosts' VTEPs are the two ends of a veth "underlay". Host A
also maps the physical network ``public`` to a veth whose other end is the "external"
namespace (``kngn-ext``). One cloud drives both hosts through the API, as
test_api_moves.py's ``two_hosts`` does.

Guests (test image version >= 4) get their address by DHCP with the routes of option
121, print their instance id read from http://169.254.169.254 and run their user data
when it is a script: the scripts below ping, listen on a TCP port and configure a
hot-plugged ``eth1``, reporting on the serial console the API returns.

The guests boot once for the module (TCG on a small machine: booting is most of the
time); the tests run in file order and the last one deletes everything and checks
nothing is left on either host.

Changes reach the hosts because they are pushed (``refresh_network``, after a network
API write, a host reporting ports wired or a guest destroyed): the agents' periodic
convergence is set far beyond the module's run (SYNC_INTERVAL), so a rule that takes
effect within 2 s, a peer's forwarding entry or a removed tap's rules came by a push.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.embedded import EmbeddedCloud
from cli.wiring import build_computes
from common.settings import NetworkSettings, Settings
from compute_agent.network import names
from compute_agent.network.runner import missing_tools
from tests.cloud import CloudClient
from tests.conftest import cloud_settings
from tests.integration.libvirt.guest import (
    IMAGE_DIR,
    SETUP_HINT,
    missing_prerequisites,
    upload_test_image,
    use_libvirt,
)
from tests.integration.libvirt.network import DHCP_FAILED_MARKER, IPV4_MARKER
from tests.integration.libvirt.test_real_guest import console

# The test image that routes by option 121, reads metadata and runs user data scripts.
GUEST_NETWORK_IMAGE_VERSION = 4
METADATA_UUID_MARKER = "KILONOVA-METADATA-UUID="
STATE_ROOT = Path(os.environ.get("KILONOVA_LIBVIRTD_GN_DIR", "/var/lib/kilonova/libvirtd-gn"))
PREFIX = "kngn"
HOST_A, HOST_B = "gn-a", "gn-b"
VTEP = {HOST_A: "192.0.2.1", HOST_B: "192.0.2.2"}
EXTERNAL_NS = f"{PREFIX}-ext"
EXTERNAL_ADDRESS = "203.0.113.1"
CIDR = "10.0.0.0/24"
RED_POOL = {"start": "10.0.0.2", "end": "10.0.0.99"}
BLUE_POOL = {"start": "10.0.0.200", "end": "10.0.0.250"}
# Guest C's port on the other network, which reuses the first one's addresses.
OTHER_ADDRESS = "10.0.0.200"
TCP_PORT = 8080
# Longer than the module runs: nothing here waits for a periodic sync.
SYNC_INTERVAL = 3600.0
# What may be on a host once its guests are gone: loopback, the underlay, the external leg.
HOST_LINKS = {"lo", "ul0", "ext0"}


def _run(*argv: str, check: bool = False, timeout: float = 60
         ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, check=False,
                          timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done


def in_ns(ns: str, *argv: str, timeout: float = 60, check: bool = False
          ) -> subprocess.CompletedProcess[str]:
    return _run("ip", "netns", "exec", ns, *argv, timeout=timeout, check=check)


def namespaces() -> list[str]:
    return [line.split()[0] for line in _run("ip", "netns", "list").stdout.splitlines()
            if line.split()]


@dataclass
class HostDaemon:
    """A libvirtd in the network namespace ``ns``, with its own mount namespace whose
    libvirt directories are bind mounts of directories under ``state``."""

    ns: str
    state: Path
    host_uuid: str

    @property
    def uri(self) -> str:
        return f"qemu+unix:///system?socket={self.state / 'run' / 'libvirt-sock'}"

    @property
    def pidfile(self) -> Path:
        return self.state / "libvirtd.pid"

    def answers(self) -> bool:
        return _run("virsh", "-c", self.uri, "version").returncode == 0

    def _prepare(self) -> None:
        for sub in ("run", "lib", "cache", "log", "etc"):
            (self.state / sub).mkdir(parents=True, exist_ok=True)
        etc = self.state / "etc"
        if (etc / "libvirtd.conf").exists():
            return
        shutil.copytree("/etc/libvirt", etc, dirs_exist_ok=True)
        # No libvirt network (nor its firewall rules) in the host: the data plane's only.
        shutil.rmtree(etc / "qemu" / "networks", ignore_errors=True)
        with (etc / "libvirtd.conf").open("a") as conf:
            conf.write(f'host_uuid = "{self.host_uuid}"\nunix_sock_dir = "/run/libvirt"\n')
        with (etc / "qemu.conf").open("a") as conf:
            conf.write('stdio_handler = "file"\n')  # no virtlogd in the namespace

    def start(self) -> None:
        """Start it in ``ns`` (made before). Raises RuntimeError."""
        self._prepare()
        self.pidfile.unlink(missing_ok=True)
        d = self.state
        script = (f"mount --bind '{d}/run' /run/libvirt && "
                  f"mount --bind '{d}/lib' /var/lib/libvirt && "
                  f"mount --bind '{d}/cache' /var/cache/libvirt && "
                  f"mount --bind '{d}/log' /var/log/libvirt && "
                  f"mount --bind '{d}/etc' /etc/libvirt && "
                  f"exec libvirtd -d -p '{self.pidfile}'")
        done = in_ns(self.ns, "unshare", "-m", "--propagation", "private", "sh", "-c", script)
        if done.returncode != 0:
            raise RuntimeError(f"libvirtd in namespace {self.ns} did not start: "
                               f"{done.stderr.strip()}")
        deadline = time.monotonic() + 60  # the first start probes QEMU (~15 s)
        while not self.answers():
            if time.monotonic() > deadline:
                raise RuntimeError(f"libvirtd in namespace {self.ns} does not answer on "
                                   f"{self.uri}; see {d / 'log'}")
            time.sleep(0.3)

    def destroy_guests(self) -> None:
        import libvirt

        if not self.answers():
            return
        conn = libvirt.open(self.uri)
        try:
            for dom in conn.listAllDomains(0):
                with contextlib.suppress(libvirt.libvirtError):
                    if dom.isActive():
                        dom.destroy()
                    dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
        finally:
            conn.close()

    def stop(self) -> None:
        """End the daemon (by its pid file) after its guests."""
        with contextlib.suppress(Exception):
            self.destroy_guests()
        try:
            pid = int(self.pidfile.read_text().strip())
            # A pid file outlives its daemon, and pids are reused: check it is ours.
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"libvirtd" not in cmdline or str(self.pidfile).encode() not in cmdline:
                return
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            return
        deadline = time.monotonic() + 15
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def remove_lab_namespaces() -> None:
    """End every process left in this test's namespaces (only this test starts any
    there), then remove the namespaces: the hosts', the external one and those the data
    planes made (named after their host's)."""
    ours = [ns for ns in namespaces() if ns.startswith(f"{PREFIX}-")]
    for ns in ours:
        for pid in _run("ip", "netns", "pids", ns).stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
    for ns in ours:
        _run("ip", "netns", "del", ns)


def missing() -> list[str]:
    found = missing_prerequisites()
    if os.geteuid() != 0:
        found.append("root (network namespaces)")
    found += [f"{tool} (Debian: iproute2, nftables, dnsmasq-base, procps)"
              for tool in missing_tools()]
    found += [f"{tool}" for tool in ("busybox", "python3", "unshare", "virsh", "libvirtd")
              if shutil.which(tool) is None]
    version = IMAGE_DIR / "image-version"
    have = version.read_text().strip() if version.is_file() else "none"
    if not have.isdigit() or int(have) < GUEST_NETWORK_IMAGE_VERSION:
        found.append(f"a test image that reads metadata and runs user data (image version "
                     f">= {GUEST_NETWORK_IMAGE_VERSION}, found {have} in {IMAGE_DIR}); "
                     f"{SETUP_HINT}")
    return found


class Neutron:
    """The cloud's network API (/networking/v2.0) as the admin."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=f"{base_url}/networking/v2.0",
                                 headers={"X-Auth-Token": "admin:admin"}, timeout=60)

    def close(self) -> None:
        self.http.close()

    def made(self, collection: str, singular: str, **attrs: Any) -> dict[str, Any]:
        resp = self.http.post(f"/{collection}", json={singular: attrs})
        assert resp.status_code == 201, resp.text
        item: dict[str, Any] = resp.json()[singular]
        return item

    def get(self, path: str) -> dict[str, Any]:
        resp = self.http.get(path)
        assert resp.status_code == 200, resp.text
        found: dict[str, Any] = resp.json()
        return found

    def put(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = self.http.put(path, json=body)
        assert resp.status_code == 200, resp.text
        found: dict[str, Any] = resp.json()
        return found

    def delete(self, path: str) -> None:
        resp = self.http.delete(path)
        assert resp.status_code == 204, resp.text


@dataclass
class Guest:
    name: str
    host: str
    port: dict[str, Any]
    server_id: str = ""

    @property
    def ip(self) -> str:
        return str(self.port["fixed_ips"][0]["ip_address"])


@dataclass
class Lab:
    cloud: EmbeddedCloud
    client: CloudClient
    neutron: Neutron
    daemons: dict[str, HostDaemon]
    state_dirs: dict[str, Path]
    red: dict[str, Any] = field(default_factory=dict)
    blue: dict[str, Any] = field(default_factory=dict)
    group: dict[str, Any] = field(default_factory=dict)
    guests: dict[str, Guest] = field(default_factory=dict)
    spare_port: dict[str, Any] = field(default_factory=dict)
    floating_ip: str = ""
    tokens: dict[str, str] = field(default_factory=dict)

    def console(self, name: str) -> str:
        return console(self.client, self.guests[name].server_id)

    def wait_console(self, name: str, pattern: str, timeout: float = 90) -> re.Match[str]:
        """The first match of ``pattern`` on the guest's console (waits for it)."""
        deadline = time.monotonic() + timeout
        while True:
            out = self.console(name)
            found = re.search(pattern, out)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not on {name}'s console:\n{out[-3000:]}")
            time.sleep(0.5)

    def dhcp_namespace(self, host: str, network: dict[str, Any]) -> str:
        return names.dhcp_namespace(network["id"], host_ns(host))


def host_ns(host: str) -> str:
    return f"{PREFIX}-{host[-1]}"


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.2) -> float:
    """Seconds until the first ``check()`` that held began (a failing probe may take its
    own timeout); raises AssertionError after ``timeout``."""
    start = time.monotonic()
    while True:
        began = time.monotonic()
        if check():
            return began - start
        if began - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(step)


def connects(ns: str, address: str, port: int, timeout: float = 0.5) -> bool:
    code = ("import socket,sys\n"
            f"s=socket.socket(); s.settimeout({timeout})\n"
            f"sys.exit(s.connect_ex(('{address}', {port})))\n")
    return in_ns(ns, "python3", "-c", code).returncode == 0


def pings(ns: str, address: str) -> bool:
    return in_ns(ns, "busybox", "ping", "-c", "1", "-W", "1", address).returncode == 0


def peer_script(token: str, peer: str) -> str:
    """Guest A's and B's user data: listen on TCP_PORT, ping the other one until it
    answers, then wait for a hot-plugged eth1 and configure it by DHCP."""
    return f"""#!/bin/sh
echo "KILONOVA-USER-DATA-TOKEN={token}"
nc -ll -p {TCP_PORT} -e /bin/true &
n=0
until ping -c 1 -W 1 {peer} >/dev/null 2>&1; do
    n=$((n + 1))
    [ $n -ge 120 ] && {{ echo "KILONOVA-PING-FAILED={peer}"; break; }}
    sleep 0.5
done
[ $n -lt 120 ] && echo "KILONOVA-PING-OK={peer}"
while [ ! -e /sys/class/net/eth1 ]; do sleep 0.5; done
echo "KILONOVA-HOTPLUG-MAC=$(cat /sys/class/net/eth1/address)"
ip link set eth1 up
udhcpc -i eth1 -n -q -t 20 -T 2 -s /bin/dhcp-event >/dev/null 2>&1 ||
    echo "KILONOVA-HOTPLUG-DHCP-FAILED"
"""


def outsider_script(token: str, targets: list[str]) -> str:
    """Guest C's user data: ping the other network's guests (and, as a control, its own
    network's DHCP server, where its route to the metadata address leads) again and
    again, printing each round's results."""
    probes = " ".join(targets)
    return f"""#!/bin/sh
echo "KILONOVA-USER-DATA-TOKEN={token}"
own=$(ip route | sed -n 's/^169.254.169.254 via \\([0-9.]*\\).*/\\1/p')
echo "KILONOVA-OWN-DHCP-SERVER=$own"
i=0
while [ $i -lt 300 ]; do
    i=$((i + 1))
    r=""
    for t in {probes} $own; do
        if ping -c 1 -W 1 $t >/dev/null 2>&1; then r="$r $t:yes"; else r="$r $t:no"; fi
    done
    echo "KILONOVA-PROBE=$r"
    sleep 1
done
"""


def user_data(script: str) -> str:
    return base64.b64encode(script.encode()).decode()


def _underlay() -> None:
    a, b = host_ns(HOST_A), host_ns(HOST_B)
    _run("ip", "-n", a, "link", "add", "ul0", "type", "veth", "peer", "name", "ul0",
         "netns", b, check=True)
    for ns, address in ((a, VTEP[HOST_A]), (b, VTEP[HOST_B])):
        _run("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "ul0", check=True)
        _run("ip", "-n", ns, "link", "set", "ul0", "up", check=True)
    # The "external" world behind host A's ext0 (physical network "public").
    _run("ip", "netns", "add", EXTERNAL_NS, check=True)
    _run("ip", "-n", EXTERNAL_NS, "link", "set", "lo", "up", check=True)
    _run("ip", "-n", a, "link", "add", "ext0", "type", "veth", "peer", "name", "eth0",
         "netns", EXTERNAL_NS, check=True)
    _run("ip", "-n", a, "link", "set", "ext0", "up", check=True)
    _run("ip", "-n", EXTERNAL_NS, "addr", "add", f"{EXTERNAL_ADDRESS}/24", "dev", "eth0",
         check=True)
    _run("ip", "-n", EXTERNAL_NS, "link", "set", "eth0", "up", check=True)


def host_settings(settings: Settings, host: str, uri: str, state_dir: Path,
                  instances: Path) -> Settings:
    physical = {"public": "ext0"} if host == HOST_A else {}
    return settings.model_copy(update={
        "compute": settings.compute.model_copy(update={"host": host}),
        "libvirt": settings.libvirt.model_copy(update={
            "uri": uri, "instances_path": instances,
            "image_cache_path": instances / "_base"}),
        "network": NetworkSettings(namespace=host_ns(host), local_ip=VTEP[host],
                                   state_dir=state_dir,
                                   physical_interface_mappings=physical)})


def make_networks(lab: Lab) -> None:
    api = lab.neutron
    lab.group = api.made("security-groups", "security_group", name="gn")
    api.made("security-group-rules", "security_group_rule", security_group_id=lab.group["id"],
             direction="ingress", ethertype="IPv4", protocol="icmp")
    groups = [lab.group["id"]]
    lab.red = api.made("networks", "network", name="gn-red")
    red_subnet = api.made("subnets", "subnet", network_id=lab.red["id"], cidr=CIDR,
                          ip_version=4, allocation_pools=[RED_POOL])
    # Another network with the same addresses: only isolation keeps C from A and B. Its
    # pool apart from the first one's, so that no address of it answers for A's or B's.
    lab.blue = api.made("networks", "network", name="gn-blue")
    blue_subnet = api.made("subnets", "subnet", network_id=lab.blue["id"], cidr=CIDR,
                           ip_version=4, allocation_pools=[BLUE_POOL])
    lab.guests = {
        "a": Guest("a", HOST_A, api.made("ports", "port", network_id=lab.red["id"],
                                         security_groups=groups)),
        "b": Guest("b", HOST_B, api.made("ports", "port", network_id=lab.red["id"],
                                         security_groups=groups)),
        "c": Guest("c", HOST_B, api.made(
            "ports", "port", network_id=lab.blue["id"], security_groups=groups,
            fixed_ips=[{"subnet_id": blue_subnet["id"], "ip_address": OTHER_ADDRESS}])),
    }
    lab.spare_port = api.made("ports", "port", network_id=lab.red["id"],
                              security_groups=groups)
    public = api.made("networks", "network", name="gn-public",
                      **{"router:external": True, "provider:network_type": "flat",
                         "provider:physical_network": "public"})
    api.made("subnets", "subnet", network_id=public["id"], cidr="203.0.113.0/24",
             ip_version=4, gateway_ip=EXTERNAL_ADDRESS, enable_dhcp=False)
    router = api.made("routers", "router", name="gn",
                      external_gateway_info={"network_id": public["id"]})
    api.put(f"/routers/{router['id']}/add_router_interface", {"subnet_id": red_subnet["id"]})
    fip = api.made("floatingips", "floatingip", floating_network_id=public["id"],
                   port_id=lab.guests["a"].port["id"])
    lab.floating_ip = str(fip["floating_ip_address"])


def boot_guests(lab: Lab) -> None:
    flavor = lab.client.create_flavor("gn-tiny", ram=128, vcpus=1, disk=1)
    image = upload_test_image(lab.client.http, lab.cloud.image_url)
    a, b, c = lab.guests["a"], lab.guests["b"], lab.guests["c"]
    scripts = {"a": peer_script(lab.tokens["a"], b.ip), "b": peer_script(lab.tokens["b"], a.ip),
               "c": outsider_script(lab.tokens["c"], [a.ip, b.ip])}
    for guest in (a, b, c):
        resp = lab.client.compute("POST", "/servers", json={"server": {
            "name": f"gn-{guest.name}", "flavorRef": flavor, "imageRef": image,
            "networks": [{"port": guest.port["id"]}],
            "availability_zone": f"nova:{guest.host}",
            "user_data": user_data(scripts[guest.name])}})
        assert resp.status_code == 202, resp.text
        guest.server_id = str(resp.json()["server"]["id"])
    for guest in (a, b, c):
        server = lab.client.wait_status(guest.server_id, {"ACTIVE", "ERROR"}, timeout=120)
        assert server["status"] == "ACTIVE", server.get("fault")
        assert server["OS-EXT-SRV-ATTR:host"] == guest.host


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lacking = missing()
    if lacking:
        # Fail, never skip: a green run must mean real guests' packets flowed.
        pytest.fail("the guest networking test needs: " + "; ".join(lacking), pytrace=False)
    tmp = tmp_path_factory.mktemp("guest-networking")
    daemons = {host: HostDaemon(host_ns(host), STATE_ROOT / host,
                                f"4b8c3c6e-2c1f-4e0b-9a51-7d6f0c1e2b1{i}")
               for i, host in enumerate((HOST_A, HOST_B))}
    state_dirs = {host: tmp / f"network-{host}" for host in daemons}
    cloud: EmbeddedCloud | None = None
    client: CloudClient | None = None
    neutron: Neutron | None = None
    try:
        # A run interrupted hard may have left its namespaces (and daemons in them).
        for daemon in daemons.values():
            daemon.stop()
        remove_lab_namespaces()
        for host in daemons:
            _run("ip", "netns", "add", host_ns(host), check=True)
            _run("ip", "-n", host_ns(host), "link", "set", "lo", "up", check=True)
        _underlay()
        for daemon in daemons.values():
            daemon.start()
        base = use_libvirt(cloud_settings(tmp, "sqlite-memory", sync_interval=SYNC_INTERVAL),
                           tmp, host=HOST_A)
        settings_a = host_settings(base, HOST_A, daemons[HOST_A].uri, state_dirs[HOST_A],
                                   tmp / "instances-a")
        settings_b = host_settings(base, HOST_B, daemons[HOST_B].uri, state_dirs[HOST_B],
                                   tmp / "instances-b")
        cloud = EmbeddedCloud(settings_a).start()
        assert cloud._messaging is not None
        agent_b = build_computes(settings_b, cloud._messaging, cloud.placement_url)
        cloud.services.append(agent_b)  # stopped before A's agent and the conductor
        agent_b.start()
        client = CloudClient(cloud.base_url)
        neutron = Neutron(cloud.base_url)
        made = Lab(cloud, client, neutron, daemons, state_dirs,
                   tokens={g: secrets.token_hex(8) for g in "abc"})
        make_networks(made)
        boot_guests(made)
        yield made
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    finally:
        if client is not None:
            # Deleting the guests through the API lets the agents take their networks
            # down (and stop their metadata servers: each destroy pushes a converge)
            # before they stop.
            with contextlib.suppress(Exception):
                if _delete_servers(client):
                    time.sleep(3.0)
        for api in (neutron, client):
            if api is not None:
                api.close()
        try:
            if cloud is not None:
                cloud.stop()
        finally:
            # Whatever happened above: no guest, daemon, server or namespace stays.
            for daemon in daemons.values():
                daemon.stop()
            _kill_dnsmasq(state_dirs.values())
            remove_lab_namespaces()


def _delete_servers(client: CloudClient) -> int:
    """Delete every server, wait until they are gone; how many there were."""
    servers = client.compute("GET", "/servers").json()["servers"]
    for server in servers:
        client.compute("DELETE", f"/servers/{server['id']}")
    for server in servers:
        client.wait_gone(server["id"], timeout=60)
    return len(servers)


def _kill_dnsmasq(state_dirs: Any) -> None:
    """dnsmasq servers the data planes started (their pid files are in state_dir)."""
    for state in state_dirs:
        for pid_file in Path(state).glob("dhcp/*/pid"):
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)


def test_dhcp_gives_the_api_address_and_metadata_the_instance_and_user_data(lab: Lab
                                                                          ) -> None:
    for name, guest in lab.guests.items():
        found = lab.wait_console(name, rf"{IPV4_MARKER}([0-9.]+)")
        assert found.group(1) == guest.ip, f"{name}: DHCP gave {found.group(1)}"
        out = lab.console(name)
        assert DHCP_FAILED_MARKER not in out
        # The port's address is the server's fixed address in the API too.
        addresses = lab.client.server(guest.server_id)["addresses"]
        assert [a["addr"] for net in addresses.values() for a in net
                if a["OS-EXT-IPS:type"] == "fixed"] == [guest.ip]
        found = lab.wait_console(name, rf"{METADATA_UUID_MARKER}(\S*)")
        assert found.group(1) == guest.server_id, f"{name}: metadata said {found.group(1)}"
        # The user data script came from http://169.254.169.254 and ran.
        lab.wait_console(name, f"KILONOVA-USER-DATA-TOKEN={lab.tokens[name]}")


def test_guests_of_one_network_on_two_hosts_ping_each_other(lab: Lab) -> None:
    a, b = lab.guests["a"], lab.guests["b"]
    assert a.host != b.host
    lab.wait_console("a", f"KILONOVA-PING-(OK|FAILED)={re.escape(b.ip)}")
    lab.wait_console("b", f"KILONOVA-PING-(OK|FAILED)={re.escape(a.ip)}")
    assert f"KILONOVA-PING-OK={b.ip}" in lab.console("a")
    assert f"KILONOVA-PING-OK={a.ip}" in lab.console("b")
    # The VXLAN device of each host sends the other guest's MAC to the other host.
    vni = lab.neutron.get(f"/networks/{lab.red['id']}")["network"]["provider:segmentation_id"]
    fdb = in_ns(host_ns(HOST_A), "bridge", "fdb", "show", "dev", names.vxlan(vni)).stdout
    assert f"{b.port['mac_address']} dst {VTEP[HOST_B]}" in fdb


def test_a_guest_of_another_network_reaches_neither(lab: Lab) -> None:
    a, b = lab.guests["a"], lab.guests["b"]
    # After A and B reached each other, C's next rounds of pings.
    lab.wait_console("a", f"KILONOVA-PING-OK={re.escape(b.ip)}")
    before = lab.console("c").count("KILONOVA-PROBE=")
    deadline = time.monotonic() + 60
    while (rounds := re.findall(r"KILONOVA-PROBE=(.*)", lab.console("c")))[before:][2:] == []:
        assert time.monotonic() < deadline, lab.console("c")[-3000:]
        time.sleep(1)
    # C's own network works: its DHCP server (where its metadata route leads) answers.
    own = lab.wait_console("c", r"KILONOVA-OWN-DHCP-SERVER=([0-9.]+)").group(1)
    for line in rounds[before:]:
        assert f"{a.ip}:no" in line and f"{b.ip}:no" in line, line
        assert f"{own}:yes" in line, line
    out = lab.console("c")
    assert f"{a.ip}:yes" not in out and f"{b.ip}:yes" not in out


def test_a_security_group_rule_opens_a_tcp_port_and_its_removal_closes_it(lab: Lab
                                                                         ) -> None:
    a = lab.guests["a"]
    # A vantage point on A's network: its DHCP namespace on A's host (not a guest port:
    # only A's ingress rules apply).
    ns = lab.dhcp_namespace(HOST_A, lab.red)
    wait_until(lambda: pings(ns, a.ip), timeout=30)
    assert not connects(ns, a.ip, TCP_PORT, timeout=1.5)
    rule = lab.neutron.made("security-group-rules", "security_group_rule",
                            security_group_id=lab.group["id"], direction="ingress",
                            ethertype="IPv4", protocol="tcp", port_range_min=TCP_PORT,
                            port_range_max=TCP_PORT)
    opened = wait_until(lambda: connects(ns, a.ip, TCP_PORT), timeout=10, step=0.05)
    lab.neutron.delete(f"/security-group-rules/{rule['id']}")
    closed = wait_until(lambda: not connects(ns, a.ip, TCP_PORT), timeout=10, step=0.05)
    print(f"TCP {TCP_PORT} opened after {opened:.2f} s, closed after {closed:.2f} s")
    assert opened < 2.0 and closed < 2.0, (opened, closed)
    assert not connects(ns, a.ip, TCP_PORT, timeout=1.5)


def test_the_floating_ip_reaches_the_guest_from_outside(lab: Lab) -> None:
    a = lab.guests["a"]
    wait_until(lambda: pings(EXTERNAL_NS, lab.floating_ip), timeout=30)
    # The guest answered as its floating IP; its fixed address stays unreachable outside.
    neighbours = in_ns(EXTERNAL_NS, "ip", "neigh", "show").stdout
    assert lab.floating_ip in neighbours
    assert not pings(EXTERNAL_NS, a.ip)


def test_a_hot_plugged_port_appears_in_the_guest(lab: Lab) -> None:
    b = lab.guests["b"]
    port = lab.spare_port
    resp = lab.client.compute("POST", f"/servers/{b.server_id}/os-interface", json={
        "interfaceAttachment": {"port_id": port["id"]}})
    assert resp.status_code == 200, resp.text
    found = lab.wait_console("b", r"KILONOVA-HOTPLUG-MAC=(\S+)", timeout=60)
    assert found.group(1).lower() == port["mac_address"].lower()
    found = lab.wait_console("b", r"KILONOVA-IPV4-eth1=([0-9.]+)|KILONOVA-HOTPLUG-DHCP-FAILED",
                             timeout=60)
    assert found.group(1) == port["fixed_ips"][0]["ip_address"], found.group(0)
    attached = lab.client.compute("GET", f"/servers/{b.server_id}/os-interface").json()
    assert port["id"] in [i["port_id"] for i in attached["interfaceAttachments"]]
    # On B's host: its tap in the network's bridge, behind chains of its own.
    tap = names.tap(port["id"])
    link = json.loads(in_ns(host_ns(HOST_B), "ip", "-j", "link", "show", tap,
                            check=True).stdout)
    assert link[0].get("master") == names.bridge(lab.red["id"]), link
    chains = in_ns(host_ns(HOST_B), "nft", "list", "chains", check=True).stdout
    assert f"egress-{tap}" in chains and f"ingress-{tap}" in chains, chains


def host_leftovers(lab: Lab, host: str) -> list[str]:
    """What the data plane of ``host`` still holds."""
    ns = host_ns(host)
    left = []
    links = json.loads(in_ns(ns, "ip", "-j", "link", "show", check=True).stdout)
    found = {entry["ifname"] for entry in links}
    assert "ul0" in found, f"{ns} lost its underlay: {sorted(found)}"
    if found - HOST_LINKS:
        left.append(f"links {sorted(found - HOST_LINKS)}")
    ruleset = json.loads(in_ns(ns, "nft", "-j", "list", "ruleset", check=True).stdout)
    items = ruleset.get("nftables", [])
    rules = [i["rule"] for i in items if "rule" in i]
    chains = [i["chain"]["name"] for i in items if "chain" in i
              and i["chain"]["name"].startswith(("spoof-", "egress-", "ingress-"))]
    if rules or chains:
        left.append(f"nft rules {rules} chains {chains}")
    own = [n for n in namespaces() if n.startswith(f"{ns}-")]
    if own:
        left.append(f"namespaces {own}")
    dhcp = lab.state_dirs[host] / "dhcp"
    if dhcp.exists() and any(dhcp.iterdir()):
        left.append(f"DHCP state (leases) {sorted(p.name for p in dhcp.iterdir())}")
    # The host's libvirtd stays; dnsmasq, QEMU and anything else must be gone.
    daemon = lab.daemons[host].pidfile.read_text().strip()
    others = [p for p in _run("ip", "netns", "pids", ns).stdout.split() if p != daemon]
    if others:
        comms = [Path(f"/proc/{p}/comm").read_text().strip() for p in others
                 if Path(f"/proc/{p}/comm").exists()]
        left.append(f"processes {comms}")
    # A dnsmasq outliving its namespace's name would not show above.
    servers = [pid for pid, cmdline in processes() if str(lab.state_dirs[host]) in cmdline]
    if servers:
        left.append(f"DHCP servers {servers}")
    return left


def processes() -> list[tuple[int, str]]:
    """(pid, command line) of every process."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                found.append((int(entry.name), (entry / "cmdline").read_bytes()
                              .replace(b"\0", b" ").decode(errors="replace")))
    return found


def test_deleting_the_guests_leaves_nothing_on_either_host(lab: Lab) -> None:
    taps = {host: [names.tap(g.port["id"]) for g in lab.guests.values() if g.host == host]
            for host in (HOST_A, HOST_B)}
    links_a = in_ns(host_ns(HOST_A), "ip", "-br", "link").stdout
    assert all(tap in links_a for tap in taps[HOST_A]), links_a
    _delete_servers(lab.client)
    deadline = time.monotonic() + 30
    while left := {h: found for h in (HOST_A, HOST_B) if (found := host_leftovers(lab, h))}:
        assert time.monotonic() < deadline, f"left on the hosts: {left}"
        time.sleep(0.5)
    assert not pings(EXTERNAL_NS, lab.floating_ip)
