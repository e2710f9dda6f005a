"""[messaging] sizes reach oslo.messaging: the sending pool and the RPC servers' threads."""

from __future__ import annotations

from common.rpc import messaging_from
from common.settings import MessagingSettings


def test_pool_and_executor_sizes_come_from_settings() -> None:
    cfg = MessagingSettings(rpc_conn_pool_size=7, executor_thread_pool_size=9)
    messaging = messaging_from(cfg)
    try:
        driver = messaging.transport._driver
        assert driver._connection_pool._max_size == 7
        assert messaging.conf.executor_thread_pool_size == 9
        server = messaging.server("t", "h", [])
        assert server.conf.executor_thread_pool_size == 9
    finally:
        messaging.close()
