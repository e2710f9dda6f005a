"""A libvirtd inside its own network namespace, serving a NAT network with DHCP.

libvirt's NAT network is a bridge, a dnsmasq and firewall rules: all of them stay in the
namespace ``NETNS``, never in the host's. The daemon also has its own mount namespace
(its own /run/libvirt, /var/lib/libvirt, ... bind-mounted from ``STATE_DIR``), as the
second libvirtd of scripts/libvirt/second_libvirtd.sh has, so it shares nothing with the
host's libvirtd but the instance files, which agents in the host namespace reach by path
and the agent itself through the daemon's socket. It keeps running after the tests
(like the second libvirtd): the next run reuses it; ``stop()`` ends it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.integration.libvirt.guest import IMAGE_DIR, SETUP_HINT

NETNS = "kilonova-test-net"
STATE_DIR = Path(os.environ.get("KILONOVA_LIBVIRTD_NET_DIR", "/var/lib/kilonova/libvirtd-net"))
SOCK = STATE_DIR / "run" / "libvirt-sock"
PIDFILE = STATE_DIR / "libvirtd.pid"
URI = f"qemu+unix:///system?socket={SOCK}"
NETWORK = "kilonova-nat"
BRIDGE = "knbr0"
PREFIX = "192.168.150"
# The test image's version that loads virtio-net and runs udhcpc (scripts/libvirt/setup.sh).
NETWORK_IMAGE_VERSION = 3
IPV4_MARKER = "KILONOVA-IPV4="
DHCP_FAILED_MARKER = "KILONOVA-DHCP-FAILED"

NETWORK_XML = f"""<network>
  <name>{NETWORK}</name>
  <forward mode='nat'/>
  <bridge name='{BRIDGE}' stp='off' delay='0'/>
  <ip address='{PREFIX}.1' netmask='255.255.255.0'>
    <dhcp>
      <!-- Deleting a guest leaves its lease in dnsmasq: let the pool recycle soon. -->
      <range start='{PREFIX}.10' end='{PREFIX}.250'><lease expiry='10' unit='minutes'/></range>
    </dhcp>
  </ip>
</network>"""


def missing_prerequisites() -> list[str]:
    """What the networking test needs beyond a real guest, each named."""
    missing = []
    for tool, package in (("dnsmasq", "dnsmasq-base"), ("iptables", "iptables"),
                          ("ip", "iproute2"), ("unshare", "util-linux")):
        if shutil.which(tool) is None:
            missing.append(f"{tool} (Debian package {package})")
    version = IMAGE_DIR / "image-version"
    found = version.read_text().strip() if version.is_file() else "none"
    if not found.isdigit() or int(found) < NETWORK_IMAGE_VERSION:
        missing.append(f"a test image with the virtio-net module and udhcpc (image version "
                       f">= {NETWORK_IMAGE_VERSION}, found {found} in {IMAGE_DIR})")
    if missing:
        missing.append(SETUP_HINT)
    return missing


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def _answers() -> bool:
    return _run("virsh", "-c", URI, "version").returncode == 0


def start() -> str:
    """Start the namespaced libvirtd unless it runs; its URI. Raises RuntimeError."""
    if _answers():
        return URI
    if NETNS not in _run("ip", "netns", "list").stdout.split():
        done = _run("ip", "netns", "add", NETNS)
        if done.returncode != 0:
            raise RuntimeError(f"`ip netns add {NETNS}` failed: {done.stderr.strip()}")
    _run("ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up")
    _prepare_state_dir()
    PIDFILE.unlink(missing_ok=True)
    d = STATE_DIR
    script = (f"mount --bind '{d}/run' /run/libvirt && "
              f"mount --bind '{d}/lib' /var/lib/libvirt && "
              f"mount --bind '{d}/cache' /var/cache/libvirt && "
              f"mount --bind '{d}/log' /var/log/libvirt && "
              f"mount --bind '{d}/etc' /etc/libvirt && "
              f"exec libvirtd -d -p '{PIDFILE}'")
    done = _run("ip", "netns", "exec", NETNS, "unshare", "-m", "--propagation", "private",
                "sh", "-c", script)
    if done.returncode != 0:
        raise RuntimeError(f"libvirtd in namespace {NETNS} did not start: {done.stderr}")
    deadline = time.monotonic() + 60  # the first start probes QEMU (~15 s)
    while not _answers():
        if time.monotonic() > deadline:
            raise RuntimeError(f"libvirtd in namespace {NETNS} does not answer on {URI}; "
                               f"see {d / 'log'}")
        time.sleep(0.5)
    return URI


def _prepare_state_dir() -> None:
    for sub in ("run", "lib", "cache", "log", "etc"):
        (STATE_DIR / sub).mkdir(parents=True, exist_ok=True)
    etc = STATE_DIR / "etc"
    if (etc / "libvirtd.conf").exists():
        return
    shutil.copytree("/etc/libvirt", etc, dirs_exist_ok=True)
    # Not libvirt's default network: only ours runs in the namespace.
    shutil.rmtree(etc / "qemu" / "networks", ignore_errors=True)
    with (etc / "libvirtd.conf").open("a") as conf:
        conf.write('host_uuid = "4b8c3c6e-2c1f-4e0b-9a51-7d6f0c1e2b03"\n'
                   'unix_sock_dir = "/run/libvirt"\n')
    with (etc / "qemu.conf").open("a") as conf:
        # No virtlogd in the namespace: QEMU writes its logs itself.
        conf.write('stdio_handler = "file"\n')


def stop() -> None:
    """End the namespaced libvirtd (its guests' QEMUs and dnsmasq keep running)."""
    if not PIDFILE.is_file():
        return
    pid = int(PIDFILE.read_text().strip())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    while Path(f"/proc/{pid}").exists():
        time.sleep(0.2)


def nat_network(uri: str) -> str:
    """Define and start the NAT network with DHCP unless it runs; its name."""
    import libvirt

    conn = libvirt.open(uri)
    try:
        if NETWORK in [n.name() for n in conn.listAllNetworks(0)]:
            net = conn.networkLookupByName(NETWORK)
        else:
            net = conn.networkDefineXML(NETWORK_XML)
        if not net.isActive():
            try:
                net.create()
            except libvirt.libvirtError as exc:
                raise RuntimeError(f"network {NETWORK} did not start (bridge, dnsmasq and "
                                   f"iptables in namespace {NETNS}): "
                                   f"{exc.get_error_message()}") from exc
        return NETWORK
    finally:
        conn.close()


def netns_links() -> list[str]:
    """The names of the network interfaces inside ``NETNS``."""
    out = _run("ip", "netns", "exec", NETNS, "ip", "-o", "link", "show").stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()
            if line.count(":") >= 2]


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["stop"]:
        stop()
    else:
        print(nat_network(start()))
