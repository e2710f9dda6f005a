"""The migrations build exactly the schema the models declare, on both databases.

A column or index added to a model without its migration (or the reverse) would work
in tests that create tables from whichever side they use and fail on an upgraded cloud.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from common import db
from common.compute_db.models import ComputeBase
from placement.db.models import PlacementBase
from tests.dbutil import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def url_for(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    made: list[str] = []

    def make(which: str) -> str:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / which}.sqlite"
        else:
            url = create_pg_database("kn_drift")
            made.append(url)
        db.upgrade(which, url)
        return url

    try:
        yield make
    finally:
        for url in made:
            drop_pg_database(url)


@pytest.mark.parametrize("which,metadata", [("compute", ComputeBase.metadata),
                                            ("placement", PlacementBase.metadata)])
def test_migrated_schema_matches_the_models(url_for: Any, which: str, metadata: Any) -> None:
    engine = db.create_engine(url_for(which))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            diffs = [d for d in compare_metadata(context, metadata)
                     if not _alembic_own(d)]
    finally:
        engine.dispose()
    assert diffs == []


def _alembic_own(diff: Any) -> bool:
    """alembic's own bookkeeping table is not part of the models."""
    return bool(isinstance(diff, tuple) and diff[0] == "remove_table"
                and diff[1].name == "alembic_version")
