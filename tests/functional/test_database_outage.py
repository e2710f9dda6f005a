"""PostgreSQL refusing connections: the APIs answer 503 with Retry-After, never 500,
write nothing, and recover by themselves when the database is back.

The outage is real: the cloud connects as a role of its own, whose connection limit is
set to 0 (what "too many connections" looks like to a client, SQLSTATE 53300) while its
existing connections are terminated.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from cli.embedded import EmbeddedCloud
from common.transient import is_transient
from tests.cloud import CloudClient
from tests.conftest import cloud_settings
from tests.dbutil import PG_ADMIN_URL


def _admin(sql: str) -> None:
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


class Outage:
    """A PostgreSQL role and two databases owned by it; the outage switch."""

    def __init__(self) -> None:
        self.role = f"kn_outage_{uuid.uuid4().hex[:8]}"
        self.names = [f"{self.role}_compute", f"{self.role}_placement"]
        _admin(f'CREATE ROLE "{self.role}" LOGIN')
        for name in self.names:
            _admin(f'CREATE DATABASE "{name}" OWNER "{self.role}"')

    def url(self, which: int) -> str:
        return f"postgresql+psycopg://{self.role}@127.0.0.1:5432/{self.names[which]}"

    def begin(self) -> None:
        _admin(f'ALTER ROLE "{self.role}" CONNECTION LIMIT 0')
        _admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
               f"WHERE usename = '{self.role}'")

    def end(self) -> None:
        _admin(f'ALTER ROLE "{self.role}" CONNECTION LIMIT -1')

    def drop(self) -> None:
        self.end()
        for name in self.names:
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin(f'DROP ROLE IF EXISTS "{self.role}"')


@pytest.fixture
def outage_cloud(tmp_path: Path) -> Iterator[tuple[EmbeddedCloud, Outage]]:
    outage = Outage()
    try:
        settings = cloud_settings(tmp_path, "sqlite-memory")
        settings.database = settings.database.model_copy(update={
            "compute_url": outage.url(0), "placement_url": outage.url(1),
            "pool_size": 2, "max_pool": 4, "pool_timeout": 2.0})
        cloud = EmbeddedCloud(settings).start()
        try:
            yield cloud, outage
        finally:
            outage.end()
            cloud.stop()
    finally:
        outage.drop()


def test_a_refused_connection_is_transient() -> None:
    engine = sa.create_engine("postgresql+psycopg://no_such_role_x@127.0.0.1:5432/postgres")
    with pytest.raises(sa.exc.OperationalError) as refused:
        engine.connect()
    engine.dispose()
    assert not is_transient(refused.value)  # an unknown role is no passing trouble
    assert not is_transient(ValueError("x"))


def test_database_outage_gives_503_then_recovers(
        outage_cloud: tuple[EmbeddedCloud, Outage]) -> None:
    cloud, outage = outage_cloud
    client = CloudClient(cloud.base_url)
    try:
        flavor = client.create_flavor("outage", ram=64)
        image = client.create_image("outage-img")
        before = client.compute("GET", "/servers").json()["servers"]
        outage.begin()
        listing = client.compute("GET", "/servers")
        assert listing.status_code == 503, listing.text
        assert listing.json()["serviceUnavailable"]["code"] == 503
        assert int(listing.headers["Retry-After"]) >= 1
        create = client.compute("POST", "/servers", json={"server": {
            "name": "during", "flavorRef": flavor, "imageRef": image, "networks": "none"}})
        assert create.status_code == 503, create.text
        placement = client.placement("GET", "/resource_providers")
        assert placement.status_code == 503, placement.text
        assert placement.json()["errors"][0]["status"] == 503
        assert int(placement.headers["Retry-After"]) >= 1
        images = client.http.get("/image/v2/images")
        assert images.status_code == 503, images.text
        outage.end()
        # Nothing was written during the outage; the cloud works again on its own.
        assert client.compute("GET", "/servers").json()["servers"] == before
        server = client.boot(flavor, image)
        assert client.wait_status(server, {"ACTIVE", "ERROR"})["status"] == "ACTIVE"
        assert client.compute("DELETE", f"/servers/{server}").status_code == 204
        client.wait_gone(server)
        assert httpx.get(f"{cloud.compute_url}/", timeout=30).status_code < 500
    finally:
        client.close()
