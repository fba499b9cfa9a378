"""Batched event handlers: ``@batch_event_handler("ticketing", TicketCreated, ...)``; the method gets a list.

A consumer that keeps a running sum (evaluation's KPIs) does a few small writes per event; one event per
transaction pays, besides them, an inbox look-up, an inbox insert and a COMMIT each. Here the messages
that arrive together (at most the prefetch, ``max_workers``) are handled as one batch, as intake's group
commit does for commands: one inbox look-up for all (``event_id IN (...)``), one worker that gets the new
events in arrival order, one multi-row inbox insert and one COMMIT, then every message is acknowledged.

Exactly-once is the single handler's: the batch's effects and its inbox rows commit together or not at
all, and a message is acknowledged only after its commit. A crash mid-batch leaves every message of it
unacknowledged and nothing written, so they all come back and run once. If the batch fails, each event
runs again alone through the same path (so a poison event costs only itself: it is retried or
dead-lettered by :class:`~redprop.messaging.events.ContractEventHandler`'s rules, the others commit). A
batch that the database cannot take (it is away) goes back to the queue whole, as one event would.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from functools import partial

import eventlet
from eventlet.event import Event as GreenEvent
from eventlet.queue import Empty, LightQueue
from nameko.exceptions import ContainerBeingKilled
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from redprop.clock import utcnow
from redprop.contracts.base import Event
from redprop.db.provider import commit_unit_of_work, database_unavailable, rollback_unit_of_work
from redprop.errors import ValidationFailed
from redprop.messaging.events import DATABASE_WAIT_S, ContractEventHandler
from redprop.messaging.tables import ProcessedEvent

log = logging.getLogger(__name__)

_INBOX = ProcessedEvent.__table__
#: What the worker of a batch "returns" when the container is being killed: its messages went back.
_REQUEUED = object()


@dataclass
class _Item:
    evt: Event
    message: object
    #: Other deliveries of the same event in this batch: settled as this one is.
    twins: list = field(default_factory=list)


class BatchEventHandler(ContractEventHandler):
    """See the module docstring. The decorated method takes ``events: list[Event]``."""

    def setup(self):
        super().setup()
        self._queue: LightQueue = LightQueue()
        self._running = False
        self._gt = None
        self.batches = self.events_handled = 0

    def start(self):
        super().start()
        self._running = True
        self._gt = self.container.spawn_managed_thread(self._run, identifier=f"{self.handler_key}.batches")

    def stop(self):
        self._running = False  # the writer finishes what it holds; what is still queued goes back
        if self._gt is not None:
            self._gt.wait()
        while not self._queue.empty():
            self.queue_consumer.requeue_message(self._queue.get_nowait()[1])
        super().stop()

    def kill(self):
        self._running = False
        if self._gt is not None:
            self._gt.kill()
        super().kill()

    def handle_message(self, body, message):
        try:
            evt = self._model_for(message).model_validate(body)
        except ValidationError as exc:
            self._fail(message, ValidationFailed.from_pydantic(exc))
            return
        except ValidationFailed as exc:
            self._fail(message, exc)
            return
        self._queue.put((evt, message))

    # -- the writer ------------------------------------------------------------------------------

    def _run(self):
        while self._running:
            try:
                first = self._queue.get(timeout=0.2)
            except Empty:
                continue
            eventlet.sleep(0)  # the messages already being read join this batch
            batch = [first]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except Empty:
                    break
            try:
                self._handle(batch)
            except Exception:  # noqa: BLE001 - the writer must live: the messages come back
                log.exception("%s: a batch of %d events failed unexpectedly; requeued", self.handler_key, len(batch))
                for _, message in batch:
                    self.queue_consumer.requeue_message(message)

    def _handle(self, batch: list[tuple[Event, object]]) -> None:
        items: dict[str, _Item] = {}
        for evt, message in batch:
            if evt.event_id in items:
                items[evt.event_id].twins.append(message)
            else:
                items[evt.event_id] = _Item(evt, message)
        try:
            done = self._processed(list(items))
        except Exception as exc:
            if not database_unavailable(exc, self.db):
                raise
            self._requeue_all(list(items.values()), exc)
            return
        for event_id in done:
            item = items.pop(event_id)
            log.info("%s: event %s already processed; acknowledged", self.handler_key, event_id)
            self._settle(item, None)
        if not items:
            return
        fresh = list(items.values())
        exc_info = self._run_worker(fresh)
        if exc_info is _REQUEUED:
            return
        if exc_info is None:
            self.batches += 1
            self.events_handled += len(fresh)
            for item in fresh:
                self._settle(item, None)
        elif database_unavailable(exc_info[1], self.db):
            self._requeue_all(fresh, exc_info[1])
        elif len(fresh) == 1:
            if isinstance(exc_info[1], IntegrityError) and self._already_processed(fresh[0].evt.event_id):
                log.info("%s: event %s processed concurrently", self.handler_key, fresh[0].evt.event_id)
                self._settle(fresh[0], None)
            else:
                self._settle(fresh[0], exc_info[1])
        else:
            log.info("%s: a batch of %d events failed (%s); running each alone", self.handler_key, len(fresh),
                     type(exc_info[1]).__name__)
            for item in fresh:
                self._handle([(item.evt, item.message)] + [(item.evt, twin) for twin in item.twins])

    def _processed(self, event_ids: list[str]) -> set[str]:
        with self.db.new_session() as session:
            return set(session.execute(select(ProcessedEvent.event_id).where(
                ProcessedEvent.handler == self.handler_key, ProcessedEvent.event_id.in_(event_ids))).scalars())

    def _run_worker(self, items: list[_Item]):
        """Run the handler on the batch in one worker; its commit's exc_info, or None."""
        finished = GreenEvent()
        events = [item.evt for item in items]
        try:
            self.container.spawn_worker(self, (events,), {}, context_data=self.unpack_message_headers(items[0].message),
                                        handle_result=partial(self._batch_result, events, finished))
        except ContainerBeingKilled:
            for item in items:
                self._requeue(item)
            return _REQUEUED
        return finished.wait()

    def _batch_result(self, events, finished, worker_ctx, result, exc_info):
        if exc_info is None:
            try:
                now = utcnow()
                self.db.session_for(worker_ctx).execute(insert(_INBOX), [
                    {"handler": self.handler_key, "event_id": e.event_id, "processed_at": now} for e in events])
                commit_unit_of_work(worker_ctx)
            except Exception:
                exc_info = sys.exc_info()
                try:
                    rollback_unit_of_work(worker_ctx)
                except Exception:  # noqa: BLE001 - a broken connection: the database drops the transaction
                    pass
        finished.send(exc_info)
        return result, exc_info

    # -- settling the messages -------------------------------------------------------------------

    def _settle(self, item: _Item, exc: BaseException | None) -> None:
        for message in [item.message, *item.twins]:
            if exc is None:
                self.queue_consumer.ack_message(message)
            else:
                self._fail(message, exc)

    def _requeue(self, item: _Item) -> None:
        for message in [item.message, *item.twins]:
            self.queue_consumer.requeue_message(message)

    def _requeue_all(self, items: list[_Item], exc: BaseException) -> None:
        log.warning("%s: the database is unavailable (%s); %d events go back to their queue once it answers",
                    self.handler_key, type(exc).__name__, len(items))
        if self.db.wait_until_available(DATABASE_WAIT_S):
            log.info("%s: the database answers again; %d events requeued", self.handler_key, len(items))
        for item in items:
            self._requeue(item)


batch_event_handler = BatchEventHandler.decorator
