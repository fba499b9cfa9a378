"""Transactional outbox: events are stored with the change that caused them and published after commit.

``self.events.emit(SomethingHappened(...))`` stages a row in the worker's own transaction (a worker's
events are inserted together, just before it commits), so the event exists if and only if the change
does. The :class:`OutboxRelay` publishes unpublished rows in order, a batch at a time with publisher
confirms awaited together (``confirms.py``), and marks them published. It is woken right after each
commit and also sweeps every ``messaging.outbox_poll_interval`` seconds, so events left behind by a
crash between commit and publish go out when the service (or another replica) runs again. A crash after
publishing but before marking can publish an event twice; consumers are idempotent on ``event_id``
(see ``events.py``).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

import amqp
import eventlet
from eventlet.event import Event as GreenEvent
from eventlet.semaphore import Semaphore
from nameko.constants import PERSISTENT
from nameko.extensions import DependencyProvider, SharedExtension
from prometheus_client import Gauge
from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from redprop import logs
from redprop.clock import utcnow
from redprop.config import settings_from_config
from redprop.contracts import contract_major
from redprop.contracts.base import Event
from redprop.db.provider import backoff, database_unavailable, find_database
from redprop.messaging import wire
from redprop.messaging.confirms import BatchPublisher, Outgoing, PublishIncomplete
from redprop.messaging.tables import IdempotencyRecord, OutboxMessage, ProcessedEvent
from redprop.metrics import find_metrics_server

log = logging.getLogger(__name__)

BATCH_SIZE = 200
#: After a wake-up, the relay waits this long so that the commits of concurrent workers share a batch
#: (one round trip to the broker and two to the database for all of them). Events are not replies:
#: a few milliseconds more before they go out costs nobody anything.
LINGER_S = 0.005
#: A round after a wake-up reads the pending rows from a little below the highest id it published.
#: The index entries of published rows stay in the partial index until VACUUM, and reading past all of
#: them every round made each round slower as the table grew. A row committed out of id order further
#: back than this is found by the full read each poll interval.
SCAN_SLACK = 1000
#: The backlog gauge is recounted at most this often (seconds): one COUNT on the partial index.
BACKLOG_INTERVAL = 5.0

# The relay's statements, built once (it runs them for every batch).
_OUTBOX = OutboxMessage.__table__
_INSERT = insert(_OUTBOX)
_PENDING = (select(_OUTBOX.c.id, _OUTBOX.c.event_id, _OUTBOX.c.routing_key, _OUTBOX.c.payload, _OUTBOX.c.headers)
            .where(_OUTBOX.c.published_at.is_(None), _OUTBOX.c.id > bindparam("after"))
            .order_by(_OUTBOX.c.id)
            .limit(BATCH_SIZE)
            .with_for_update(skip_locked=True))  # replicas share the work (ignored by SQLite)
_MARK_PUBLISHED = (update(_OUTBOX).where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
                   .values(published_at=bindparam("at")))
_BACKLOG = select(func.count()).select_from(_OUTBOX).where(_OUTBOX.c.published_at.is_(None))
_MARK_FAILED = (update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row_id"))
                .values(attempts=_OUTBOX.c.attempts + 1, last_error=bindparam("error")))


def outbox_values(service: str, evt: Event, headers: dict | None = None) -> dict:
    """The outbox row of ``evt``, as column values; the event says its service's contract major."""
    evt.schema_version = contract_major(service) or evt.schema_version
    return {
        "event_id": evt.event_id,
        "exchange": f"{service}.events",
        "routing_key": evt.event_type,
        "payload": evt.model_dump_json(),
        "headers": json.dumps({**(headers or {}), **wire.event_headers(evt)}),
        "created_at": utcnow(),
        "attempts": 0,
    }


def stage_events(session: Session, rows: list[dict]) -> None:
    """Insert outbox rows (from :func:`outbox_values`) in ``session``'s transaction; nothing is published here."""
    if rows:
        session.execute(_INSERT, rows)


def check_contract(service: str, allowed_events: set[str], evt: Event) -> None:
    """Only events of the service's own contract are published (a typo'd or foreign event is a bug)."""
    if type(evt).event_type not in allowed_events:
        raise TypeError(f"{type(evt).__name__} ({evt.event_type!r}) is not an event of the {service} contract")


def contract_events(service: str) -> set[str]:
    from redprop.contracts import contract_for

    contract = contract_for(service)
    return set(contract.events) if contract is not None else set()


def stage_event(session: Session, service: str, evt: Event, headers: dict | None = None) -> None:
    """Add ``evt`` to the outbox inside ``session``'s transaction (no publishing happens here); for
    writers outside a worker, such as a bulk import. Checked against the contract as ``emit`` is."""
    check_contract(service, contract_events(service), evt)
    stage_events(session, [outbox_values(service, evt, headers)])


class OutboxRelay(SharedExtension):
    """Publishes the service's outbox; one green thread per container."""

    def setup(self):
        settings = settings_from_config(self.container.config)
        self.service = self.container.service_name
        self.db = find_database(self.container)
        self.poll_interval = settings.messaging.outbox_poll_interval
        self.retention = timedelta(hours=settings.messaging.retention_hours)
        self.inbox_retention = timedelta(days=settings.messaging.inbox_retention_days)
        self.publisher = BatchPublisher(settings.amqp_uri)
        self.exchange = wire.event_exchange(self.service)
        self._wakeup = GreenEvent()
        self._lock = Semaphore()
        self._running = False
        self._gt = None
        self._last_housekeeping = None
        self.published_total = 0
        self._published_upto = 0  # the highest outbox id this relay has published
        self._backlog = None
        self._backlog_counted = 0.0

    def start(self):
        server = find_metrics_server(self.container)
        if server is not None:
            self._backlog = server.metric(
                Gauge, "redprop_outbox_backlog", "Events committed but not yet published (outbox rows).",
                ("service",)).labels(self.service)
        self._running = True
        self._gt = self.container.spawn_managed_thread(self._run, identifier="outbox-relay")

    def stop(self):
        self._running = False
        self.wake()
        if self._gt is not None:
            self._gt.wait()
        try:
            self.relay_pending()  # a last flush of whatever the final workers committed
        except Exception as exc:  # noqa: BLE001 - stopping must not fail; the rows wait for the next start
            log.warning("outbox relay of %s: could not flush at stop (%s); the events stay in the outbox",
                        self.service, type(exc).__name__)
        self.publisher.close()

    def kill(self):
        self._running = False
        if self._gt is not None:
            self._gt.kill()
        self.publisher.close()

    def wake(self, *_args) -> None:
        if not self._wakeup.ready():
            self._wakeup.send(True)

    def _run(self):
        logs.bind(service=self.service)  # this green thread's log lines name their service
        woken, last_full = False, 0.0
        outage = None  # the backoff of the current database outage, None when there is none
        while self._running:
            wait = self.poll_interval
            try:
                # A full read at least once per poll interval, however busy: no row waits longer.
                full = not woken or time.monotonic() - last_full >= self.poll_interval
                if full:
                    last_full = time.monotonic()
                self.relay_pending(full=full)
                self._count_backlog()
                self._housekeeping()
                if outage is not None:
                    log.info("outbox relay of %s: the database answers again", self.service)
                    outage = None
            except Exception as exc:
                # The database or broker is away; the rows wait and the next round tries again. An
                # outage is one line when it starts (no traceback) and rounds back off; anything else
                # is a bug and says where.
                if database_unavailable(exc, self.db):
                    if outage is None:
                        log.warning("outbox relay of %s: the database is unavailable (%s); events wait in "
                                    "the outbox", self.service, type(exc).__name__)
                        outage = backoff(self.poll_interval)
                    wait = max(next(outage), self.poll_interval)
                else:
                    log.exception("outbox relay round failed for %s", self.service)
            woken = False
            with eventlet.Timeout(wait, False):
                woken = self._wakeup.wait()
                eventlet.sleep(LINGER_S)
            self._wakeup = GreenEvent()

    def relay_pending(self, full: bool = True) -> int:
        """Publish unpublished rows in order; returns how many went out.

        ``full=False`` (a round after a commit woke the relay) starts near the last published id.
        """
        published = 0
        with self._lock:
            while True:
                after = 0 if full else max(self._published_upto - SCAN_SLACK, 0)
                count, done = self._relay_batch(after)
                published += count
                if done:
                    break
        self.published_total += published
        return published

    def _count_backlog(self) -> None:
        """What is still unpublished (stuck on the broker, or rows another replica holds)."""
        if self._backlog is None or time.monotonic() - self._backlog_counted < BACKLOG_INTERVAL:
            return
        with self.db.engine.connect() as connection:
            self._backlog.set(connection.execute(_BACKLOG).scalar_one())
        self._backlog_counted = time.monotonic()

    def _relay_batch(self, after: int) -> tuple[int, bool]:
        with self.db.engine.connect() as connection:
            rows = connection.execute(_PENDING, {"after": after}).all()
            try:
                confirmed = self.publisher.publish([self._outgoing(row) for row in rows])
                failure = None
            except PublishIncomplete as exc:
                confirmed, failure = exc.confirmed, exc
            if confirmed:
                connection.execute(_MARK_PUBLISHED, {"ids": [row.id for row in rows[:confirmed]], "at": utcnow()})
                self._published_upto = max(self._published_upto, rows[confirmed - 1].id)
            if failure is not None:
                # Keep order: stop at the first unconfirmed event and try it again next round.
                stuck = rows[confirmed]
                connection.execute(_MARK_FAILED, {"row_id": stuck.id, "error": repr(failure)[:2000]})
                log.warning("could not publish event %s yet: %s", stuck.event_id, failure)
            connection.commit()
            return confirmed, failure is not None or len(rows) < BATCH_SIZE

    def _outgoing(self, row) -> Outgoing:
        message = amqp.Message(row.payload.encode("utf-8"), content_type="application/json",
                               content_encoding="utf-8", application_headers=json.loads(row.headers),
                               message_id=row.event_id, delivery_mode=PERSISTENT)
        return Outgoing(self.exchange, row.routing_key, message)

    def _housekeeping(self) -> None:
        """Forget published events, idempotency records and processed-event marks past retention."""
        now = utcnow()
        if self._last_housekeeping and now - self._last_housekeeping < timedelta(minutes=10):
            return
        self._last_housekeeping = now
        cutoff = now - self.retention
        with self.db.new_session() as session:
            session.execute(delete(OutboxMessage).where(OutboxMessage.published_at < cutoff))
            session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
            session.execute(delete(ProcessedEvent).where(ProcessedEvent.processed_at < now - self.inbox_retention))
            session.commit()


class EventEmitter:
    """What ``self.events`` is inside a worker."""

    def __init__(self, provider: EventOutbox, worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx
        self._hooked = False
        #: Events emitted and not yet inserted: they go in one statement just before the commit.
        self._staged: list[dict] = []

    def emit(self, evt: Event) -> None:
        if not self._staged:
            self._provider.db.before_commit(self._worker_ctx, self._insert_staged)
        self._staged.append(self._row(evt))
        self.relay_after_commit()

    def rows(self, events: list[Event]) -> tuple[Table, list[dict]]:
        """The outbox rows of ``events``, for a worker that writes them itself (group commit); the relay
        is woken once the worker's unit of work commits."""
        rows = [self._row(evt) for evt in events]
        if rows:
            self.relay_after_commit()
        return _OUTBOX, rows

    def _row(self, evt: Event) -> dict:
        provider = self._provider
        check_contract(provider.container.service_name, provider.allowed_events, evt)
        headers = {"nameko.call_id_stack": list(self._worker_ctx.call_id_stack)}
        return outbox_values(provider.container.service_name, evt, headers)

    def _insert_staged(self, session: Session) -> None:
        rows, self._staged = self._staged, []
        stage_events(session, rows)

    def relay_after_commit(self) -> None:
        """Wake the relay once this worker commits; call it after staging events with ``stage_event``."""
        if not self._hooked:
            self._provider.db.on_commit(self._worker_ctx, self._provider.relay.wake)
            self._hooked = True


class EventOutbox(DependencyProvider):
    """Inject ``emit(event)``: stage an event in the worker's transaction, publish after commit."""

    relay = OutboxRelay()

    def setup(self):
        self.db = find_database(self.container)
        contract = getattr(self.container.service_cls, "contract", None)
        self.allowed_events = set(contract.events) if contract is not None else set()

    def get_dependency(self, worker_ctx) -> EventEmitter:
        return EventEmitter(self, worker_ctx)
