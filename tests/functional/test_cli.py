"""The kilonova command: config sample, db upgrade, refusing an old schema."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from common.settings import render_sample

REPO = Path(__file__).resolve().parents[2]


def kilonova(*args: str, env: dict[str, str] | None = None, timeout: float = 60
             ) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=full_env,
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)


def _sqlite_env(tmp_path: Path) -> dict[str, str]:
    return {
        "KILONOVA_DATABASE__COMPUTE_URL": f"sqlite:///{tmp_path / 'c.sqlite'}",
        "KILONOVA_DATABASE__PLACEMENT_URL": f"sqlite:///{tmp_path / 'p.sqlite'}",
        "KILONOVA_PLACEMENT__URL": "http://127.0.0.1:9/placement",
        "KILONOVA_DATA_DIR": str(tmp_path),
    }


def test_config_sample_prints_every_section() -> None:
    result = kilonova("config", "sample")
    assert result.returncode == 0
    assert result.stdout == render_sample()


def test_services_refuse_a_database_that_is_behind(tmp_path: Path) -> None:
    env = _sqlite_env(tmp_path)
    result = kilonova("serve", "conductor", env=env)
    assert result.returncode == 2
    assert "compute database" in result.stderr
    assert "run `kilonova db upgrade`" in result.stderr


def test_db_upgrade_brings_both_databases_to_head(tmp_path: Path) -> None:
    env = _sqlite_env(tmp_path)
    result = kilonova("db", "upgrade", env=env)
    assert result.returncode == 0, result.stderr
    for name, table in (("c.sqlite", "instances"), ("p.sqlite", "resource_providers")):
        engine = sa.create_engine(f"sqlite:///{tmp_path / name}")
        assert table in sa.inspect(engine).get_table_names()
        engine.dispose()
    again = kilonova("db", "upgrade", env=env)
    assert again.returncode == 0


def test_a_bad_config_key_is_named(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[scheduler]\nmax_attempt = 3\n')
    result = kilonova("--config", str(cfg), "db", "upgrade")
    assert result.returncode == 2
    assert "scheduler.max_attempt" in result.stderr


def test_separate_services_need_a_placement_url(tmp_path: Path) -> None:
    env = {k: v for k, v in _sqlite_env(tmp_path).items() if "PLACEMENT__URL" not in k}
    assert kilonova("db", "upgrade", env=env).returncode == 0
    result = kilonova("serve", "scheduler", env=env)
    assert result.returncode == 2
    assert "placement.url" in result.stderr
