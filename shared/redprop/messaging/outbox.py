"""Transactional outbox: events are stored with the change that caused them and published after commit.

``self.events.emit(SomethingHappened(...))`` adds a row to the worker's own transaction, so the event
exists if and only if the change does. The :class:`OutboxRelay` publishes unpublished rows in order,
with publisher confirms, and marks them published. It is woken right after each commit and also sweeps
every ``messaging.outbox_poll_interval`` seconds, so events left behind by a crash between commit and
publish go out when the service (or another replica) runs again. A crash after publishing but before
marking can publish an event twice; consumers are idempotent on ``event_id`` (see ``events.py``).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import eventlet
from eventlet.event import Event as GreenEvent
from eventlet.semaphore import Semaphore
from nameko.amqp.publish import Publisher
from nameko.constants import PERSISTENT
from nameko.extensions import DependencyProvider, SharedExtension
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from redprop.config import settings_from_config
from redprop.contracts.base import Event, utcnow
from redprop.db.provider import find_database
from redprop.messaging import wire
from redprop.messaging.tables import IdempotencyRecord, OutboxMessage, ProcessedEvent

log = logging.getLogger(__name__)

BATCH_SIZE = 200


def stage_event(session: Session, service: str, evt: Event, headers: dict | None = None) -> OutboxMessage:
    """Add ``evt`` to the outbox inside ``session``'s transaction (no publishing happens here)."""
    row = OutboxMessage(
        event_id=evt.event_id,
        exchange=f"{service}.events",
        routing_key=evt.event_type,
        payload=evt.model_dump_json(),
        headers=json.dumps({
            **(headers or {}),
            wire.H_EVENT_ID: evt.event_id,
            wire.H_EVENT_TYPE: evt.event_type,
            wire.H_DISTRICT: evt.district,
            wire.H_SCHEMA_VERSION: str(evt.schema_version),
        }),
    )
    session.add(row)
    return row


class OutboxRelay(SharedExtension):
    """Publishes the service's outbox; one green thread per container."""

    def setup(self):
        settings = settings_from_config(self.container.config)
        self.service = self.container.service_name
        self.db = find_database(self.container)
        self.poll_interval = settings.messaging.outbox_poll_interval
        self.retention = timedelta(hours=settings.messaging.retention_hours)
        self.inbox_retention = timedelta(days=settings.messaging.inbox_retention_days)
        self.publisher = Publisher(settings.amqp_uri, use_confirms=True, delivery_mode=PERSISTENT)
        self._wakeup = GreenEvent()
        self._lock = Semaphore()
        self._running = False
        self._gt = None
        self._last_housekeeping = None
        self.published_total = 0

    def start(self):
        self._running = True
        self._gt = self.container.spawn_managed_thread(self._run, identifier="outbox-relay")

    def stop(self):
        self._running = False
        self.wake()
        if self._gt is not None:
            self._gt.wait()
        self.relay_pending()  # a last flush of whatever the final workers committed

    def kill(self):
        self._running = False
        if self._gt is not None:
            self._gt.kill()

    def wake(self, *_args) -> None:
        if not self._wakeup.ready():
            self._wakeup.send(True)

    def _run(self):
        while self._running:
            try:
                self.relay_pending()
                self._housekeeping()
            except Exception:
                # The database or broker is away; the rows wait and the next round tries again.
                log.exception("outbox relay round failed for %s", self.service)
            with eventlet.Timeout(self.poll_interval, False):
                self._wakeup.wait()
            self._wakeup = GreenEvent()

    def relay_pending(self) -> int:
        """Publish unpublished rows in order; returns how many went out."""
        published = 0
        with self._lock:
            while True:
                count, done = self._relay_batch()
                published += count
                if done:
                    break
        self.published_total += published
        return published

    def _relay_batch(self) -> tuple[int, bool]:
        with self.db.new_session() as session:
            rows = session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.published_at.is_(None))
                .order_by(OutboxMessage.id)
                .limit(BATCH_SIZE)
                .with_for_update(skip_locked=True)  # replicas share the work (ignored by SQLite)
            ).scalars().all()
            count = 0
            for row in rows:
                try:
                    self._publish(row)
                except Exception as exc:
                    row.attempts += 1
                    row.last_error = repr(exc)[:2000]
                    session.commit()
                    log.warning("could not publish event %s yet: %r", row.event_id, exc)
                    return count, True  # keep order: stop at the first failure, retry next round
                row.published_at = utcnow()
                count += 1
            session.commit()
            return count, len(rows) < BATCH_SIZE

    def _publish(self, row: OutboxMessage) -> None:
        self.publisher.publish(
            row.payload.encode("utf-8"),
            exchange=wire.event_exchange(self.service),
            routing_key=row.routing_key,
            content_type="application/json",
            content_encoding="utf-8",
            headers=json.loads(row.headers),
            message_id=row.event_id,
            declare=[wire.event_exchange(self.service)],
        )

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

    def emit(self, evt: Event) -> None:
        provider = self._provider
        if type(evt).event_type not in provider.allowed_events:
            raise TypeError(
                f"{type(evt).__name__} ({evt.event_type!r}) is not an event of the "
                f"{provider.container.service_name} contract"
            )
        session = provider.db.session_for(self._worker_ctx)
        headers = {"nameko.call_id_stack": list(self._worker_ctx.call_id_stack)}
        stage_event(session, provider.container.service_name, evt, headers)
        self.relay_after_commit()

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
