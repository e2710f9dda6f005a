"""Upstream placement's gabbi files, read from the released wheel at test time.

The wheel's top-level package is also called ``placement``: installed, it would shadow
ours. So it is only downloaded (``pip download``, into a cache directory kept between
runs) and its YAML files are unpacked from the zip into a scratch directory; nothing of
it is imported and nothing of it is copied into the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REQUIREMENT = "openstack-placement==16.0.0"
WHEEL = "openstack_placement-16.0.0-py3-none-any.whl"
GABBITS = "placement/tests/functional/gabbits/"


def cache_dir() -> Path:
    configured = os.environ.get("KILONOVA_TEST_CACHE")
    base = Path(configured) if configured else Path.home() / ".cache" / "kilonova-tests"
    return base / "wheels"


def wheel_path() -> Path:
    """The wheel, downloaded on first use. Raises RuntimeError if pip cannot get it."""
    target = cache_dir()
    wheel = target / WHEEL
    if wheel.exists():
        return wheel
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--quiet", "--dest", str(target), REQUIREMENT],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0 or not wheel.exists():
        raise RuntimeError(f"pip download {REQUIREMENT} failed: {done.stderr[-2000:]}")
    return wheel


def unpack_gabbits(dest: Path) -> Path:
    """The wheel's gabbi YAML files, unpacked flat into ``dest``; returns ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel_path()) as wheel:
        for name in wheel.namelist():
            if name.startswith(GABBITS) and name.endswith(".yaml"):
                (dest / name[len(GABBITS):]).write_bytes(wheel.read(name))
    return dest
