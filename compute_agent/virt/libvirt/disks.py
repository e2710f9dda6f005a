"""Per-instance disk files: qcow2 overlays on cached bases, ephemeral and swap disks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from common.errors import DriverError

GiB = 1024 ** 3


def qemu_img(*args: str) -> str:
    """Run qemu-img; its stderr becomes the DriverError message."""
    try:
        done = subprocess.run(["qemu-img", *args], capture_output=True, text=True,
                              check=False, timeout=600)
    except FileNotFoundError as exc:
        raise DriverError("qemu-img is not installed (Debian package qemu-utils)") from exc
    if done.returncode != 0:
        raise DriverError(f"qemu-img {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def virtual_size(path: Path, fmt: str) -> int:
    info = json.loads(qemu_img("info", "--output=json", "-f", fmt, str(path)))
    return int(info["virtual-size"])


def create_overlay(base: Path, base_fmt: str, dest: Path, size_gb: int) -> None:
    """A qcow2 overlay of ``base``, grown to ``size_gb`` when that is larger."""
    size = max(size_gb * GiB, virtual_size(base, base_fmt))
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", base_fmt, str(dest),
             str(size))


def create_blank(dest: Path, size_bytes: int) -> None:
    qemu_img("create", "-q", "-f", "qcow2", str(dest), str(size_bytes))


def resize(path: Path, size_gb: int) -> None:
    """Grow a disk to ``size_gb`` (never shrinks)."""
    if virtual_size(path, "qcow2") < size_gb * GiB:
        qemu_img("resize", "-q", "-f", "qcow2", str(path), f"{size_gb}G")


def rebase(path: Path, base: Path, base_fmt: str) -> None:
    """Put ``path`` on ``base`` as its backing file, keeping what the disk reads (what
    differs from ``base`` is written into ``path``)."""
    qemu_img("rebase", "-q", "-f", "qcow2", "-b", str(base), "-F", base_fmt, str(path))


def flatten(source: Path, dest: Path) -> None:
    """A standalone qcow2 copy of ``source`` and its backing chain."""
    qemu_img("convert", "-q", "-U", "-f", "qcow2", "-O", "qcow2", str(source), str(dest))


def image_format(disk_format: str | None) -> str:
    """The qemu format of an image API ``disk_format``."""
    if disk_format == "qcow2":
        return "qcow2"
    if disk_format in (None, "raw", "ami", "aki", "ari", "iso"):
        return "raw"
    raise DriverError(f"disk_format {disk_format} is not supported by the libvirt driver")
