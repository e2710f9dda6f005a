#!/usr/bin/env bash
# The whole test suite: lint, types, then every test against real PostgreSQL and RabbitMQ.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
bash scripts/services.sh

.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/pytest -q "$@"
