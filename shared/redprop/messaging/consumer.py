"""nameko's QueueConsumer, made to ride out a broker restart.

nameko's consumer loop (kombu's ``ConsumerMixin``) already reconnects by itself, with backoff, when the
broker goes away. Two things around it did not survive a restart:

- Acknowledging or requeueing on a socket that broke before the client noticed: nameko catches only
  amqp's ``ConnectionError``, so a ``BrokenPipeError`` or ``ConnectionResetError`` escaped the worker
  and killed the container. Here any connection failure is logged and dropped: the broker returns an
  unacknowledged message to its queue when the connection closes, so nothing is lost (a command is then
  replayed from its stored reply, an event skipped by the inbox).
- Readiness: :attr:`connected` says whether the consumers are attached now (``/readyz`` reports it).

A lost connection is one WARNING line (kombu logs a traceback for an outage that is no bug).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

import amqp.exceptions
import eventlet
from nameko.messaging import QueueConsumer

log = logging.getLogger(__name__)

#: Reconnecting: the first retry after this many seconds, one step more each time, at most the cap.
RECONNECT_START_S = 0.5
RECONNECT_MAX_S = 5.0

#: What a dead or dying connection raises when a message is settled on it.
SETTLE_ERRORS = (OSError, amqp.exceptions.ConnectionError, amqp.exceptions.RecoverableConnectionError,
                 amqp.exceptions.ChannelError)


class ReconnectingQueueConsumer(QueueConsumer):
    """See the module docstring."""

    def setup(self):
        super().setup()
        self.connected = False

    def ack_message(self, message):
        self._settle(message, "ack")

    def requeue_message(self, message):
        self._settle(message, "requeue")

    def _settle(self, message, how: str) -> None:
        if not message.channel.connection:
            return  # the connection closed: the broker has put the message back already
        try:
            getattr(message, how)()
        except SETTLE_ERRORS as exc:
            log.warning("%s: could not %s a message from %s, the broker connection is gone (%r); "
                        "the broker delivers it again", self.container.service_name, how,
                        (message.delivery_info or {}).get("routing_key"), exc)

    # -- the consumer loop -------------------------------------------------------------------------

    def run(self, _tokens=1, **kwargs):
        # kombu's ConsumerMixin.run, with the outage logged as one line instead of a traceback.
        errors = self.connection.connection_errors + self.connection.channel_errors
        while not self.should_stop:
            try:
                if self.restart_limit.can_consume(_tokens):
                    for _ in self.consume(limit=None, **kwargs):
                        pass
                else:
                    eventlet.sleep(self.restart_limit.expected_time(_tokens))
            except errors as exc:
                self.connected = False
                log.warning("%s: lost the broker connection (%r); reconnecting", self.container.service_name,
                            exc)

    @contextmanager
    def establish_connection(self):
        # kombu's default backoff grows to 30 s between attempts: a broker back after a 15 s restart
        # would wait up to 20 s more for its consumers. Here it is capped at RECONNECT_MAX_S.
        with self.create_connection() as conn:
            conn.ensure_connection(self.on_connection_error, self.connect_max_retries,
                                   interval_start=RECONNECT_START_S, interval_step=RECONNECT_START_S,
                                   interval_max=RECONNECT_MAX_S)
            yield conn

    def consume(self, *args, **kwargs):
        try:
            yield from super().consume(*args, **kwargs)
        finally:
            self.connected = False

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        if not self.connected:
            log.info("%s: consuming from the broker", self.container.service_name)
        self.connected = True
        super().on_consume_ready(connection, channel, consumers, **kwargs)

    def on_connection_error(self, exc, interval):
        self.connected = False
        super().on_connection_error(exc, interval)
