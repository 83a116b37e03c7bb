"""Settings: MAIDCORE_* env over maidcore.toml over defaults; `maidcore config` masks secrets and URL passwords."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from maidcore.cli import make_cli
from maidcore.settings import MASK, Settings, load_settings, mask_url


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    import os

    for key in list(os.environ):
        if key.startswith("MAIDCORE_") and key != "MAIDCORE_LOAD_EXTENSIONS":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray ./maidcore.toml
    return monkeypatch


def test_defaults_choose_the_default_layers(clean_env):
    settings = Settings()
    assert (settings.event_source, settings.sandbox_backend, settings.storage_backend, settings.rate_limiter) == (
        "discord",
        "docker",
        "sqlmodel",
        "limits",
    )
    assert settings.data_dir.name == "maidcore"


def test_env_vars_and_nested_sections(clean_env, tmp_path):
    clean_env.setenv("MAIDCORE_DATA_DIR", str(tmp_path / "data"))
    clean_env.setenv("MAIDCORE_SANDBOX_BACKEND", "process")
    clean_env.setenv("MAIDCORE_DOCKER__MEMORY", "128m")
    clean_env.setenv("MAIDCORE_RUNNER__MAX_IN_FLIGHT", "8")
    settings = load_settings()
    assert settings.data_dir == tmp_path / "data"
    assert settings.sandbox_backend == "process"
    assert settings.docker.memory == "128m"
    assert settings.runner.max_in_flight == 8


def test_toml_file_and_env_precedence(clean_env, tmp_path):
    config = tmp_path / "custom.toml"
    config.write_text('rate_limiter = "from_toml"\nstorage_backend = "from_toml"\n[limits]\nevents_per_second = 7\n')
    clean_env.setenv("MAIDCORE_CONFIG", str(config))
    clean_env.setenv("MAIDCORE_STORAGE_BACKEND", "from_env")
    settings = load_settings()
    assert settings.rate_limiter == "from_toml"
    assert settings.storage_backend == "from_env"  # env wins over the file
    assert settings.limits.events_per_second == 7


def test_maidcore_toml_in_working_directory_is_read(clean_env, tmp_path):
    (tmp_path / "maidcore.toml").write_text('event_source = "replay_file"\n')
    assert Settings().event_source == "replay_file"


def test_unknown_setting_is_rejected(clean_env, tmp_path):
    (tmp_path / "maidcore.toml").write_text('sandbox_backnd = "process"\n')
    result = CliRunner().invoke(make_cli(), ["config"])
    assert result.exit_code == 1
    assert "sandbox_backnd" in result.output and "invalid settings" in result.output


def test_mask_url():
    assert mask_url("postgresql://maidcore:hunter2@db:5432/x") == f"postgresql://maidcore:{MASK}@db:5432/x"
    assert mask_url("redis://:s3cret@127.0.0.1:6379/0") == f"redis://:{MASK}@127.0.0.1:6379/0"
    assert mask_url("postgresql://maidcore@db/x") == "postgresql://maidcore@db/x"
    assert mask_url("memory://") == "memory://"


def test_masked_hides_every_secret(clean_env):
    settings = load_settings(
        None,
        discord={"token": "bot-token-value"},
        storage={
            "database_url": "postgresql://u:dbpass@h/db",
            "secrets_key": "a2V5",
            "ephemeral_url": "redis://:rpass@h",
        },
        limits={"storage_uri": "redis://:limitpass@h:6379"},
    )
    text = json.dumps(settings.masked())
    for secret in ("bot-token-value", "dbpass", "a2V5", "rpass", "limitpass"):
        assert secret not in text
    assert settings.masked()["discord"]["token"] == MASK


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_config_command_prints_effective_settings_masked(clean_env, tmp_path, fmt):
    clean_env.setenv("MAIDCORE_DISCORD__TOKEN", "real-bot-token")
    clean_env.setenv("MAIDCORE_STORAGE__DATABASE_URL", "postgresql://maidcore:pgpass@127.0.0.1/maidcore")
    clean_env.setenv("MAIDCORE_SANDBOX_BACKEND", "process")
    result = CliRunner().invoke(make_cli(), ["--data-dir", str(tmp_path / "d"), "config", "--format", fmt])
    assert result.exit_code == 0, result.output
    assert "real-bot-token" not in result.output and "pgpass" not in result.output
    data = json.loads(result.output) if fmt == "json" else tomllib.loads(result.output)
    assert data["sandbox_backend"] == "process"
    assert data["discord"]["token"] == MASK
    assert data["storage"]["database_url"] == f"postgresql://maidcore:{MASK}@127.0.0.1/maidcore"
    assert Path(data["data_dir"]) == tmp_path / "d"


def _without_none(data):
    if isinstance(data, dict):
        return {k: _without_none(v) for k, v in data.items() if v is not None}
    return data


def test_config_toml_round_trips_nested_tables(clean_env, tmp_path):
    clean_env.setenv("MAIDCORE_DOCKER__LABELS", '{"team": "ops", "a.b": "c"}')
    args = ["--data-dir", str(tmp_path), "config"]
    data = tomllib.loads(CliRunner().invoke(make_cli(), args).output)
    assert data["docker"]["labels"] == {"team": "ops", "a.b": "c"}
    assert isinstance(data["docker"]["runtime_env"], dict)
    as_json = json.loads(CliRunner().invoke(make_cli(), [*args, "--format", "json"]).output)
    assert data == _without_none(as_json)  # TOML has no null: unset values are comments


def test_invalid_settings_name_the_field_and_never_echo_a_secret(clean_env, tmp_path):
    (tmp_path / "maidcore.toml").write_text('[discord]\ntoken = 123456789\n[runner]\nmax_in_flight = "lots"\n')
    result = CliRunner().invoke(make_cli(), ["config"])
    assert result.exit_code == 1
    assert "runner.max_in_flight: Input should be a valid integer" in result.output and "(got 'lots')" in result.output
    assert "discord.token: " in result.output and "123456789" not in result.output
