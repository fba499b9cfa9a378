"""Alembic environment shared by every service; see redprop/db/migrate.py."""

from alembic import context

from redprop.db.engine import build_engine

config = context.config
url = config.attributes["url"]
target_metadata = config.attributes["target_metadata"]


def include_object(obj, name, type_, reflected, compare_to):
    # Autogenerate for one service must not propose dropping another branch's tables.
    if type_ == "table" and reflected and compare_to is None:
        return False
    return True


def run_migrations_online() -> None:
    engine = build_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTERs by table copy
                compare_type=True,
                include_object=include_object,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("redprop migrations run online only (they need the database)")
run_migrations_online()
