"""A real placement service over HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from common.db import upgrade
from common.settings import Settings, load_settings
from placement.app import create_app
from tests.dbutil import create_pg_database, drop_pg_database
from tests.httpserver import serve

DATABASES = ["sqlite", "postgresql"]
ADMIN = "admin:admin"
LATEST = "placement latest"


def placement_settings(data_dir: Path, url: str) -> Settings:
    return load_settings(data_dir=data_dir, database={"placement_url": url})


@pytest.fixture(scope="module", params=DATABASES)
def placement_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty placement database at head. PostgreSQL being down is a failure."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('placement') / 'placement.sqlite'}"
    else:
        url = create_pg_database("kn_placement")
    try:
        upgrade("placement", url)
        yield url
    finally:
        if request.param == "postgresql":
            drop_pg_database(url)


@pytest.fixture(scope="module")
def placement_url(placement_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = placement_settings(tmp_path_factory.mktemp("data"), placement_db)
    with serve(create_app(settings)) as base:
        yield base


@pytest.fixture
def api(placement_url: str) -> Iterator[httpx.Client]:
    """An admin client asking for the newest microversion by default."""
    with httpx.Client(
        base_url=placement_url,
        headers={"X-Auth-Token": ADMIN, "OpenStack-API-Version": LATEST},
        timeout=60,
    ) as client:
        yield client
