"""Idempotent commands: the first reply to a request id is stored with the change it made.

A retried command (the client resends after a timeout, or the broker redelivers after a crash) finds
the stored reply and gets it back unchanged; the command does not run twice. Reusing a request id for a
*different* request is a conflict, not a silent replay.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from weakref import WeakSet

from eventlet.semaphore import Semaphore
from nameko.extensions import SharedExtension
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from redprop.clock import utcnow
from redprop.contracts.base import CommandRequest
from redprop.db.provider import find_database
from redprop.errors import Conflict
from redprop.messaging.tables import IdempotencyRecord


def request_fingerprint(request: CommandRequest) -> str:
    body = request.model_dump(mode="json", exclude={"request_id", "schema_version"})
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


_RECORDS = IdempotencyRecord.__table__
# Built once: every command runs these, and building a statement costs more than executing this one.
_LOOKUP = select(_RECORDS.c.request_hash, _RECORDS.c.reply).where(
    _RECORDS.c.operation == bindparam("operation"), _RECORDS.c.request_id == bindparam("request_id"))
_RECORD = insert(_RECORDS)


def stored_reply(db: Session | Connection, operation: str, request: CommandRequest, fingerprint: str) -> Any | None:
    """The reply recorded for this request id, or None if the command has not run yet."""
    record = db.execute(_LOOKUP, {"operation": operation, "request_id": request.request_id}).first()
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise Conflict(
            f"request_id {request.request_id!r} was already used for a different {operation} request",
            {"field": "request_id", "request_id": request.request_id},
        )
    return json.loads(record.reply)


def record_reply(session: Session, operation: str, request: CommandRequest, fingerprint: str,
                 reply: Any) -> None:
    """Insert the reply in the worker's transaction (it commits together with the change).

    Raises ``IntegrityError`` if another delivery of the same request has recorded its reply first.
    """
    session.execute(_RECORD, _reply_row(operation, request, fingerprint, reply))


def _reply_row(operation: str, request: CommandRequest, fingerprint: str, reply: Any) -> dict:
    return {
        "operation": operation,
        "request_id": request.request_id,
        "request_hash": fingerprint,
        "reply": json.dumps(reply, ensure_ascii=False),
        "created_at": utcnow(),
    }


#: Workers that wrote their command's reply record themselves (see :func:`reply_record`).
_RECORDED_BY_WORKER: WeakSet = WeakSet()


def reply_record(worker_ctx, request: CommandRequest, reply: Any) -> tuple[Table, list[dict]]:
    """The stored-reply row of this worker's command, for a worker that writes it with its change itself
    (group commit: the change is not in the worker's own transaction). The entrypoint then does not."""
    _RECORDED_BY_WORKER.add(worker_ctx)
    operation = worker_ctx.entrypoint.qualified_name
    return _RECORDS, [_reply_row(operation, request, request_fingerprint(request), reply)]


def recorded_by_worker(worker_ctx) -> bool:
    return worker_ctx in _RECORDED_BY_WORKER


class ReplyLookup(SharedExtension):
    """The replay check of every command of a container, on one autocommit connection kept open.

    Every command asks "has this request id been answered?" before it runs: on a pooled connection
    that is a checkout, a transaction and a return for one indexed read, on this one a single round
    trip. Lookups take turns (nameko's consumer asks them one message at a time anyway). A connection
    the database dropped is replaced once. With a one-connection pool (SQLite) it is borrowed per
    lookup instead, so that it never starves the workers.
    """

    def setup(self):
        self.db = find_database(self.container)
        self._connection: Connection | None = None
        self._lock = Semaphore()

    def stop(self):
        self._close()

    def kill(self):
        self._close()

    def find(self, operation: str, request: CommandRequest, fingerprint: str) -> Any | None:
        """The stored reply of ``request``, None if it has not run; ``Conflict`` for a reused request id."""
        if self.db.engine.pool.size() < 2:
            with self.db.engine.connect() as connection:
                return stored_reply(connection, operation, request, fingerprint)
        with self._lock:
            try:
                return stored_reply(self._open(), operation, request, fingerprint)
            except DBAPIError as exc:
                self._close()
                if not exc.connection_invalidated:
                    raise
            return stored_reply(self._open(), operation, request, fingerprint)  # once more, reconnected

    def _open(self) -> Connection:
        if self._connection is None:
            self._connection = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._connection

    def _close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001 - it is being thrown away
                pass
            self._connection = None
