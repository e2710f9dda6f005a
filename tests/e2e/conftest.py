"""What every end-to-end test shares: one ``openstack`` CLI zygote per test process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.osc_zygote import OscZygote


@pytest.fixture(scope="session")
def osc_zygote() -> Iterator[OscZygote]:
    zygote = OscZygote()
    try:
        yield zygote
    finally:
        zygote.close()
