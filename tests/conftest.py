"""Fixtures shared by the functional and integration tests."""

from __future__ import annotations

import atexit
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import futurist._thread
import pytest

from cli.embedded import EmbeddedCloud  # imports oslo.messaging, its warnings filtered
from common.settings import Settings, load_settings
from tests.cloud import CloudClient
from tests.dbutil import create_pg_database, drop_pg_database
from tests.rabbitutil import create_vhost, delete_vhost

# The gabbi summary lines, printed by the controlling process (see its docstring).
pytest_plugins = ["tests.conformance.placement.summary"]

# The test clouds run in the development auth mode, set explicitly (the default is
# builtin); tests of builtin and keystone auth switch their clouds over. Processes the
# tests start inherit it.
os.environ.setdefault("KILONOVA_AUTH__STRATEGY", "noauth")

# An RPC server's idle worker threads look whether they should stop once a second, and
# stopping a service waits for that look: every test cloud stops, half a minute of each
# test worker's run went to it. A fifth of a second costs an idle worker five wake-ups
# a second.
futurist._thread.ThreadWorker.MAX_IDLE_FOR = 0.2

# Backends a functional test runs against: the embedded default, and production's.
BACKENDS = ["sqlite-memory", "postgresql-rabbit"]


def pytest_collection_modifyitems(config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """Tests marked ``production_backend`` run on PostgreSQL + RabbitMQ only.

    They check the APIs' contract (schemas, microversions, error bodies, fuzzing), which
    the backend does not change; running them twice doubles their time and tests no more.
    Every other functional test runs on both backends.
    """
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        embedded = callspec is not None and "sqlite-memory" in callspec.params.values()
        if embedded and item.get_closest_marker("production_backend") is not None:
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def cloud_settings(data_dir: Path, backend: str, conductor: dict[str, object] | None = None,
                   **compute: object) -> Settings:
    settings = load_settings(
        data_dir=data_dir,
        api={"host": "127.0.0.1", "port": 0},
        service={"heartbeat_interval": 1.0, "service_down_time": 5.0},
        conductor={"sweep_interval": 1.0, **(conductor or {})},
        compute={"fake_hosts": 4, "host": "fake", "sync_interval": 2.0, **compute},
    )
    if backend == "postgresql-rabbit":
        settings.database = settings.database.model_copy(update={
            "compute_url": create_pg_database("kn_compute", migrated="compute"),
            "placement_url": create_pg_database("kn_placement", migrated="placement"),
        })
        # One virtual host per test process, a topic prefix per cloud (a vhost costs
        # seconds to make and drop); consumers notice a stop within 1 s.
        settings.messaging = settings.messaging.model_copy(update={
            "transport_url": shared_vhost(), "heartbeat_rate": 30,
            "topic_prefix": f"t{uuid.uuid4().hex[:10]}."})
    return settings


_SHARED_VHOST: dict[str, str] = {}


def shared_vhost() -> str:
    """This test process's RabbitMQ virtual host, made on first use, dropped at exit."""
    if "url" not in _SHARED_VHOST:
        _SHARED_VHOST["url"] = create_vhost("kn_shared")
        atexit.register(delete_vhost, _SHARED_VHOST["url"])
    return _SHARED_VHOST["url"]


def release_backends(settings: Settings) -> None:
    for url in (settings.database.compute_url, settings.database.placement_url):
        if url:
            drop_pg_database(url)
    url = settings.messaging.transport_url
    if url.startswith("rabbit") and url != _SHARED_VHOST.get("url"):
        delete_vhost(url)


@contextlib.contextmanager
def running_cloud(settings: Settings) -> Iterator[EmbeddedCloud]:
    """An embedded cloud for the block; its throw-away backends are dropped after."""
    running = EmbeddedCloud(settings).start()
    try:
        yield running
    finally:
        running.stop()
        release_backends(settings)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def cloud(tmp_path: Path, backend: str) -> Iterator[EmbeddedCloud]:
    with running_cloud(cloud_settings(tmp_path, backend)) as running:
        yield running


@pytest.fixture
def client(cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = CloudClient(cloud.base_url)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module", params=BACKENDS)
def shared_cloud(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCloud]:
    """One cloud for a whole module of tests that leave no state behind."""
    settings = cloud_settings(tmp_path_factory.mktemp("cloud"), str(request.param))
    with running_cloud(settings) as running:
        yield running


@pytest.fixture(scope="module")
def shared_client(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = CloudClient(shared_cloud.base_url)
    try:
        yield c
    finally:
        c.close()

