"""Settings and load_settings: defaults, YAML file, environment overrides, and errors that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from redprop.config import (
    CONFIG_FILE_ENV,
    DEFAULT_METRICS_PORTS,
    SETTINGS_CONFIG_KEY,
    Settings,
    load_settings,
    settings_from_config,
)
from redprop.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No REDPROP_* variable of the calling shell, and a working directory without redprop.yaml."""
    import os

    for name in list(os.environ):
        if name.upper().startswith("REDPROP_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def config_error(*args, **kwargs) -> str:
    with pytest.raises(ConfigError) as err:
        load_settings(*args, **kwargs)
    return str(err.value)


# -- defaults ------------------------------------------------------------------------------------


def test_defaults_work_with_no_file_and_no_environment(tmp_path):
    settings = load_settings()
    assert settings.district == "990001"
    assert settings.amqp_uri == "amqp://guest:guest@127.0.0.1:5672/%2F"
    assert settings.services == {}
    assert settings.service("registry").max_workers == 10
    assert settings.service("registry").enabled is True
    assert settings.messaging.rpc_timeout == 10.0
    # The embedded default database: a SQLite file per service under data_dir/<district>/.
    expected = (tmp_path / "var" / "990001" / "registry.sqlite3").resolve()
    assert settings.database_url("registry") == f"sqlite:///{expected}"
    assert settings.metrics_port("registry") == DEFAULT_METRICS_PORTS["registry"]
    assert settings.metrics_port("not-a-first-party-service") == 0


def test_an_empty_file_means_defaults(tmp_path):
    settings = load_settings(write(tmp_path / "empty.yaml", ""))
    assert settings == Settings()


def test_redprop_yaml_in_the_working_directory_is_read_by_default(tmp_path):
    write(tmp_path / "redprop.yaml", "district: '310117'\n")
    assert load_settings().district == "310117"


def test_redprop_config_names_the_file(tmp_path, monkeypatch):
    write(tmp_path / "redprop.yaml", "district: '310117'\n")
    other = write(tmp_path / "other.yaml", "district: '620981'\n")
    monkeypatch.setenv(CONFIG_FILE_ENV, str(other))
    assert load_settings().district == "620981"


# -- file and environment -------------------------------------------------------------------------


YAML = """\
district: "620981"
district_name: 玉门市
amqp_uri: amqp://redprop:secret@rabbit:5672/%2F
services:
  registry:
    max_workers: 5
    database_url: postgresql://postgres@db/registry
    metrics_port: 0
messaging:
  rpc_timeout: 3
plugins:
  registry.locator: nearest_building
"""


def test_yaml_file_values_are_used(tmp_path):
    settings = load_settings(write(tmp_path / "redprop.yaml", YAML))
    assert settings.district == "620981"
    assert settings.district_name == "玉门市"
    assert settings.service("registry").max_workers == 5
    assert settings.database_url("registry") == "postgresql://postgres@db/registry"
    assert settings.metrics_port("registry") == 0  # 0 turns /metrics off, it is not "the default"
    assert settings.messaging.rpc_timeout == 3.0
    assert settings.messaging.retry_delay == 2.0  # not in the file: default
    assert settings.plugin_choice("registry.locator", "other") == "nearest_building"
    assert settings.plugin_choice("registry.unknown_point", "fallback") == "fallback"


def test_environment_beats_the_file_and_nested_names_use_double_underscores(tmp_path, monkeypatch):
    path = write(tmp_path / "redprop.yaml", YAML)
    monkeypatch.setenv("REDPROP_SERVICES__REGISTRY__MAX_WORKERS", "20")
    monkeypatch.setenv("REDPROP_MESSAGING__RETRY_DELAY", "0.5")
    monkeypatch.setenv("REDPROP_DISTRICT", "310117")
    settings = load_settings(path)
    assert settings.service("registry").max_workers == 20
    assert settings.messaging.retry_delay == 0.5
    assert settings.district == "310117"
    # An override of one nested value keeps the file's other values beside it.
    assert settings.database_url("registry") == "postgresql://postgres@db/registry"
    assert settings.messaging.rpc_timeout == 3.0


def test_environment_alone_configures_a_service(monkeypatch):
    monkeypatch.setenv("REDPROP_SERVICES__REGISTRY__ENABLED", "false")
    monkeypatch.setenv("REDPROP_AMQP_URI", "amqps://u:p@broker:5671/prod")
    settings = load_settings()
    assert settings.service("registry").enabled is False
    assert settings.amqp_uri == "amqps://u:p@broker:5671/prod"


def test_environment_names_are_case_insensitive(monkeypatch):
    monkeypatch.setenv("redprop_district", "310117")
    assert load_settings().district == "310117"


def test_unrelated_redprop_variables_are_not_settings(monkeypatch):
    # The test plugin's own variables share the prefix; they must not count as unknown settings.
    monkeypatch.setenv("REDPROP_TEST_AMQP_URI", "amqp://elsewhere/")
    assert load_settings().amqp_uri == Settings().amqp_uri


def test_keyword_overrides_beat_the_file(tmp_path):
    settings = load_settings(write(tmp_path / "redprop.yaml", YAML), district="110101")
    assert settings.district == "110101"
    assert settings.service("registry").max_workers == 5


# -- derived values ------------------------------------------------------------------------------


def test_with_vhost_and_redacted_uri():
    settings = Settings(amqp_uri="amqp://redprop:s3cret@rabbit:5672/%2F")
    moved = settings.with_vhost("tenant/a")
    assert moved.amqp_uri == "amqp://redprop:s3cret@rabbit:5672/tenant%2Fa"
    assert settings.amqp_uri.endswith("/%2F")  # the original is unchanged
    assert settings.redacted_amqp_uri() == "amqp://redprop:***@rabbit:5672/%2F"
    assert "s3cret" not in moved.redacted_amqp_uri()
    assert Settings(amqp_uri="amqp://rabbit/").redacted_amqp_uri() == "amqp://rabbit/"


def test_nameko_config_carries_the_typed_settings():
    settings = Settings(services={"registry": {"max_workers": 7}})
    config = settings.nameko_config("registry")
    assert config["AMQP_URI"] == settings.amqp_uri
    assert config["max_workers"] == 7
    assert config["serializer"] == "json"
    assert settings_from_config(config) is settings
    # A plain nameko config (no typed settings) is completed from the environment and defaults.
    plain = {"AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/other"}
    rebuilt = settings_from_config(plain)
    assert rebuilt.amqp_uri == plain["AMQP_URI"]
    assert plain[SETTINGS_CONFIG_KEY] is rebuilt


# -- errors name the setting ---------------------------------------------------------------------


@pytest.mark.parametrize("yaml_text, setting, env", [
    ("district: '12345a'\n", "district", "REDPROP_DISTRICT"),
    ("district: 990001\n", "district", "REDPROP_DISTRICT"),  # a YAML number is not a code
    ("amqp_uri: http://rabbit:15672/\n", "amqp_uri", "REDPROP_AMQP_URI"),
    ("services:\n  registry:\n    max_workers: 0\n", "services.registry.max_workers",
     "REDPROP_SERVICES__REGISTRY__MAX_WORKERS"),
    ("services:\n  registry:\n    database_url: mysql://db/registry\n", "services.registry.database_url",
     "REDPROP_SERVICES__REGISTRY__DATABASE_URL"),
    ("services:\n  registry:\n    metrics_port: 70000\n", "services.registry.metrics_port",
     "REDPROP_SERVICES__REGISTRY__METRICS_PORT"),
    ("messaging:\n  rpc_timeout: 0\n", "messaging.rpc_timeout", "REDPROP_MESSAGING__RPC_TIMEOUT"),
    ("log_level: LOUD\n", "log_level", "REDPROP_LOG_LEVEL"),
    ("colour: red\n", "colour", "REDPROP_COLOUR"),
    ("services:\n  registry:\n    max_worker: 3\n", "services.registry.max_worker",
     "REDPROP_SERVICES__REGISTRY__MAX_WORKER"),
    ("messaging:\n  retries: 3\n", "messaging.retries", "REDPROP_MESSAGING__RETRIES"),
])
def test_a_wrong_value_in_the_file_names_the_setting_and_its_variable(tmp_path, yaml_text, setting, env):
    path = write(tmp_path / "redprop.yaml", yaml_text)
    message = config_error(path)
    assert f"setting '{setting}'" in message
    assert f"(env {env})" in message
    assert str(path.name) in message


def test_a_wrong_value_from_the_environment_names_the_setting(monkeypatch):
    monkeypatch.setenv("REDPROP_SERVICES__REGISTRY__MAX_WORKERS", "0")
    message = config_error()
    assert "services.registry.max_workers" in message
    assert "REDPROP_SERVICES__REGISTRY__MAX_WORKERS" in message
    assert "greater than or equal to 1" in message


def test_an_unknown_nested_variable_is_an_error(monkeypatch):
    monkeypatch.setenv("REDPROP_SERVICES__REGISTRY__COLOUR", "red")
    assert "services.registry.colour" in config_error()


def test_every_wrong_setting_is_listed_not_just_the_first(tmp_path):
    path = write(tmp_path / "redprop.yaml", "district: x\nmessaging:\n  heartbeat: -1\n")
    message = config_error(path)
    assert "setting 'district'" in message
    assert "setting 'messaging.heartbeat'" in message


def test_invalid_yaml_is_a_config_error(tmp_path):
    path = write(tmp_path / "redprop.yaml", "services:\n  registry: [unclosed\n")
    message = config_error(path)
    assert "not valid YAML" in message
    assert "redprop.yaml" in message


@pytest.mark.parametrize("text", ["- district: '990001'\n", "just a string\n", "42\n"])
def test_a_file_that_is_not_a_mapping_is_a_config_error(tmp_path, text):
    message = config_error(write(tmp_path / "redprop.yaml", text))
    assert "must hold a mapping" in message


def test_a_missing_explicit_file_is_a_config_error(tmp_path):
    message = config_error(tmp_path / "nope.yaml")
    assert "nope.yaml" in message
    assert "does not exist" in message


def test_a_missing_file_named_by_redprop_config_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_FILE_ENV, str(tmp_path / "gone.yaml"))
    assert "gone.yaml" in config_error()


def test_a_directory_is_not_a_config_file(tmp_path):
    (tmp_path / "conf.d").mkdir()
    assert "does not exist" in config_error(tmp_path / "conf.d")
