"""Alembic migrations per service (``redprop migrate NAME``).

Each service's database has two migration branches: ``messaging`` (the outbox, idempotency and inbox
tables, in ``redprop/messaging/migrations``) and the service's own (``<service>/migrations``). Both are
upgraded to their heads; one shared ``env.py`` serves every service.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command as alembic_command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError

from redprop.config import Settings
from redprop.db.engine import build_engine
from redprop.db.provider import Database
from redprop.errors import ConfigError

ALEMBIC_DIR = Path(__file__).parent / "alembic"
MESSAGING_VERSIONS = Path(__file__).parent.parent / "messaging" / "migrations" / "versions"


def database_of(service_cls: type) -> Database:
    found = [v for v in vars_with_bases(service_cls) if isinstance(v, Database)]
    if len(found) != 1:
        raise ConfigError(f"service {service_cls.name!r} must declare exactly one Database")
    return found[0]


def vars_with_bases(cls: type):
    seen = set()
    for klass in cls.__mro__:
        for name, value in vars(klass).items():
            if name not in seen:
                seen.add(name)
                yield value


def has_database(service_cls: type) -> bool:
    return any(isinstance(v, Database) for v in vars_with_bases(service_cls))


def alembic_config(service_cls: type, settings: Settings) -> Config:
    db = database_of(service_cls)
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", ":".join([str(MESSAGING_VERSIONS), str(db.migrations / "versions")]))
    cfg.attributes["url"] = settings.database_url(service_cls.name)
    cfg.attributes["settings"] = settings  # data migrations may need more (the registry's key ring)
    cfg.attributes["target_metadata"] = [db.metadata, _messaging_metadata()]
    return cfg


def _messaging_metadata():
    from redprop.messaging.tables import MessagingBase

    return MessagingBase.metadata


def unreachable(service: str, settings: Settings, error: DBAPIError) -> ConfigError:
    """One line naming the setting for a database that cannot be reached (no 125-line traceback)."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()
    # libpq's first line says it all ("connection to server at ... failed: FATAL: database ... does not exist").
    detail = " ".join(line.strip() for line in reason[:2]) if reason else type(error).__name__
    return ConfigError(
        f"setting 'services.{service}.database_url': cannot use the {service} database at "
        f"{settings.redacted_database_url(service)} ({detail})"
    )


def upgrade(service_cls: type, settings: Settings, revision: str = "heads") -> None:
    try:
        alembic_command.upgrade(alembic_config(service_cls, settings), revision)
    except DBAPIError as error:
        if not _is_connect_error(error):
            raise
        raise unreachable(service_cls.name, settings, error) from None


def _is_connect_error(error: DBAPIError) -> bool:
    """An error from opening the connection (as opposed to one from a migration's own SQL)."""
    from sqlalchemy.exc import OperationalError

    return isinstance(error, OperationalError) and error.statement is None


def pending(service_cls: type, settings: Settings) -> tuple[set[str], set[str]]:
    """(revisions the database is at, revisions the code expects)."""
    cfg = alembic_config(service_cls, settings)
    expected = set(ScriptDirectory.from_config(cfg).get_heads())
    engine = build_engine(cfg.attributes["url"])
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except DBAPIError as error:
        raise unreachable(service_cls.name, settings, error) from None
    finally:
        engine.dispose()
    return current, expected


def check_current(service_cls: type, settings: Settings) -> None:
    current, expected = pending(service_cls, settings)
    if current != expected:
        raise ConfigError(
            f"the {service_cls.name} database ({settings.redacted_database_url(service_cls.name)}) is at "
            f"{sorted(current) or 'no revision'}, the code expects {sorted(expected)}: "
            f"run `redprop migrate {service_cls.name}` first"
        )


def autogenerate(service_cls: type, settings: Settings, message: str) -> None:
    """Write a new revision of the service's own branch from its models (developers)."""
    cfg = alembic_config(service_cls, settings)
    db = database_of(service_cls)
    upgrade(service_cls, settings)  # autogenerate diffs the models against an up-to-date database
    script = ScriptDirectory.from_config(cfg)
    own = [rev for rev in script.walk_revisions() if not str(rev.revision).startswith("messaging_")]
    branch_exists = bool(own)
    (db.migrations / "versions").mkdir(parents=True, exist_ok=True)
    alembic_command.revision(
        cfg, message=message, autogenerate=True,
        head=f"{service_cls.name}@head" if branch_exists else "base",
        branch_label=None if branch_exists else service_cls.name,
        version_path=str(db.migrations / "versions"),
        rev_id=f"{service_cls.name}_{len(own) + 1:04d}",
    )
