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
.venv/bin/pytest -q "$@"
