"""Retries and dead letters: a message that keeps failing ends in a dead-letter queue, with the reason.

- A failed event is re-published to ``<queue>.retry``, a holding queue whose TTL sends it back to
  ``<queue>`` after ``messaging.retry_delay`` seconds; the attempt number travels in a header.
- After ``messaging.max_delivery_attempts`` tries, or at once when retrying cannot help (the body
  cannot be decoded, or does not match the contract), the message is published to the dead-letter
  exchange with ``x-redprop-dead-*`` headers saying why, where from and when, and is then acknowledged.
  Nothing is redelivered forever. ``redprop dlq`` lists and replays dead letters.
"""

from __future__ import annotations

import logging
from functools import partial

from kombu import Connection
from nameko.amqp.publish import Publisher
from nameko.constants import PERSISTENT
from nameko.extensions import SharedExtension
from nameko.messaging import QueueConsumer

from redprop.config import settings_from_config
from redprop.contracts.base import utcnow
from redprop.messaging import wire

log = logging.getLogger(__name__)


def attempt_of(message) -> int:
    try:
        return int((message.headers or {}).get(wire.H_ATTEMPT, 1))
    except (TypeError, ValueError):
        return 1


class DeadLetters(SharedExtension):
    """Per-container helper that owns the dead-letter and retry topology of one service."""

    def setup(self):
        settings = settings_from_config(self.container.config)
        self.service = self.container.service_name
        self.amqp_uri = settings.amqp_uri
        self.retry_delay = settings.messaging.retry_delay
        self.max_attempts = settings.messaging.max_delivery_attempts
        self.publisher = Publisher(self.amqp_uri, use_confirms=True, delivery_mode=PERSISTENT)
        self._declared_retry: set[str] = set()
        with Connection(self.amqp_uri) as conn:
            wire.dead_letter_queue(self.service)(conn.default_channel).declare()

    def declare_retry_queue(self, queue_name: str) -> None:
        if queue_name in self._declared_retry:
            return
        with Connection(self.amqp_uri) as conn:
            wire.retry_queue(queue_name, self.retry_delay)(conn.default_channel).declare()
        self._declared_retry.add(queue_name)

    def _republish(self, message, *, exchange: str, routing_key: str, headers: dict) -> None:
        props = message.properties or {}
        self.publisher.publish(
            message.body,
            exchange=exchange,
            routing_key=routing_key,
            content_type=message.content_type or "application/octet-stream",
            content_encoding=message.content_encoding or "binary",
            headers={**(message.headers or {}), **headers},
            correlation_id=props.get("correlation_id"),
            reply_to=props.get("reply_to"),
        )

    def retry_or_dead_letter(self, message, queue_name: str, exc: BaseException, retryable: bool) -> str:
        """Send a failed message to be tried again, or to the dead letters. Returns which."""
        attempt = attempt_of(message)
        if retryable and attempt < self.max_attempts:
            self.declare_retry_queue(queue_name)
            self._republish(message, exchange="", routing_key=f"{queue_name}.retry",
                            headers={wire.H_ATTEMPT: attempt + 1})
            # The error's text can quote the message (a validation error's input): type only at WARNING.
            log.warning("retrying message from %s (attempt %d of %d): %s",
                        queue_name, attempt + 1, self.max_attempts, type(exc).__name__)
            log.debug("retrying message from %s: %s", queue_name, exc)
            return "retried"
        why = f"failed {attempt} time(s): {exc}" if retryable else f"cannot succeed: {exc}"
        self.dead_letter(message, queue_name, why, type(exc).__name__)
        return "dead-lettered"

    def dead_letter(self, message, queue_name: str, reason: str, error_type: str) -> None:
        info = message.delivery_info or {}
        self._republish(
            message,
            exchange=wire.DEAD_LETTER_EXCHANGE,
            routing_key=f"{self.service}.{queue_name}",
            headers={
                wire.H_DEAD_REASON: reason[:2000],
                wire.H_DEAD_ERROR: error_type,
                wire.H_DEAD_QUEUE: queue_name,
                wire.H_DEAD_AT: utcnow().isoformat(),
                wire.H_ATTEMPT: attempt_of(message),
                wire.H_ORIGINAL_EXCHANGE: info.get("exchange", ""),
                wire.H_ORIGINAL_ROUTING_KEY: info.get("routing_key", ""),
            },
        )
        # The reason can quote the message; it travels with the dead letter (`redprop dlq list` shows it).
        log.error("dead-lettered a message from %s (%s); `redprop dlq list` shows the reason", queue_name, error_type)
        log.debug("dead-letter reason for %s: %s", queue_name, reason)


class DeadLetteringQueueConsumer(QueueConsumer):
    """nameko's QueueConsumer, except that a message whose body cannot be decoded is dead-lettered.

    Plain nameko lets the decode error escape the consumer loop, which reconnects and receives the same
    message again: an endless redelivery loop.
    """

    dead_letters = DeadLetters()

    #: How often the consumer loop looks up from the socket to see whether it should stop. kombu's
    #: default of 1 s makes every container take a second or more to stop.
    STOP_CHECK_INTERVAL = 0.25

    def consume(self, limit=None, timeout=None, safety_interval=None, **kwargs):
        return super().consume(limit=limit, timeout=timeout,
                               safety_interval=safety_interval or self.STOP_CHECK_INTERVAL, **kwargs)

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(self._on_decode_error, provider)
        return consumers

    def _on_decode_error(self, provider, message, exc):
        # If dead-lettering fails the message stays unacknowledged and comes back: never lost.
        self.dead_letters.dead_letter(message, provider.queue.name, f"undecodable message: {exc}",
                                      type(exc).__name__)
        message.ack()
