"""The message broker and the database go away in a burst of boots (multi-process stack
on a private RabbitMQ node and PostgreSQL databases owned by a role of their own).

Each outage ends, within two minutes of clearing, with every server ACTIVE, none in a
transient state, placement holding exactly what they use, and no 5xx answer but 503.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from benchmarks.stack import ProcessStack
from tests.functional.test_database_outage import Outage
from tests.integration.chaos import (
    ChaosClient,
    assert_converged,
    boot_burst,
    chaos_env,
    delete_all,
    settle,
)
from tests.rabbitutil import PrivateBroker, private_broker

# A multi-process stack takes long to start on a loaded 2-core machine.
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def outages(tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[ProcessStack, PrivateBroker, Outage]]:
    workdir = tmp_path_factory.mktemp("outages")
    outage = Outage()
    try:
        with private_broker() as broker:
            stack = ProcessStack(workdir, outage.url(0), outage.url(1), broker.url,
                                 computes=1, fake_hosts_per_compute=4,
                                 service_down_time=8.0, extra_env=chaos_env(str(workdir)))
            try:
                stack.start(timeout=180)
                yield stack, broker, outage
            finally:
                stack.stop()
    finally:
        outage.drop()


@pytest.fixture(scope="module")
def boot_args(outages: tuple[ProcessStack, PrivateBroker, Outage]) -> tuple[str, str]:
    admin = ChaosClient(outages[0])
    try:
        resp = admin.compute("PUT", "/os-quota-sets/admin", json={"quota_set": {
            "instances": -1, "cores": -1, "ram": -1}})
        assert resp.status_code == 200, resp.text
        return admin.create_flavor("chaos", ram=256, vcpus=1, disk=1), admin.create_image()
    finally:
        admin.close()


def test_a_broker_outage_in_a_burst_of_boots_loses_no_build(
        outages: tuple[ProcessStack, PrivateBroker, Outage],
        boot_args: tuple[str, str]) -> None:
    stack, broker, _ = outages
    client = ChaosClient(stack)

    def outage() -> None:
        broker.stop()
        time.sleep(10)
        broker.start()

    try:
        ids = boot_burst(client, *boot_args, 50, fault=outage, after=10)
        servers = settle(client, ids)
        assert_converged(client, servers)
        delete_all(client, ids)
    finally:
        client.close()


def test_postgresql_refusing_connections_in_a_burst_loses_no_build(
        outages: tuple[ProcessStack, PrivateBroker, Outage],
        boot_args: tuple[str, str]) -> None:
    stack, _, database = outages
    client = ChaosClient(stack)

    def outage() -> None:
        database.begin()
        time.sleep(8)
        database.end()

    try:
        ids = boot_burst(client, *boot_args, 30, fault=outage, after=10)
        servers = settle(client, ids)
        assert_converged(client, servers)
        delete_all(client, ids)
    finally:
        client.close()
