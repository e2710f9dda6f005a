"""A snapshot asked for a class no provider holds answers nothing, windowed or not."""

from __future__ import annotations

from typing import Any

import pytest

from placement.candidates.snapshot import Snapshot


@pytest.mark.parametrize("window", [None, (0, 100)])
def test_a_class_without_inventory_has_no_providers(window: tuple[int, int] | None) -> None:
    names: Any = None  # not read by with_class
    snap = Snapshot(key=(None, None), rows={}, facts={}, names=names, roots=[1, 2],
                    by_class={0: [1, 2]}, by_class_roots={0: [1, 2]},
                    by_class_inventory={0: []})
    assert snap.with_class(14, window) == ([], [])
