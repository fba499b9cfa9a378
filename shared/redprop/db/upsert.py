"""INSERT ... ON CONFLICT for both embedded SQLite and production PostgreSQL.

SQLAlchemy has the clause only in each dialect's own ``insert``; services call this one function
instead of choosing the dialect themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

#: ``update`` may name the columns that take the new row's values, or build the SET clause from
#: ``excluded`` (the row that was refused), e.g. to add counters: ``lambda new: {"n": t.c.n + new.n}``.
Update = Iterable[str] | Callable[[Any], dict[str, Any]] | None


def upsert(session: Session, table: Table, keys: Iterable[Any] | None = None, *,
           update: Update = None):
    """An INSERT into ``table`` that, on a conflict over ``keys``, updates (or, without ``update``,
    keeps the existing row). Add ``.values(...)`` or pass rows to ``session.execute`` as usual."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table)
    index = list(keys) if keys is not None else None
    if update is None:
        return stmt.on_conflict_do_nothing(index_elements=index)
    set_ = update(stmt.excluded) if callable(update) else {name: stmt.excluded[name] for name in update}
    return stmt.on_conflict_do_update(index_elements=index, set_=set_)
