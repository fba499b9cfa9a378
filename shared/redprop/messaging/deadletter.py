"""Retries and dead letters: a message that keeps failing ends in a dead-letter queue, with the reason.

- A failed event is re-published to ``<queue>.retry``, a holding queue whose TTL sends it back to
  ``<queue>`` after ``messaging.retry_delay`` seconds; the attempt number travels in a header.
- After ``messaging.max_delivery_attempts`` tries, or at once when retrying cannot help (the body
  cannot be decoded, or does not match the contract), the message is published to the dead-letter
  exchange with ``x-redprop-dead-*`` headers saying why, where from and when, and is then acknowledged.
  Nothing is redelivered forever. ``redprop dlq`` lists and replays dead letters.
- A request that failed and has no ``reply_to`` (nobody is waiting to hear why) is dead-lettered too,
  with its error (see ``rpc.py``).
"""

from __future__ import annotations

import logging
from functools import partial

from kombu import Connection
from nameko.amqp.publish import Publisher
from nameko.constants import PERSISTENT
from nameko.extensions import SharedExtension

from redprop.clock import utcnow
from redprop.config import settings_from_config
from redprop.errors import RedpropError
from redprop.messaging import wire
from redprop.messaging.consumer import ReconnectingQueueConsumer

log = logging.getLogger(__name__)


def attempt_of(message) -> int:
    # Anyone who may publish can set this header: a count below 1 would buy endless retries.
    try:
        return max(1, int((message.headers or {}).get(wire.H_ATTEMPT, 1)))
    except (TypeError, ValueError, OverflowError):
        return 1


class DeadLetters(SharedExtension):
    """Per-container helper that owns the dead-letter and retry topology of one service."""

    def setup(self):
        settings = settings_from_config(self.container.config)
        self.service = self.container.service_name
        self.amqp_uri = settings.amqp_uri
        self.messaging = settings.messaging
        self.max_attempts = settings.messaging.max_delivery_attempts
        self.publisher = Publisher(self.amqp_uri, use_confirms=True, delivery_mode=PERSISTENT)
        self._declared_retry: set[str] = set()
        with Connection(self.amqp_uri) as conn:
            wire.dead_letter_queue(self.service, self.messaging)(conn.default_channel).declare()

    def declare_retry_queue(self, queue_name: str) -> None:
        if queue_name in self._declared_retry:
            return
        with Connection(self.amqp_uri) as conn:
            wire.retry_queue(queue_name, self.messaging)(conn.default_channel).declare()
        self._declared_retry.add(queue_name)

    def _republish(self, message, *, exchange: str, routing_key: str, headers: dict) -> None:
        props = message.properties or {}
        self.publisher.publish(
            message.body,
            exchange=exchange,
            routing_key=routing_key,
            content_type=message.content_type or "application/octet-stream",
            # kombu would call an absent encoding "binary", which a JSON request is not: absent
            # means UTF-8 on the wire (see wire.check_envelope), so a replay is read as it was.
            content_encoding=message.content_encoding or (
                "utf-8" if message.content_type == wire.CONTENT_TYPE else "binary"),
            headers={**(message.headers or {}), **headers},
            correlation_id=props.get("correlation_id"),
            reply_to=props.get("reply_to"),
        )

    def retry_or_dead_letter(self, message, queue_name: str, exc: BaseException, retryable: bool) -> str:
        """Send a failed message to be tried again, or to the dead letters. Returns which."""
        attempt = attempt_of(message)
        if retryable and attempt < self.max_attempts:
            self.declare_retry_queue(queue_name)
            # The retry comes back by the queue's name: keep the routing key it first came with (a handler
            # of several event types reads the type from it).
            first_key = (message.headers or {}).get(wire.H_ORIGINAL_ROUTING_KEY) or (
                message.delivery_info or {}).get("routing_key", "")
            self._republish(message, exchange="", routing_key=f"{queue_name}.retry",
                            headers={wire.H_ATTEMPT: attempt + 1, wire.H_ORIGINAL_ROUTING_KEY: first_key})
            # The error's text can quote the message (a validation error's input): type only at WARNING.
            log.warning("retrying message from %s (attempt %d of %d): %s",
                        queue_name, attempt + 1, self.max_attempts, type(exc).__name__)
            log.debug("retrying message from %s: %s", queue_name, exc)
            return "retried"
        why = f"failed {attempt} time(s): {exc}" if retryable else f"cannot succeed: {exc}"
        # A domain error says its code; anything else is a fault of the handler.
        self.dead_letter(message, queue_name, why, type(exc).__name__,
                         error_code=exc.code if isinstance(exc, RedpropError) else "internal_error")
        return "dead-lettered"

    def dead_letter(self, message, queue_name: str, reason: str, error_type: str, *,
                    error_code: str | None = None, level: int = logging.ERROR) -> None:
        """Park ``message`` with why; ``level`` is WARNING for a caller's own mistake (not a fault here)."""
        info = message.delivery_info or {}
        extra = {wire.H_DEAD_ERROR_CODE: error_code} if error_code else {}
        self._republish(
            message,
            exchange=wire.DEAD_LETTER_EXCHANGE,
            routing_key=wire.dead_letter_key(self.service, queue_name),
            headers={
                wire.H_DEAD_REASON: reason[:2000],
                wire.H_DEAD_ERROR: error_type,
                wire.H_DEAD_QUEUE: queue_name,
                wire.H_DEAD_AT: utcnow().isoformat(),
                wire.H_ATTEMPT: attempt_of(message),
                wire.H_ORIGINAL_EXCHANGE: info.get("exchange", ""),
                wire.H_ORIGINAL_ROUTING_KEY: info.get("routing_key", ""),
                **extra,
            },
        )
        # The reason can quote the message; it travels with the dead letter (`redprop dlq list` shows it).
        log.log(level, "dead-lettered a message from %s (%s); `redprop dlq list` shows the reason",
                queue_name, error_type)
        log.debug("dead-letter reason for %s: %s", queue_name, reason[:500])


class DeadLetteringQueueConsumer(ReconnectingQueueConsumer):
    """nameko's QueueConsumer, except that it decodes each message itself and refuses one it cannot read.

    Plain nameko lets the decode error escape the consumer loop, which reconnects and receives the same
    message again: an endless redelivery loop. Here the envelope is checked first (``wire.check_envelope``:
    content type, encoding, the header nameko trips over) and then the body decoded; a message that
    fails either goes to its provider's ``refuse_undecodable(message, exc)`` if it has one (the RPC
    edge replies with a typed error when the caller can hear it), else to the dead letters. Nothing
    raised here may escape: it would stop the consumer thread and with it the container.
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
            # With ``on_message`` set kombu hands over the raw message instead of decoding it.
            consumer.on_message = partial(self._on_message, provider)
            consumer.on_decode_error = partial(self._on_decode_error, provider)
        return consumers

    def _on_message(self, provider, message):
        try:
            body = wire.decode_body(message)
        except Exception as exc:  # noqa: BLE001 - every way of being unreadable is refused alike
            self._on_decode_error(provider, message, exc)
            return
        self.handle_message(provider, body, message)

    def _on_decode_error(self, provider, message, exc):
        try:
            refuse = getattr(provider, "refuse_undecodable", None)
            if refuse is not None:
                refuse(message, exc)
                return
            self.dead_letters.dead_letter(message, provider.queue.name, f"undecodable message: {exc}",
                                          type(exc).__name__, error_code="bad_request")
            self.ack_message(message)
        except Exception as failure:  # noqa: BLE001 - see the class docstring
            # The message stays unacknowledged: it comes back when the connection is renewed, never lost.
            log.warning("could not refuse an undecodable message from %s (%s); it stays on the queue",
                        provider.queue.name, failure)
