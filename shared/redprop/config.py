"""One typed settings object for the whole suite.

Sources, strongest first: environment variables (``REDPROP_`` prefix, ``__`` between nested names,
e.g. ``REDPROP_SERVICES__REGISTRY__MAX_WORKERS=20``), then a YAML file, then the embedded defaults
(SQLite files under ``./var`` and the local RabbitMQ), so the suite runs on a laptop with no file at all.

Anything wrong stops start-up with a :class:`~redprop.errors.ConfigError` that names the setting.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from urllib.parse import quote, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from redprop.contracts.base import DistrictCode
from redprop.errors import ConfigError
from redprop.privacy.settings import PrivacySettings
from redprop.secrets import redact_url

ENV_PREFIX = "REDPROP_"
CONFIG_FILE_ENV = "REDPROP_CONFIG"
#: Read directly, not settings: the settings file, and the folder of the workbench's build that the
#: gateway serves (services/gateway/.../webapp.py; the image sets it for every process it runs).
NON_SETTING_ENV = frozenset({CONFIG_FILE_ENV, "REDPROP_WEB_DIST"})
#: Variables with these prefixes belong to the test and bench tooling, not to the settings.
TOOLING_ENV_PREFIXES = ("REDPROP_TEST_", "REDPROP_BENCH_")
#: Kubernetes (``enableServiceLinks``) and docker ``--link`` add ``<SERVICE>_SERVICE_HOST``,
#: ``<SERVICE>_PORT_9101_TCP``... for every Service in the namespace, so a Service named
#: ``redprop-registry`` gives ``REDPROP_REGISTRY_SERVICE_HOST``. Recognised by name *and* value, so
#: that a typo such as ``REDPROP_METRICS_PORT=9101`` is still refused (the chart also turns the links off).
_IP = r"[0-9a-fA-F.:\[\]]+"
_LINK = rf"(tcp|udp|sctp)://{_IP}:\d+"
_SERVICE_LINKS = [(re.compile(rf"^REDPROP_\w+{name}$"), re.compile(rf"^{value}$")) for name, value in (
    ("_SERVICE_HOST", _IP),
    (r"_SERVICE_PORT(_\w+)?", r"\d+"),
    ("_PORT", _LINK),
    (r"_PORT_\d+_(TCP|UDP|SCTP)", _LINK),
    (r"_PORT_\d+_(TCP|UDP|SCTP)_PROTO", "(tcp|udp|sctp)"),
    (r"_PORT_\d+_(TCP|UDP|SCTP)_PORT", r"\d+"),
    (r"_PORT_\d+_(TCP|UDP|SCTP)_ADDR", _IP),
)]
#: SQLAlchemy dialects the suite runs on; a bare ``postgresql://`` gets psycopg2 (redprop.db.engine).
DATABASE_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg2")
DEFAULT_CONFIG_FILE = Path("redprop.yaml")

#: Where each first-party service serves /metrics unless configured otherwise (0 turns it off).
DEFAULT_METRICS_PORTS = {
    "registry": 9101,
    "ticketing": 9102,
    "mediation": 9103,
    "evaluation": 9104,
    "matching": 9105,
    "gateway": 9106,
    "participation": 9107,
    "projects": 9108,
}

#: The key under which nameko containers carry the typed settings.
SETTINGS_CONFIG_KEY = "REDPROP_SETTINGS"

Port = Annotated[int, Field(ge=0, le=65535)]


class ServiceSettings(BaseModel):
    """Per-service settings (``services.<name>.*``)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    #: The service ships in another image (the chart's ``pluginServices``), so it may be missing from
    #: this installation without that being a typo; other names not installed are refused.
    external: bool = False
    #: Concurrent workers per service instance; also the AMQP prefetch count.
    max_workers: int = Field(default=10, ge=1, le=1000)
    #: Port for /metrics, /healthz and /readyz; None means the default for the service, 0 turns it off.
    metrics_port: Port | None = None
    #: SQLAlchemy URL; None means a SQLite file under ``data_dir``. Kept out of repr: it may hold a password.
    database_url: str | None = Field(default=None, repr=False)
    #: The service's own options (catalogues, intervals...), validated by the service at start-up
    #: against its options model; errors name ``services.<name>.options.<field>``.
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            driver = make_url(value).drivername
        except (ArgumentError, ValueError):  # the message would quote the URL, password and all
            raise ValueError("is not a valid database URL (e.g. postgresql://user:password@host:5432/name)") from None
        if driver not in DATABASE_DRIVERS:
            # psycopg 3 and asyncpg do not work under eventlet (docs/architecture.md, Data).
            raise ValueError(f"must be a sqlite:// or postgresql:// URL (postgresql+psycopg2 is the driver), "
                             f"not {driver}://")
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
    #: ``quorum`` (replicated by Raft: survives the loss of a broker node; what a cluster wants) or
    #: ``classic`` (one node's queue: a laptop's single broker). Reply and broadcast queues are always
    #: classic (exclusive, auto-deleted). A queue's type cannot change in place: ``redprop queues
    #: migrate`` moves an existing classic queue over (docs/queues.md).
    queue_type: Literal["quorum", "classic"] = "classic"
    #: Quorum queues only: how many times the broker hands out one message before dead-lettering it
    #: itself (``x-delivery-limit``). The suite's own retries (``max_delivery_attempts``) acknowledge
    #: and republish, so they never count here; this counts returns to the queue: a consumer that
    #: crashed mid-message, a stopping container, a database outage (each of those waits up to 10 s
    #: before returning its message). The backstop for a crash loop, so it must not be below
    #: ``max_delivery_attempts``.
    delivery_limit: int = Field(default=20, ge=1, le=1000)

    @model_validator(mode="after")
    def _limit_covers_attempts(self) -> MessagingSettings:
        if self.delivery_limit < self.max_delivery_attempts:
            raise ValueError(f"delivery_limit ({self.delivery_limit}) must be at least max_delivery_attempts "
                             f"({self.max_delivery_attempts}): the broker would dead-letter a message the "
                             f"suite still means to retry")
        return self


class Settings(BaseSettings):
    """The suite's settings. See ``docs/configuration.md`` for every field."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", case_sensitive=False,
    )

    #: GB/T 2260 code of the district this release serves. The default is the demo district.
    district: DistrictCode = "990001"
    district_name: str = "示范区 Demo District"
    #: Kept out of repr: it holds the broker password.
    amqp_uri: str = Field(default="amqp://guest:guest@127.0.0.1:5672/%2F", repr=False)
    #: Where the embedded SQLite databases live.
    data_dir: Path = Path("var")
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    #: ``text`` (one line per record) or ``json`` (one object per line, with service, entrypoint, call id...).
    log_format: str = Field(default="text", pattern="^(json|text)$")
    services: dict[str, ServiceSettings] = Field(default_factory=dict)
    #: Extension point -> chosen plugin name(s), e.g. ``{"registry.locator": "nearest_building"}``.
    plugins: dict[str, str | list[str]] = Field(default_factory=dict)
    messaging: MessagingSettings = Field(default_factory=MessagingSettings)
    #: The key ring that encrypts personal data at rest (redprop.privacy.settings).
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                   dotenv_settings, file_secret_settings):
        # Environment beats the YAML file (passed in as init kwargs), which beats defaults.
        return (env_settings, init_settings, file_secret_settings)

    @field_validator("amqp_uri")
    @classmethod
    def _amqp_addresses(cls, value: str) -> str:
        # Several addresses (a cluster's nodes) become kombu's failover list: nameko's connections and
        # the suite's own move on to the next address when one fails.
        addresses = broker_addresses(value)
        if not addresses:
            raise ValueError("must be an amqp:// or amqps:// URI")
        for n, address in enumerate(addresses, 1):
            which = f"address {n} of {len(addresses)}" if len(addresses) > 1 else "it"
            try:
                parts = urlsplit(address)
                parts.port  # noqa: B018 - raises for a port that is no number
            except ValueError:  # the message would quote the URL, password and all
                raise ValueError(f"{which} is not a valid URI (amqp://user:password@host:5672/vhost)") from None
            if parts.scheme not in ("amqp", "amqps", "pyamqp"):
                raise ValueError(f"must be an amqp:// or amqps:// URI ({which} is {parts.scheme or 'no'}://)")
            if len(addresses) > 1 and not parts.hostname:
                raise ValueError(f"{which} has no host")
        return ";".join(addresses)

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
            lines = describe_validation(exc, model, prefix=f"services.{service}.options.")
            raise ConfigError("\n".join([f"invalid options for service {service!r}:", *lines])) from None

    def plugin_choice(self, point: str, default: str | list[str]) -> str | list[str]:
        return self.plugins.get(point, default)

    def with_vhost(self, vhost: str) -> Settings:
        """A copy pointing at another virtual host on the same broker (tests, federation)."""
        uri = ";".join(urlsplit(a)._replace(path="/" + quote(vhost, safe="")).geturl()
                       for a in broker_addresses(self.amqp_uri))
        return self.model_copy(update={"amqp_uri": uri})

    @property
    def broker_addresses(self) -> list[str]:
        """One URI per broker address of ``amqp_uri`` (a cluster's nodes, in the order given)."""
        return broker_addresses(self.amqp_uri)

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
        return redact_url(self.amqp_uri)

    def redacted_database_url(self, service: str) -> str:
        return redact_url(self.database_url(service))


def broker_addresses(uri: str) -> list[str]:
    """The broker addresses of an ``amqp_uri``, one URI each. Several are written either as kombu's
    failover list, ``amqp://u:p@h1:5672/vh;amqp://u:p@h2:5672/vh``, or as several hosts sharing one
    user and virtual host, ``amqp://u:p@h1:5672,h2:5673/vh``."""
    out = []
    for part in (p.strip() for p in uri.split(";")):
        if not part:
            continue
        try:
            parts = urlsplit(part)
        except ValueError:
            out.append(part)  # refused by the validator, without quoting it
            continue
        userinfo, at, hosts = parts.netloc.rpartition("@")
        for host in hosts.split(","):
            out.append(parts._replace(netloc=f"{userinfo}{at}{host.strip()}").geturl())
    return out


# -- naming what is wrong, with the nearest valid name -----------------------------------------------


def nearest(name: str, valid) -> str:
    """`` (did you mean 'x'?)`` for the closest valid name, or nothing when none is close."""
    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unwrap(annotation):
    """The model or mapping type an annotation holds (``X | None`` -> X, ``Annotated[X, ...]`` -> X)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                return _unwrap(arg)
    return annotation


def fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The field names valid at ``loc`` inside ``model`` (best effort: [] where it cannot tell)."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif origin in (dict, list, tuple, set, Mapping):  # a key or an index: on to the values' type
            args = typing.get_args(current)
            current = args[-1] if args else Any
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def describe_validation(exc: ValidationError, model: type[BaseModel], prefix: str = "",
                        with_env: bool = False) -> list[str]:
    """One line per error: the setting, its variable, the message, and the nearest name for a typo."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path = prefix + ".".join(str(p) for p in loc)
        env = f" (env {ENV_PREFIX + '__'.join(path.split('.')).upper()})" if with_env else ""
        hint = ""
        if err["type"] == "extra_forbidden" and loc:
            hint = nearest(loc[-1], fields_at(model, loc[:-1]))
        # err["msg"] only: err["input"] could be a URL with its password.
        lines.append(f"  setting '{path}'{env}: {err['msg']}{hint}")
    return lines


def _describe_errors(exc: ValidationError, source: str) -> str:
    return "\n".join([f"invalid settings ({source}):", *describe_validation(exc, Settings, with_env=True)])


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A line for each ``REDPROP_*`` variable that names no setting.

    pydantic-settings reads only the variables of known top-level fields, so ``REDPROP_DISTRIKT`` or
    ``REDPROP_AMQP_URL`` would be ignored and the default used; unknown nested names are caught by
    the models themselves (``extra="forbid"``).
    """
    tops = {name.upper() for name in Settings.model_fields}
    lines = []
    for name, value in sorted(environ.items()):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in NON_SETTING_ENV or upper.startswith(TOOLING_ENV_PREFIXES):
            continue
        if any(n.match(upper) and v.match(value.strip()) for n, v in _SERVICE_LINKS):
            continue
        top = upper[len(ENV_PREFIX):].split("__", 1)[0]
        if top in tops:
            continue
        valid = [ENV_PREFIX + t for t in sorted(tops)] + [CONFIG_FILE_ENV]
        guess = ENV_PREFIX + top if "__" in upper[len(ENV_PREFIX):] else upper
        lines.append(f"  variable {name}: no such setting{nearest(guess, valid)}")
    return lines


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
    unknown = unknown_variables(os.environ)
    if unknown:
        raise ConfigError("\n".join([f"invalid settings ({source}):", *unknown]))
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
