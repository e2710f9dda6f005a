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
# iproute2, nftables, dnsmasq and busybox for the network data plane tests (idempotent).
bash scripts/network/setup.sh

.venv/bin/ruff check .
.venv/bin/mypy
if [ "$#" -gt 0 ]; then
    exec .venv/bin/pytest -q "$@"
fi
# Unit, functional and end-to-end tests on four workers: they mostly wait on HTTP, the
# databases and the broker, so four keep the two cores busy. Then the integration tests
# alone, one at a time: real QEMU guests under TCG need the CPU, and starved, their
# libvirt connections time out (beside the multi-process stacks, they did).
# tests/conformance: upstream placement's gabbi files against ours, both backends.
# tests/integration/network (the data plane in throw-away namespaces, no guests) mostly
# waits on pings and timeouts: it runs with the first group, not alone.
.venv/bin/pytest -q -n 4 --dist loadfile --durations=10 tests/unit tests/functional tests/e2e \
    tests/conformance tests/integration/network
.venv/bin/pytest -q --durations=10 tests/integration --ignore=tests/integration/network
