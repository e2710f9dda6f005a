#!/usr/bin/env bash
# Start the local PostgreSQL and RabbitMQ the tests use, if they are not running.
set -euo pipefail

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi
pg_isready -h 127.0.0.1 -p 5432 >/dev/null || { echo "PostgreSQL is not reachable" >&2; exit 1; }

if ! rabbitmqctl -q status >/dev/null 2>&1; then
    echo "starting RabbitMQ" >&2
    rabbitmq-server -detached
    sleep 2
fi
rabbitmqctl -q await_startup >/dev/null || { echo "RabbitMQ did not start" >&2; exit 1; }
