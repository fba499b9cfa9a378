"""The ``Database`` dependency: a SQLAlchemy session per worker.

The session commits when the worker succeeds and rolls back when it fails. redprop's entrypoints
commit *before* they reply or acknowledge (see :func:`commit_unit_of_work`): nameko sends an RPC reply
before dependencies see the result, and a caller must never be told "done" about a change that was then
rolled back. For other entrypoints (timers, nameko.testing hooks) the commit happens in ``worker_result``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import eventlet
from nameko.extensions import DependencyProvider
from sqlalchemy import MetaData, event, exc, text
from sqlalchemy.orm import Session, sessionmaker

from redprop.config import settings_from_config
from redprop.db.engine import build_engine
from redprop.errors import ConfigError

log = logging.getLogger(__name__)

#: ``session.info`` key of the callbacks to run just before the session's next commit.
_BEFORE_COMMIT = "redprop.before_commit"


def _run_before_commit(session: Session) -> None:
    hooks = session.info.pop(_BEFORE_COMMIT, None)
    for hook in hooks or ():
        hook(session)


def _forget_before_commit(session: Session, _previous_transaction=None) -> None:
    session.info.pop(_BEFORE_COMMIT, None)


@dataclass
class _UnitOfWork:
    session: Session
    committed: bool = False
    #: Run after a successful commit, once the connection is back in the pool, before any reply.
    on_commit: list[Callable[[], None]] = field(default_factory=list)


class Database(DependencyProvider):
    """Inject a SQLAlchemy 2 ``Session`` bound to this service's own database."""

    def __init__(self, metadata: MetaData, migrations: str | Path):
        self.metadata = metadata
        #: Folder of this service's Alembic revision files (``redprop migrate`` runs them).
        self.migrations = Path(migrations)
        self.engine = None
        self.session_factory: sessionmaker | None = None
        self._units: dict[object, _UnitOfWork] = {}

    def setup(self):
        settings = settings_from_config(self.container.config)
        self.url = settings.database_url(self.container.service_name)
        # Outbox relay and readiness checks share the pool with the workers.
        self.engine = build_engine(self.url, pool_size=self.container.max_workers + 2)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        # Any commit of the session runs the hooks: the provider's, and a worker's own mid-way commits.
        event.listen(self.session_factory, "before_commit", _run_before_commit)
        event.listen(self.session_factory, "after_soft_rollback", _forget_before_commit)

    def stop(self):
        if self.engine is not None:
            self.engine.dispose()

    def kill(self):
        self.stop()

    # -- per worker ------------------------------------------------------------------------------

    def get_dependency(self, worker_ctx) -> Session:
        unit = _UnitOfWork(self.session_factory())
        self._units[worker_ctx] = unit
        return unit.session

    def session_for(self, worker_ctx) -> Session:
        return self._units[worker_ctx].session

    def on_commit(self, worker_ctx, callback: Callable[[], None]) -> None:
        """Run ``callback`` after this worker's transaction commits (never if it rolls back).

        A failing callback is logged, not raised: the change is already committed.
        """
        self._units[worker_ctx].on_commit.append(callback)

    def before_commit(self, worker_ctx, callback: Callable[[Session], None]) -> None:
        """Run ``callback(session)`` just before this worker's transaction next commits, inside it.

        For writes cheaper made together at the end (the outbox inserts a worker's events in one
        statement). A failing callback fails the commit, and the transaction rolls back.
        """
        self._units[worker_ctx].session.info.setdefault(_BEFORE_COMMIT, []).append(callback)

    def commit(self, worker_ctx) -> None:
        unit = self._units.get(worker_ctx)
        if unit is not None and not unit.committed:
            session = unit.session
            # A worker that never touched the database (a query answered from memory) has nothing to
            # commit: SQLAlchemy would begin and commit an empty transaction (a tenth of registry.resolve).
            if session.in_transaction() or session.new or session.info.get(_BEFORE_COMMIT):
                session.commit()
            unit.committed = True
            callbacks, unit.on_commit = unit.on_commit, []
            for callback in callbacks:
                try:
                    callback()
                except Exception:
                    log.exception("after-commit callback %r failed", callback)

    def rollback(self, worker_ctx) -> None:
        unit = self._units.get(worker_ctx)
        if unit is not None:
            self._discard(unit)
            unit.on_commit.clear()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        unit = self._units.get(worker_ctx)
        if unit is None or unit.committed:
            return
        if exc_info is None:
            try:
                self.commit(worker_ctx)
            except Exception:
                log.exception("commit failed after %s", worker_ctx)
                self._discard(unit)
        else:
            self._discard(unit)

    @staticmethod
    def _discard(unit: _UnitOfWork) -> None:
        # Runs in nameko's worker teardown, where an exception would kill the container; a connection
        # that broke cannot roll back, and the database discards its open transaction anyway.
        try:
            unit.session.rollback()
        except Exception as error:  # noqa: BLE001
            log.warning("could not roll back a session (%s); the connection is discarded", type(error).__name__)

    def worker_teardown(self, worker_ctx):
        unit = self._units.pop(worker_ctx, None)
        if unit is not None:
            unit.session.close()

    # -- outside workers -------------------------------------------------------------------------

    def new_session(self) -> Session:
        """A session for work outside a worker (relay, readiness, entrypoint pre-checks)."""
        return self.session_factory()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def wait_until_available(self, timeout: float | None = None) -> bool:
        """Ping with backoff until the database answers (True) or ``timeout`` seconds pass (False).

        Cooperative (eventlet sleeps), so a consumer thread waiting here holds its message
        unacknowledged and blocks nothing else; the container's stop kills the wait.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        for delay in backoff():
            try:
                self.ping()
                return True
            except Exception as error:  # noqa: BLE001 - any failure means: not yet
                if deadline is not None and time.monotonic() + delay > deadline:
                    return False
                log.debug("database of %s not answering (%s); retrying in %.1f s",
                          self.container.service_name, type(error).__name__, delay)
            eventlet.sleep(delay)
        return False  # unreachable: backoff() never ends


#: Waiting for a database that went away: the first retry after this many seconds, doubling up to the cap.
BACKOFF_START_S = 0.2
BACKOFF_CAP_S = 5.0


def backoff(start: float = BACKOFF_START_S, cap: float = BACKOFF_CAP_S):
    """Delays for retrying something that went away: exponential from ``start``, capped at ``cap``."""
    delay = start
    while True:
        yield delay
        delay = min(delay * 2, cap)


def _connection_lost(error: BaseException) -> bool:
    """The error says the connection broke (SQLAlchemy has already invalidated it)."""
    return (isinstance(error, exc.DBAPIError) and error.connection_invalidated) or isinstance(
        error, exc.DisconnectionError)


def database_unavailable(error: BaseException, db: Database) -> bool:
    """Did ``error`` come from the database being away, rather than from the work itself?

    A broken connection always is. An ``OperationalError`` (cannot connect, server shutting down,
    SQLite locked) or a pool timeout is when the database does not answer a ping now either: a
    ``no such table`` is an OperationalError too, and must not be retried for ever.
    """
    if _connection_lost(error):
        return True
    if not isinstance(error, exc.OperationalError | exc.InterfaceError | exc.TimeoutError):
        return False
    try:
        db.ping()
    except Exception:  # noqa: BLE001 - any failure to answer means: away
        return True
    return False


def find_database(container) -> Database:
    found = [d for d in container.dependencies if isinstance(d, Database)]
    if len(found) != 1:
        raise ConfigError(
            f"service {container.service_name!r} needs exactly one Database dependency "
            f"for commands, events and the outbox (found {len(found)})"
        )
    return found[0]


def commit_unit_of_work(worker_ctx) -> None:
    """Commit every Database session of this worker; raises if a commit fails."""
    for provider in worker_ctx.container.dependencies:
        if isinstance(provider, Database):
            provider.commit(worker_ctx)


def rollback_unit_of_work(worker_ctx) -> None:
    for provider in worker_ctx.container.dependencies:
        if isinstance(provider, Database):
            provider.rollback(worker_ctx)
