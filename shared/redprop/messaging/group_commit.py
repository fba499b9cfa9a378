"""Group commit: commands that arrive together share one transaction, a few multi-row INSERTs and one COMMIT.

A burst of intake (a storm, and a thousand leak reports) is many small commands whose writes are all
new rows: a ticket, its history, its events, its stored reply. Written one transaction each, every
command pays a BEGIN, an INSERT per table and a COMMIT, and the database plans each statement again.
With ``self.group(request, build)`` a command's worker hands its work to one writer per container;
the writer takes every job waiting, runs each ``build(session, batch)`` in one transaction (reads see
the rows of the jobs before them through ``batch``), inserts all rows of a table in one statement,
commits once, and wakes each worker with its reply. A worker waits no longer than one batch of the
others' work. The command's stored reply (``idempotency.py``) is one of the rows, so a command and its
reply still commit together.

If the batch fails, each job runs again alone, so one bad job costs only itself: it gets its own
exception, the others their results. ``build`` may therefore run twice and must write nothing itself:
everything it writes goes in :attr:`Write.inserts`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import eventlet
from eventlet.event import Event as GreenEvent
from eventlet.queue import Empty, LightQueue
from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Histogram
from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from redprop import logs
from redprop.contracts import contract_major
from redprop.db.provider import database_unavailable, find_database
from redprop.messaging.idempotency import reply_record, request_fingerprint, stored_reply
from redprop.metrics import find_metrics_server

log = logging.getLogger(__name__)

#: At most this many jobs share a transaction.
MAX_BATCH = 64


@dataclass
class Write:
    """What one job writes (rows per table, in an order that respects foreign keys) and returns."""

    inserts: list[tuple[Table, list[dict]]]
    result: Any = None
    #: The command's reply, when the job returns more than its reply (default: ``result`` is the reply).
    reply: Any = None


@dataclass
class _Job:
    build: Callable[[Session, dict], Write]
    done: GreenEvent = field(default_factory=GreenEvent)


class GroupedCommand:
    """What ``self.group`` is inside a worker."""

    def __init__(self, provider: GroupCommit, worker_ctx):
        self._provider, self._worker_ctx = provider, worker_ctx

    def __call__(self, request, build: Callable[[Session, dict], Write]) -> Any:
        """Run ``build`` in the next shared transaction, with the stored reply of ``request``; its
        ``Write.result`` is returned once committed (the reply model, unless ``Write.reply`` holds it)."""

        def with_reply(session: Session, batch: dict) -> Write:
            write = build(session, batch)
            model = write.result if write.reply is None else write.reply
            model.schema_version = contract_major(self._worker_ctx.service_name) or model.schema_version
            reply = model.model_dump(mode="json")  # what is sent, stored alike
            write.inserts.append(reply_record(self._worker_ctx, request, reply))
            return write

        try:
            return self._provider.run(with_reply)
        except IntegrityError as exc:
            raise self._provider.lost_race(self._worker_ctx, request, exc) from None


class GroupCommit(DependencyProvider):
    """Inject ``group(request, build) -> reply``: a command whose writes are all new rows, committed in a
    transaction shared with the commands that arrive with it."""

    def setup(self):
        self.db = find_database(self.container)
        self._queue: LightQueue = LightQueue()
        self._running = False
        self._gt = None
        self.batches = self.jobs = 0  # how well jobs are grouped (also in the service's metrics)

    def start(self):
        # Both series exist from start (at 0): a counter first seen with its first failure hides it from rate().
        self._failed_batches()
        self._batch_sizes()
        self._running = True
        self._gt = self.container.spawn_managed_thread(self._run, identifier="group-commit")

    def stop(self):
        # Workers have finished (nameko stops dependencies after them); let the writer go.
        self._running = False
        if self._gt is not None:
            self._gt.wait()

    def kill(self):
        self._running = False
        if self._gt is not None:
            self._gt.kill()

    def lost_race(self, worker_ctx, request, exc: IntegrityError) -> IntegrityError:
        """``exc``, or a :class:`ConcurrentDelivery` if another delivery of this command committed first.

        Two deliveries of one command at once (a client's retry, a redelivery) is expected: the command
        entrypoint answers the loser with the winner's stored reply. It is logged here as what it is,
        at INFO; nameko would log the IntegrityError with its traceback and the rows' values.
        """
        operation = worker_ctx.entrypoint.qualified_name
        try:
            with self.db.new_session() as session:
                answered = stored_reply(session, operation, request, request_fingerprint(request)) is not None
        except Exception:  # noqa: BLE001 - a conflict (reused request id) or an outage: let the entrypoint judge
            answered = False
        if not answered:
            return exc
        log.info("%s request_id=%s: another delivery of it committed first; answered with its reply",
                 operation, request.request_id)
        return ConcurrentDelivery(exc.statement, None, exc.orig)

    def get_dependency(self, worker_ctx) -> GroupedCommand:
        return GroupedCommand(self, worker_ctx)

    def run(self, build: Callable[[Session, dict], Write]) -> Any:
        """Queue ``build`` for the next batch and wait for its result (or its exception)."""
        job = _Job(build)
        self._queue.put(job)
        return job.done.wait()

    # -- the writer ------------------------------------------------------------------------------

    def _run(self):
        logs.bind(service=self.container.service_name)  # this green thread's log lines name their service
        while self._running or not self._queue.empty():
            try:
                first = self._queue.get(timeout=0.2)
            except Empty:
                continue
            eventlet.sleep(0)  # the workers already on their way to the queue join this batch
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[_Job]) -> None:
        try:
            results = self._commit(batch)
        except Exception as exc:
            if len(batch) == 1 or database_unavailable(exc, self.db):
                # Alone, or the database is away (running each job alone would fail each the same way):
                # each worker gets the error, and its entrypoint requeues the command for later.
                for job in batch:
                    job.done.send_exception(*sys.exc_info())
                return
            log.info("a batch of %d jobs failed; running each alone", len(batch))
            self._failed_batches().inc()
            for job in batch:
                self._write([job])
            return
        self.batches += 1
        self.jobs += len(batch)
        self._batch_sizes().observe(len(batch))
        for job, result in zip(batch, results, strict=True):
            job.done.send(result)

    def _commit(self, batch: list[_Job]) -> list[Any]:
        shared: dict = {}
        with self.db.new_session() as session:
            writes = [job.build(session, shared) for job in batch]
            for table, rows in _by_table(writes):
                session.execute(insert(table), rows)
            session.commit()
        return [w.result for w in writes]

    def _failed_batches(self):
        return self._count("redprop_group_commit_failed_batches", Counter,
                           "Shared transactions that failed; their commands were then written one by one.")

    def _batch_sizes(self):
        return self._count("redprop_group_commit_batch_size", Histogram, "Commands written per shared transaction.",
                           buckets=(1, 2, 4, 8, 16, 32, 64))

    def _count(self, name: str, cls, documentation: str, **kwargs):
        metrics = find_metrics_server(self.container)
        if metrics is None:
            return _Unmeasured()
        return metrics.metric(cls, name, documentation, ("service",), **kwargs).labels(metrics.service)


class _Unmeasured:
    """Stands in for a metric in a container without a metrics server (tests)."""

    def inc(self, *_):
        pass

    def observe(self, *_):
        pass


class ConcurrentDelivery(IntegrityError):
    """A command lost the race with another delivery of itself; the entrypoint replies as the winner did."""


class _QuietRaces(logging.Filter):
    """Drops nameko's "error handling worker" record of a :class:`ConcurrentDelivery` (logged above)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConcurrentDelivery))


logging.getLogger("nameko.containers").addFilter(_QuietRaces())


def _by_table(writes: list[Write]) -> list[tuple[Table, list[dict]]]:
    """All rows per table, tables in the order they first appear (a job lists parents first)."""
    merged: dict[Table, list[dict]] = {}
    for write in writes:
        for table, rows in write.inserts:
            merged.setdefault(table, []).extend(rows)
    return [(table, rows) for table, rows in merged.items() if rows]

