#!/usr/bin/env bash
# Start the local PostgreSQL and RabbitMQ the tests use, if they are not running.
set -euo pipefail

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi
pg_isready -h 127.0.0.1 -p 5432 >/dev/null || { echo "PostgreSQL is not reachable" >&2; exit 1; }

# `rabbitmqctl status` can crash on a healthy but loaded broker (formatted_watermark);
# check_running asks only whether the rabbit application runs.
if ! rabbitmq-diagnostics -q check_running >/dev/null 2>&1; then
    if rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
        # The node is up but its application was stopped (stop_app): start only that.
        echo "starting the RabbitMQ application" >&2
        rabbitmqctl -q start_app
    else
        echo "starting RabbitMQ" >&2
        rabbitmq-server -detached
        sleep 2
    fi
fi
rabbitmqctl -q await_startup >/dev/null || { echo "RabbitMQ did not start" >&2; exit 1; }
