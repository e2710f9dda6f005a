"""The tiny test guest built by scripts/libvirt/setup.sh, and a cloud that boots it.

Shared by the integration tests and benchmarks/libvirt_boot.py.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import Any

import httpx

from common.settings import LibvirtSettings, Settings

IMAGE_DIR = Path(os.environ.get("KILONOVA_LIBVIRT_IMAGE_DIR",
                                "/var/cache/kilonova/libvirt-test-image"))
URI = "qemu:///system"
UP_MARKER = "KILONOVA-TEST-GUEST-UP"
READY_MARKER = "KILONOVA-TEST-GUEST-READY"
UUID_MARKER = "KILONOVA-INSTANCE-UUID="
SETUP_HINT = "run `bash scripts/libvirt/setup.sh` (as root) first"


def missing_prerequisites() -> list[str]:
    """What a real guest needs and this machine lacks, each named."""
    missing = []
    try:
        import libvirt
    except ImportError:
        return [f"Python module libvirt (pip install -e '.[libvirt]'); {SETUP_HINT}"]
    try:
        import pycdlib  # noqa: F401
    except ImportError:
        missing.append("Python module pycdlib")
    if shutil.which("qemu-img") is None:
        missing.append("qemu-img (Debian package qemu-utils)")
    if shutil.which("qemu-system-x86_64") is None:
        missing.append("qemu-system-x86_64 (Debian package qemu-system-x86)")
    for name in ("vmlinuz", "initrd.gz"):
        if not (IMAGE_DIR / name).is_file():
            missing.append(f"test guest file {IMAGE_DIR / name}")
    try:
        libvirt.open(URI).close()
    except libvirt.libvirtError as exc:
        missing.append(f"a running libvirtd at {URI} ({exc.get_error_message()})")
    if missing:
        missing.append(SETUP_HINT)
    return missing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def use_libvirt(settings: Settings, data_dir: Path, host: str = "lvhost", *, uri: str = URI,
                network: str | None = None) -> Settings:
    """Point ``settings`` (an embedded cloud's) at this machine's libvirtd with TCG guests,
    their interface (if any) plugged into the libvirt ``network``."""
    # The agent reads images from the embedded image API, so its port must be known.
    settings.api = settings.api.model_copy(update={"port": free_port()})
    settings.compute = settings.compute.model_copy(update={
        "driver": "libvirt", "host": host, "fake_hosts": 1})
    # virt_type qemu: guests hang in early boot under KVM on these machines.
    settings.libvirt = LibvirtSettings(
        uri=uri, virt_type="qemu", shutdown_timeout=3.0, network=network,
        instances_path=data_dir / "instances", image_cache_path=data_dir / "image-cache")
    return settings


def upload_test_image(http: httpx.Client, image_url: str) -> str:
    """Kernel, ramdisk and a 1 MiB root disk, AMI style; returns the root image id."""

    def upload(name: str, fmt: str, data: bytes, **props: str) -> str:
        body: dict[str, Any] = {"name": name, "disk_format": fmt, "container_format": fmt
                                if fmt in ("aki", "ari") else "bare", **props}
        resp = http.post(f"{image_url}/v2/images", json=body)
        resp.raise_for_status()
        image_id = str(resp.json()["id"])
        http.put(f"{image_url}/v2/images/{image_id}/file", content=data,
                 headers={"Content-Type": "application/octet-stream"}).raise_for_status()
        return image_id

    kernel = upload("test-kernel", "aki", (IMAGE_DIR / "vmlinuz").read_bytes())
    ramdisk = upload("test-ramdisk", "ari", (IMAGE_DIR / "initrd.gz").read_bytes())
    return upload("test-guest", "raw", b"\0" * (1 << 20), kernel_id=kernel,
                  ramdisk_id=ramdisk, os_command_line="console=ttyS0 quiet")


def destroy_guests_under(path: Path, uri: str = URI) -> None:
    """Remove every guest whose files live under ``path`` (a test's leftovers)."""
    import libvirt

    conn = libvirt.open(uri)
    try:
        for dom in conn.listAllDomains(0):
            if str(path) in dom.XMLDesc(0):
                if dom.isActive():
                    dom.destroy()
                try:
                    dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
                except libvirt.libvirtError:
                    dom.undefine()  # LXC knows no managed save (nor the flag)
    finally:
        conn.close()
