"""Configuration: TOML file, environment overrides, clear errors naming the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from common.errors import ConfigError
from common.settings import load_settings, render_sample


def test_toml_file_is_read(tmp_path: Path) -> None:
    cfg = tmp_path / "k.toml"
    cfg.write_text('[api]\nport = 9999\n[compute]\nfake_hosts = 3\n')
    settings = load_settings(cfg)
    assert settings.api.port == 9999
    assert settings.compute.fake_hosts == 3


def test_environment_overrides_the_file(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "k.toml"
    cfg.write_text('[api]\nport = 9999\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("KILONOVA_API__PORT", "7777")
    settings = load_settings(cfg)
    assert settings.api.port == 7777
    assert settings.api.host == "0.0.0.0"


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "k.toml"
    cfg.write_text('[scheduler]\nmax_attempts = 5\n')
    monkeypatch.setenv("KILONOVA_CONFIG", str(cfg))
    assert load_settings().scheduler.max_attempts == 5


@pytest.mark.parametrize(("text", "named"), [
    ('[database]\ncompute_ulr = "x"\n', "database.compute_ulr"),
    ('[api]\nport = "abc"\n', "api.port"),
    ('[compute]\ndriver = "xen"\n', "compute.driver"),
    ('[nonsense]\nx = 1\n', "nonsense"),
    ('[scheduler]\nmax_attempts = 0\n', "scheduler.max_attempts"),
])
def test_bad_keys_are_named(tmp_path: Path, text: str, named: str) -> None:
    cfg = tmp_path / "k.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(named)):
        load_settings(cfg)


def test_broken_toml_is_reported(tmp_path: Path) -> None:
    cfg = tmp_path / "k.toml"
    cfg.write_text("[api\n")
    with pytest.raises(ConfigError, match=r"k\.toml"):
        load_settings(cfg)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "absent.toml")


def test_sample_is_valid_toml_that_loads(tmp_path: Path) -> None:
    cfg = tmp_path / "sample.toml"
    cfg.write_text(render_sample())
    settings = load_settings(cfg)
    assert settings.messaging.transport_url == "kombu+memory:////"
    assert "[compute]" in render_sample()
    assert "# fake_hosts = 1" in render_sample()


def test_deployed_sample_is_the_generated_one() -> None:
    deployed = Path(__file__).resolve().parents[2] / "deploy" / "kilonova.toml.sample"
    assert deployed.read_text() == render_sample(), "run: kilonova config sample > " \
        "deploy/kilonova.toml.sample"
