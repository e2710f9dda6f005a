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
# databases and the broker, so four keep the two cores busy.
# tests/conformance: upstream placement's gabbi files against ours, both backends.
# tests/integration/network (the data plane in throw-away namespaces, no guests) mostly
# waits on pings and timeouts: it runs with the first group, not alone.
.venv/bin/pytest -q -n 4 --dist loadfile --durations=10 tests/conformance tests/unit \
    tests/functional tests/e2e tests/integration/network
# Then the integration tests in two streams side by side, each one test at a time: the
# real QEMU guests (TCG, about one core) and the multi-process stacks with their outages
# (most of a core, much of it waiting on restarts and deadlines). More guests at once
# starve their libvirt connections into timeouts.
logs=$(mktemp -d)
.venv/bin/pytest -q -p no:cacheprovider --durations=5 tests/integration/libvirt \
    >"$logs/libvirt" 2>&1 &
guests=$!
.venv/bin/pytest -q -p no:cacheprovider --durations=5 tests/integration \
    --ignore=tests/integration/network --ignore=tests/integration/libvirt \
    >"$logs/stacks" 2>&1 &
stacks=$!
status=0
wait "$guests" || status=1
wait "$stacks" || status=1
echo "== tests/integration/libvirt"; cat "$logs/libvirt"
echo "== tests/integration (multi-process stacks)"; cat "$logs/stacks"
rm -rf "$logs"
exit "$status"
