#!/usr/bin/env bash
# The whole test suite: lint, types, then every test against real PostgreSQL and RabbitMQ.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,e2e]'
bash scripts/services.sh
# libvirt, QEMU, the [libvirt] extra and a tiny test image (idempotent).
bash scripts/libvirt/setup.sh

.venv/bin/ruff check .
.venv/bin/mypy
# Two workers: most tests wait on HTTP, databases and guests; the real-guest tests
# (one libvirtd) stay together on one worker (tests/conftest.py).
.venv/bin/pytest -q -n 2 --dist loadgroup --durations=15 "$@"
