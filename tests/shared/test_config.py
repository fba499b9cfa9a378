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


# -- typos are refused, naming the nearest valid name ---------------------------------------------


@pytest.mark.parametrize("variable, suggestion", [
    ("REDPROP_DISTRIKT", "REDPROP_DISTRICT"),
    ("REDPROP_AMQP_URL", "REDPROP_AMQP_URI"),
    ("REDPROP_LOGLEVEL", "REDPROP_LOG_LEVEL"),
    ("REDPROP_SERVICS__REGISTRY__ENABLED", "REDPROP_SERVICES"),
])
def test_an_unknown_redprop_variable_is_an_error_naming_the_nearest_setting(monkeypatch, variable, suggestion):
    monkeypatch.setenv(variable, "310101")
    message = config_error()
    assert f"variable {variable}: no such setting" in message
    assert f"did you mean {suggestion!r}" in message


def test_an_unknown_variable_is_refused_even_when_the_file_is_fine(tmp_path, monkeypatch):
    path = write(tmp_path / "redprop.yaml", YAML)
    monkeypatch.setenv("REDPROP_DISTRIKT", "310101")
    assert "REDPROP_DISTRIKT" in config_error(path)


def test_the_config_file_and_tooling_variables_are_not_unknown_settings(tmp_path, monkeypatch):
    other = write(tmp_path / "other.yaml", "district: '620981'\n")
    monkeypatch.setenv("REDPROP_CONFIG", str(other))
    monkeypatch.setenv("REDPROP_TEST_POSTGRES_URL", "postgresql://elsewhere/")
    monkeypatch.setenv("REDPROP_BENCH_EVAL_EVENTS", "1000")
    assert load_settings().district == "620981"


def test_kubernetes_service_links_are_not_unknown_settings_but_look_alikes_are(monkeypatch):
    # What a pod gets for a Service named redprop-registry when enableServiceLinks is on.
    links = {
        "REDPROP_REGISTRY_SERVICE_HOST": "10.96.0.12", "REDPROP_REGISTRY_SERVICE_PORT": "9101",
        "REDPROP_REGISTRY_SERVICE_PORT_METRICS": "9101", "REDPROP_REGISTRY_PORT": "tcp://10.96.0.12:9101",
        "REDPROP_REGISTRY_PORT_9101_TCP": "tcp://10.96.0.12:9101", "REDPROP_REGISTRY_PORT_9101_TCP_PROTO": "tcp",
        "REDPROP_REGISTRY_PORT_9101_TCP_PORT": "9101", "REDPROP_REGISTRY_PORT_9101_TCP_ADDR": "10.96.0.12",
    }
    for name, value in links.items():
        monkeypatch.setenv(name, value)
    assert load_settings().district == "990001"
    monkeypatch.setenv("REDPROP_METRICS_PORT", "9101")  # a typo, not a link: a link's _PORT is tcp://...
    assert "variable REDPROP_METRICS_PORT: no such setting" in config_error()


@pytest.mark.parametrize("yaml_text, setting, suggestion", [
    ("servics: {}\n", "servics", "services"),
    ("services:\n  registry:\n    max_worker: 3\n", "services.registry.max_worker", "max_workers"),
    ("messaging:\n  rpc_timout: 3\n", "messaging.rpc_timout", "rpc_timeout"),
])
def test_a_misspelt_key_suggests_the_nearest_valid_one(tmp_path, yaml_text, setting, suggestion):
    message = config_error(write(tmp_path / "redprop.yaml", yaml_text))
    assert f"setting '{setting}'" in message
    assert f"did you mean {suggestion!r}" in message


def test_a_wrong_service_option_names_it_and_the_nearest_valid_option():
    from pydantic import BaseModel, ConfigDict, Field

    class Inner(BaseModel):
        model_config = ConfigDict(extra="forbid")
        contact: str = "x"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        sweep_interval: float = Field(default=60, ge=1)
        open311: Inner = Inner()

    settings = Settings(services={"ticketing": {"options": {"sweep_intervall": 3, "open311": {"contakt": "y"}}}})
    with pytest.raises(ConfigError) as err:
        settings.service_options("ticketing", Options)
    message = str(err.value)
    assert "setting 'services.ticketing.options.sweep_intervall'" in message
    assert "did you mean 'sweep_interval'" in message
    assert "setting 'services.ticketing.options.open311.contakt'" in message
    assert "did you mean 'contact'" in message
    wrong = Settings(services={"ticketing": {"options": {"sweep_interval": 0}}})
    with pytest.raises(ConfigError, match="services.ticketing.options.sweep_interval.*greater than or equal to 1"):
        wrong.service_options("ticketing", Options)


# -- database URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize("url, reason", [
    ("postgresql+psycopg://u:Pw-Secret1@db/x", "not postgresql+psycopg://"),
    ("postgresql+asyncpg://u:Pw-Secret1@db/x", "not postgresql+asyncpg://"),
    ("postgresql://u:Pw-Secret1@db:port/x", "is not a valid database URL"),
    ("mysql://u:Pw-Secret1@db/x", "not mysql://"),
])
def test_a_database_url_the_suite_cannot_use_is_refused_without_echoing_it(tmp_path, url, reason):
    path = write(tmp_path / "redprop.yaml", f"services:\n  registry:\n    database_url: '{url}'\n")
    message = config_error(path)
    assert "setting 'services.registry.database_url'" in message
    assert reason in message
    assert "Pw-Secret1" not in message


def test_a_plain_postgresql_url_gets_the_psycopg2_driver_and_others_are_kept():
    from redprop.db.engine import build_engine, with_default_driver

    assert with_default_driver("postgresql://u:p@db:5432/x?sslmode=require").render_as_string(
        hide_password=False) == "postgresql+psycopg2://u:p@db:5432/x?sslmode=require"
    assert with_default_driver("postgresql+psycopg2://u@db/x").drivername == "postgresql+psycopg2"
    assert with_default_driver("sqlite:////tmp/x.db").drivername == "sqlite"
    engine = build_engine("postgresql://postgres@127.0.0.1:5432/postgres")  # no connection until used
    try:
        assert engine.dialect.driver == "psycopg2"
    finally:
        engine.dispose()


# -- secrets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url, shown", [
    ("postgresql://u:S3cretPW@db:5432/x?sslmode=require", "postgresql://u:***@db:5432/x?sslmode=require"),
    ("postgresql://u@db/x?password=S3cretPW", "postgresql://u@db/x?password=***"),
    ("amqp://redprop:S3cret%40PW@rabbit:5672/%2F", "amqp://redprop:***@rabbit:5672/%2F"),
    ("amqp://rabbit/", "amqp://rabbit/"),
    ("sqlite:////var/lib/redprop/x.sqlite3", "sqlite:////var/lib/redprop/x.sqlite3"),
])
def test_urls_are_shown_with_their_passwords_masked(url, shown):
    from redprop.secrets import redact_url

    assert redact_url(url) == shown


def test_settings_do_not_show_their_passwords_in_repr_and_the_log_filter_masks_them():
    import logging

    from redprop.secrets import RedactingFilter, settings_passwords

    settings = Settings(amqp_uri="amqp://redprop:Br0ker-PW@rabbit/%2F",
                        services={"registry": {"database_url": "postgresql://r:Db%2BPW-77@db/registry"}})
    assert "Br0ker-PW" not in repr(settings) and "Db%2BPW-77" not in repr(settings)
    assert settings.redacted_database_url("registry") == "postgresql://r:***@db/registry"
    secrets = settings_passwords(settings)
    assert {"Br0ker-PW", "Db%2BPW-77", "Db+PW-77"} <= secrets  # as written and decoded
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "connect to %s failed", (settings.amqp_uri,), None)
    try:
        raise RuntimeError("password Db+PW-77 refused")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactingFilter(secrets).filter(record)
    assert "Br0ker-PW" not in record.getMessage() and "***" in record.getMessage()
    assert "Db+PW-77" not in record.exc_text and "password *** refused" in record.exc_text


# -- what config --check, migrate and run check before anything starts ---------------------------


def test_checks_refuse_unknown_services_plugin_points_options_and_plugins():
    from redprop.checks import check_settings, require_valid
    from redprop.runner import enabled_services

    assert check_settings(Settings(), enabled_services(Settings())) == []
    settings = Settings(
        services={"ticketin": {"enabled": False},
                  "ticketing": {"options": {"sweep_intervall": 30}},
                  "registry": {"options": {"anything": 1}}},  # the registry takes no options
        plugins={"ticketing.routr": "default", "registry.locator": "grid_polygons"},
    )
    problems = "\n".join(check_settings(settings, ["registry", "ticketing"]))
    assert "setting 'services.ticketin': no such service is installed (did you mean 'ticketing'?)" in problems
    assert "setting 'plugins.ticketing.routr'" in problems and "did you mean 'ticketing.router'" in problems
    assert "setting 'services.ticketing.options.sweep_intervall'" in problems
    assert "did you mean 'sweep_interval'" in problems
    assert "setting 'services.registry.options.anything'" in problems
    assert "setting 'plugins.registry.locator': plugin 'grid_polygons' is not installed" in problems
    with pytest.raises(ConfigError, match="sweep_intervall"):
        require_valid(settings, ["ticketing"])


def test_every_first_party_service_declares_its_options_model():
    from redprop.checks import options_model
    from redprop.plugins import installed_services, load_service

    for name in installed_services():
        model = options_model(load_service(name))
        assert model is not None, name
        # The defaults are valid options: an empty options map passes.
        Settings().service_options(name, model)


def test_an_unexpected_crash_prints_its_traceback_with_the_passwords_masked(capsys, monkeypatch):
    import sys

    from redprop.secrets import install_excepthook

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    install_excepthook({"Cr4sh-PW"})
    try:
        raise RuntimeError("cannot use postgresql://u:Cr4sh-PW@db/x")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: cannot use postgresql://u:***@db/x" in err
    assert "Cr4sh-PW" not in err
