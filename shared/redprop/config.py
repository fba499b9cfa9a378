"""One typed settings object for the whole suite.

Sources, strongest first: environment variables (``REDPROP_`` prefix, ``__`` between nested names,
e.g. ``REDPROP_SERVICES__REGISTRY__MAX_WORKERS=20``), then a YAML file, then the embedded defaults
(SQLite files under ``./var`` and the local RabbitMQ), so the suite runs on a laptop with no file at all.

Anything wrong stops start-up with a :class:`~redprop.errors.ConfigError` that names the setting.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from redprop.contracts.base import DistrictCode
from redprop.errors import ConfigError

ENV_PREFIX = "REDPROP_"
CONFIG_FILE_ENV = "REDPROP_CONFIG"
DEFAULT_CONFIG_FILE = Path("redprop.yaml")

#: Where each first-party service serves /metrics unless configured otherwise (0 turns it off).
DEFAULT_METRICS_PORTS = {
    "registry": 9101,
    "ticketing": 9102,
    "mediation": 9103,
    "evaluation": 9104,
    "matching": 9105,
    "gateway": 9106,
}

#: The key under which nameko containers carry the typed settings.
SETTINGS_CONFIG_KEY = "REDPROP_SETTINGS"

Port = Annotated[int, Field(ge=0, le=65535)]


class ServiceSettings(BaseModel):
    """Per-service settings (``services.<name>.*``)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    #: Concurrent workers per service instance; also the AMQP prefetch count.
    max_workers: int = Field(default=10, ge=1, le=1000)
    #: Port for /metrics, /healthz and /readyz; None means the default for the service, 0 turns it off.
    metrics_port: Port | None = None
    #: SQLAlchemy URL; None means a SQLite file under ``data_dir``.
    database_url: str | None = None
    #: The service's own options (catalogues, intervals...), validated by the service at start-up
    #: against its options model; errors name ``services.<name>.options.<field>``.
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value


class MessagingSettings(BaseModel):
    """How messages are moved (``messaging.*``)."""

    model_config = ConfigDict(extra="forbid")

    #: A caller waits this long for a reply before raising ``Unavailable``.
    rpc_timeout: float = Field(default=10.0, gt=0)
    #: The outbox relay looks for unpublished events at least this often (seconds).
    outbox_poll_interval: float = Field(default=1.0, gt=0)
    #: Published outbox rows and idempotency records are kept this long (hours) for audit and retries.
    retention_hours: float = Field(default=72.0, gt=0)
    #: Processed-event marks (the inbox) are kept longer: a redelivery older than this would count twice.
    inbox_retention_days: float = Field(default=90.0, gt=0)
    #: A failed event is retried after this delay (seconds)...
    retry_delay: float = Field(default=2.0, ge=0)
    #: ...until it has been tried this many times; then it goes to the dead-letter queue.
    max_delivery_attempts: int = Field(default=5, ge=1, le=100)
    heartbeat: int = Field(default=60, ge=0)


class Settings(BaseSettings):
    """The suite's settings. See ``docs/configuration.md`` for every field."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", case_sensitive=False,
    )

    #: GB/T 2260 code of the district this release serves. The default is the demo district.
    district: DistrictCode = "990001"
    district_name: str = "示范区 Demo District"
    amqp_uri: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    #: Where the embedded SQLite databases live.
    data_dir: Path = Path("var")
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    #: ``text`` (one line per record) or ``json`` (one object per line, with service, entrypoint, call id...).
    log_format: str = Field(default="text", pattern="^(json|text)$")
    services: dict[str, ServiceSettings] = Field(default_factory=dict)
    #: Extension point -> chosen plugin name(s), e.g. ``{"registry.locator": "nearest_building"}``.
    plugins: dict[str, str | list[str]] = Field(default_factory=dict)
    messaging: MessagingSettings = Field(default_factory=MessagingSettings)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                   dotenv_settings, file_secret_settings):
        # Environment beats the YAML file (passed in as init kwargs), which beats defaults.
        return (env_settings, init_settings, file_secret_settings)

    @field_validator("amqp_uri")
    @classmethod
    def _amqp_scheme(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("amqp", "amqps", "pyamqp"):
            raise ValueError("must be an amqp:// or amqps:// URI")
        return value

    # -- derived values -------------------------------------------------------------------------

    def service(self, name: str) -> ServiceSettings:
        return self.services.get(name) or ServiceSettings()

    def database_url(self, service: str) -> str:
        explicit = self.service(service).database_url
        if explicit:
            return explicit
        path = (self.data_dir / self.district / f"{service}.sqlite3").resolve()
        return f"sqlite:///{path}"

    def metrics_port(self, service: str) -> int:
        port = self.service(service).metrics_port
        return DEFAULT_METRICS_PORTS.get(service, 0) if port is None else port

    def service_options(self, service: str, model: type[BaseModel]) -> BaseModel:
        """The service's ``options`` parsed by its model; a ConfigError names each wrong option."""
        try:
            return model.model_validate(self.service(service).options)
        except ValidationError as exc:
            lines = [f"invalid options for service {service!r}:"]
            for err in exc.errors(include_url=False):
                path = ".".join(str(p) for p in err["loc"])
                lines.append(f"  setting 'services.{service}.options.{path}': {err['msg']}")
            raise ConfigError("\n".join(lines)) from None

    def plugin_choice(self, point: str, default: str | list[str]) -> str | list[str]:
        return self.plugins.get(point, default)

    def with_vhost(self, vhost: str) -> Settings:
        """A copy pointing at another virtual host on the same broker (tests, federation)."""
        parts = urlsplit(self.amqp_uri)
        uri = parts._replace(path="/" + quote(vhost, safe="")).geturl()
        return self.model_copy(update={"amqp_uri": uri})

    def nameko_config(self, service: str) -> dict[str, Any]:
        """The plain dict nameko containers expect, carrying these settings along."""
        return {
            "AMQP_URI": self.amqp_uri,
            "max_workers": self.service(service).max_workers,
            "serializer": "json",
            "HEARTBEAT": self.messaging.heartbeat,
            SETTINGS_CONFIG_KEY: self,
        }

    def redacted_amqp_uri(self) -> str:
        parts = urlsplit(self.amqp_uri)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return parts._replace(netloc=netloc).geturl()
        return self.amqp_uri


def _describe_errors(exc: ValidationError, source: str) -> str:
    lines = [f"invalid settings ({source}):"]
    for err in exc.errors(include_url=False):
        path = ".".join(str(p) for p in err["loc"])
        env = ENV_PREFIX + "__".join(str(p) for p in err["loc"]).upper()
        lines.append(f"  setting '{path}' (env {env}): {err['msg']}")
    return "\n".join(lines)


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Read settings from the YAML file (if any) and the environment; raise ConfigError if wrong.

    ``config_file`` defaults to ``$REDPROP_CONFIG``, then ``./redprop.yaml`` if it exists.
    """
    explicit = config_file or os.environ.get(CONFIG_FILE_ENV)
    path = Path(explicit) if explicit else DEFAULT_CONFIG_FILE
    data: dict[str, Any] = {}
    if explicit and not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist (setting 'config file')")
    if path.is_file():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {str(path)!r} is not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file {str(path)!r} must hold a mapping of settings")
        data = loaded or {}
    data.update(overrides)
    source = f"file {str(path)!r} and environment" if path.is_file() else "environment"
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe_errors(exc, source)) from None


def settings_from_config(config: dict[str, Any]) -> Settings:
    """The typed settings a nameko container carries (or ones built from its plain config)."""
    settings = config.get(SETTINGS_CONFIG_KEY)
    if settings is None:
        settings = load_settings(amqp_uri=config["AMQP_URI"])
        config[SETTINGS_CONFIG_KEY] = settings
    return settings
