"""Idempotent, dead-lettering event handlers: ``@event_handler("ticketing", TicketCreated)``.

One handler may take several event types of a service on one durable queue bound to each routing key:
``@event_handler("ticketing", TicketCreated, TicketResolved, ...)``; the routing key picks the contract
the body is checked against.

Delivery is at-least-once (the outbox may publish twice, the broker may redeliver), so each handler
records the ``event_id`` it processed in its own database, in the same transaction as its effects;
a redelivered event is acknowledged without running the handler again.

A failing handler's message is retried after a delay, and dead-lettered with the reason after
``messaging.max_delivery_attempts`` tries (or at once if it cannot succeed: a body that does not match
the event contract, or a non-retryable domain error). The queue is never blocked by a poison message.

A failure because the database is away (a restart, a failover) is neither: the message waits up to
``DATABASE_WAIT_S`` for the database and goes back to its queue unacknowledged, without counting as an
attempt, so an outage of any length dead-letters nothing and loses nothing.
"""

from __future__ import annotations

import logging
import sys
from functools import partial

from kombu import Queue, binding
from nameko.events import BROADCAST, SERVICE_POOL, EventHandler
from nameko.exceptions import ContainerBeingKilled
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from redprop.config import settings_from_config
from redprop.contracts.base import Event
from redprop.db.provider import (
    commit_unit_of_work,
    database_unavailable,
    find_database,
    rollback_unit_of_work,
)
from redprop.errors import RedpropError, ValidationFailed
from redprop.messaging import wire
from redprop.messaging.deadletter import DeadLetteringQueueConsumer, DeadLetters
from redprop.messaging.tables import ProcessedEvent

log = logging.getLogger(__name__)

#: How long a message whose database is away waits for it before going back to its queue. Bounded, so
#: that a stopping container is not held up by a worker waiting for a database that stays away.
DATABASE_WAIT_S = 10.0


class ContractEventHandler(EventHandler):
    queue_consumer = DeadLetteringQueueConsumer()
    dead_letters = DeadLetters()

    def __init__(self, source_service: str, *events: type[Event], handler_type=SERVICE_POOL, **kwargs):
        if not events or not all(isinstance(e, type) and issubclass(e, Event) and e.event_type for e in events):
            raise TypeError("event_handler needs one or more Event contract classes with an event_type")
        kwargs.setdefault("expected_exceptions", (RedpropError,))
        super().__init__(source_service, events[0].event_type, handler_type=handler_type,
                         reliable_delivery=True, requeue_on_error=False, **kwargs)
        self.event_models = {e.event_type: e for e in events}

    def setup(self):
        super().setup()  # declares the durable queue evt-<source>-<type>--<service>.<method>
        if len(self.event_models) > 1:
            # One queue for the family, bound to each type's routing key (named without a type).
            exchange = self.queue.exchange
            self.queue = Queue(f"evt-{self.source_service}--{self.container.service_name}.{self.method_name}",
                               bindings=[binding(exchange, routing_key=key) for key in self.event_models],
                               durable=True)
        # Quorum or classic by ``messaging.queue_type``; nameko declares it with no arguments.
        self.queue.queue_arguments = wire.queue_arguments(
            wire.EVENT, settings_from_config(self.container.config).messaging,
            dead_letter_routing_key=wire.dead_letter_key(self.container.service_name, self.queue.name))
        self.db = find_database(self.container)
        self.handler_key = f"{self.container.service_name}.{self.method_name}"

    def _model_for(self, message) -> type[Event]:
        """The contract of this message's event type: the routing key it was published with (a retry
        carries it in a header, since it comes back by the queue's name), else its event-type header."""
        if len(self.event_models) == 1:
            return next(iter(self.event_models.values()))
        headers = message.headers or {}
        for key in (headers.get(wire.H_ORIGINAL_ROUTING_KEY), (message.delivery_info or {}).get("routing_key"),
                    headers.get(wire.H_EVENT_TYPE)):
            if isinstance(key, str) and key in self.event_models:
                return self.event_models[key]
        raise ValidationFailed.for_field("routing_key", f"{self.handler_key} takes only {sorted(self.event_models)}")

    def _already_processed(self, event_id: str) -> bool:
        with self.db.new_session() as session:
            return session.execute(
                select(ProcessedEvent.event_id).where(
                    ProcessedEvent.handler == self.handler_key, ProcessedEvent.event_id == event_id)
            ).first() is not None

    def handle_message(self, body, message):
        try:
            evt = self._model_for(message).model_validate(body)
        except ValidationError as exc:
            self._fail(message, ValidationFailed.from_pydantic(exc))
            return
        except ValidationFailed as exc:
            self._fail(message, exc)
            return
        try:
            processed = self._already_processed(evt.event_id)
        except Exception as exc:
            # On the consumer's thread: an escaping error would kill the container.
            if not database_unavailable(exc, self.db):
                raise
            self._requeue_when_database_returns(message, evt, exc)
            return
        if processed:
            log.info("%s: event %s already processed; acknowledged", self.handler_key, evt.event_id)
            self.queue_consumer.ack_message(message)
            return
        context_data = self.unpack_message_headers(message)
        try:
            self.container.spawn_worker(self, (evt,), {}, context_data=context_data,
                                        handle_result=partial(self.handle_result, message, evt))
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_result(self, message, evt, worker_ctx, result, exc_info):
        if exc_info is None:
            exc_info = self._commit(worker_ctx, evt)
        if exc_info is None:
            self.queue_consumer.ack_message(message)
        elif database_unavailable(exc_info[1], self.db):
            self._requeue_when_database_returns(message, evt, exc_info[1])
        else:
            self._fail(message, exc_info[1])
        return result, exc_info

    def _commit(self, worker_ctx, evt):
        """Commit the handler's work with its inbox mark; the failure's exc_info, or None."""
        try:
            self.db.session_for(worker_ctx).add(ProcessedEvent(handler=self.handler_key, event_id=evt.event_id))
            commit_unit_of_work(worker_ctx)
            return None
        except IntegrityError:
            exc_info = sys.exc_info()
            try:
                rollback_unit_of_work(worker_ctx)
                if self._already_processed(evt.event_id):  # a concurrent delivery got there first
                    log.info("%s: event %s processed concurrently", self.handler_key, evt.event_id)
                    return None
            except Exception:
                return sys.exc_info()
            return exc_info  # a genuine conflict in the handler's own writes: try again later
        except Exception:
            exc_info = sys.exc_info()
            rollback_unit_of_work(worker_ctx)
            return exc_info

    def _requeue_when_database_returns(self, message, evt, exc: BaseException) -> None:
        log.warning("%s: the database is unavailable (%s); event %s goes back to its queue once it answers",
                    self.handler_key, type(exc).__name__, evt.event_id)
        if self.db.wait_until_available(DATABASE_WAIT_S):
            log.info("%s: the database answers again; event %s requeued", self.handler_key, evt.event_id)
        self.queue_consumer.requeue_message(message)

    def _fail(self, message, exc: BaseException) -> None:
        retryable = getattr(exc, "retryable", True)
        try:
            self.dead_letters.retry_or_dead_letter(message, self.queue.name, exc, retryable)
        except Exception:
            # Could not park it (broker trouble): leave it unacknowledged so it comes back.
            log.exception("%s: could not retry or dead-letter; requeueing", self.handler_key)
            self.queue_consumer.requeue_message(message)
            return
        self.queue_consumer.ack_message(message)


event_handler = ContractEventHandler.decorator


class BroadcastEventHandler(EventHandler):
    """Every running instance receives the event (its own auto-deleted queue): for in-memory state
    such as caches. No inbox and no retries: what it does must be idempotent and cheap, and an instance
    that was down starts afresh anyway. ``@broadcast_handler("registry", StructureChanged)``."""

    queue_consumer = DeadLetteringQueueConsumer()

    def __init__(self, source_service: str, event: type[Event], **kwargs):
        if not (isinstance(event, type) and issubclass(event, Event) and event.event_type):
            raise TypeError("broadcast_handler needs an Event contract class with an event_type")
        super().__init__(source_service, event.event_type, handler_type=BROADCAST, reliable_delivery=False,
                         **kwargs)
        self.event_model = event

    def handle_message(self, body, message):
        try:
            evt = self.event_model.model_validate(body)
        except ValidationError:
            log.warning("%s: ignoring a broadcast that does not match %s", self.method_name,
                        self.event_model.__name__)
            self.queue_consumer.ack_message(message)
            return
        super().handle_message(evt, message)

    def handle_result(self, message, worker_ctx, result, exc_info):
        self.queue_consumer.ack_message(message)  # nothing to retry: the next broadcast will do
        return result, exc_info


broadcast_handler = BroadcastEventHandler.decorator


class RoleEventHandler(ContractEventHandler):
    """An event handler only one role of a service consumes: ``@role_handler("city", "matching", OffersAdded)``.

    A service that runs as a district or as the city (``services.<name>.options.role``, validated by the
    service's own options model; ``district`` when absent) consumes different events in each role. A
    handler of the other role declares no queue and never runs, so a district does not fill a queue with
    its own events, and the city does not consume what it publishes itself.
    """

    DEFAULT_ROLE = "district"

    def __init__(self, role: str, source_service: str, *events: type[Event], **kwargs):
        super().__init__(source_service, *events, **kwargs)
        self.role = role
        self.active = False

    def setup(self):
        settings = settings_from_config(self.container.config)
        role = settings.service(self.container.service_name).options.get("role", self.DEFAULT_ROLE)
        self.active = role == self.role
        if self.active:
            super().setup()

    def stop(self):
        if self.active:
            super().stop()


role_handler = RoleEventHandler.decorator
