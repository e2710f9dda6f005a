"""The compute end-to-end fixtures: a builtin-auth cloud and the real ``openstack`` CLI."""

from __future__ import annotations

from tests.e2e.compute.conftest import builtin_cloud, clouds_yaml, conn, osc

__all__ = ["builtin_cloud", "clouds_yaml", "conn", "osc"]
