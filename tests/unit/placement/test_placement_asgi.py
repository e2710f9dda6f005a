"""The worker entry point's collector settings."""

from __future__ import annotations

import gc

from placement.asgi import GC_THRESHOLD, tune_gc


def test_tune_gc_raises_threshold_and_freezes_startup_objects() -> None:
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == GC_THRESHOLD
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
