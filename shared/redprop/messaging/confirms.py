"""Publishing a batch of persistent messages with publisher confirms, in one round trip.

nameko's ``Publisher`` waits for the broker's confirm of each message before writing the next, and
takes a pooled connection for each. The outbox relay publishes many events at a time, so it writes a
batch back to back on one channel it keeps open, then waits for the confirms of all of them together
(RabbitMQ confirms in delivery-tag order, often several with one ``multiple`` ack). Only the messages
confirmed before the first refused or unconfirmed one count as published; the caller publishes the
rest again later (consumers are idempotent on the event id).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import amqp
from kombu import Connection, Exchange
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)


def renewed(connection: Connection) -> Connection:
    """Close ``connection`` quietly (it may be broken) and return a fresh, unopened copy of it.

    With several broker addresses (a cluster), the copy starts at the address after the one in use:
    kombu's ``clone()`` would start its rotation afresh at the second address, so a dead second node
    would be tried forever while the others were up (found by tests/faults/test_cluster.py).
    """
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - it is being thrown away
        pass
    addresses = list(connection.alt or [])
    if len(addresses) < 2:
        return connection.clone()
    current = next((i for i, a in enumerate(addresses)
                    if (urlsplit(a).hostname, urlsplit(a).port) == (connection.hostname, connection.port)), -1)
    rotated = addresses[current + 1:] + addresses[:current + 1]
    return connection.clone(hostname=";".join(rotated), alternates=[], port=None)


@dataclass(frozen=True)
class Outgoing:
    exchange: Exchange
    routing_key: str
    message: amqp.Message


class PublishIncomplete(Exception):
    """The broker did not confirm every message of a batch; ``confirmed`` of them (a prefix) it did."""

    def __init__(self, confirmed: int, reason: str):
        super().__init__(reason)
        self.confirmed = confirmed


class BatchPublisher:
    """One kept-open channel in confirm mode; :meth:`publish` sends a batch and awaits its confirms."""

    def __init__(self, amqp_uri: str, *, confirm_timeout: float = 30.0):
        self._connection = Connection(amqp_uri)
        self.confirm_timeout = confirm_timeout
        self._channel = None
        self._declared: set[str] = set()
        self._errors = self._connection.connection_errors + self._connection.channel_errors
        # Per channel: the next delivery tag, and the confirms received so far.
        self._next_tag = 1
        self._acked_upto = 0
        self._acked: set[int] = set()
        self._nacked: set[int] = set()

    def publish(self, batch: Sequence[Outgoing]) -> int:
        """Publish ``batch`` in order; returns how many were confirmed (all), else raises
        :class:`PublishIncomplete` (or the connection's error) after closing the channel."""
        if not batch:
            return 0
        try:
            channel = self._open()
            first = self._next_tag
            for item in batch:
                if item.exchange.name not in self._declared:
                    item.exchange(channel).declare()
                    self._declared.add(item.exchange.name)
                channel.basic_publish(item.message, exchange=item.exchange.name, routing_key=item.routing_key)
                self._next_tag += 1
            return self._await(first, len(batch))
        except PublishIncomplete:
            self.close()
            raise
        except (*self._errors, OperationalError, OSError) as exc:
            self.close()
            raise PublishIncomplete(0, f"the broker connection failed: {exc!r}") from exc

    def _await(self, first: int, count: int) -> int:
        last = first + count - 1
        deadline = time.monotonic() + self.confirm_timeout
        while not self._settled(last):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishIncomplete(self._confirmed_prefix(first, last),
                                        f"no confirm within {self.confirm_timeout:g} s")
            try:
                self._connection.drain_events(timeout=remaining)
            except TimeoutError:
                continue
        confirmed = self._confirmed_prefix(first, last)
        if confirmed < count:
            raise PublishIncomplete(confirmed, f"the broker refused message {confirmed + 1} of {count}")
        return count

    def _settled(self, last: int) -> bool:
        """Has every message up to ``last`` been confirmed or refused?"""
        if self._acked_upto >= last:
            return True
        return all(t in self._acked or t in self._nacked for t in range(self._acked_upto + 1, last + 1))

    def _confirmed_prefix(self, first: int, last: int) -> int:
        tag = first
        while tag <= last and (tag <= self._acked_upto or tag in self._acked) and tag not in self._nacked:
            tag += 1
        return tag - first

    # -- the broker's answers ------------------------------------------------------------------------

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        if multiple:
            self._acked_upto = max(self._acked_upto, delivery_tag)
            self._acked = {t for t in self._acked if t > self._acked_upto}
        else:
            self._acked.add(delivery_tag)
        # Keep the set small: fold the unbroken run of confirms into the watermark.
        while self._acked_upto + 1 in self._acked:
            self._acked_upto += 1
            self._acked.discard(self._acked_upto)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        if multiple:
            self._nacked.update(t for t in range(self._acked_upto + 1, delivery_tag + 1) if t not in self._acked)
        else:
            self._nacked.add(delivery_tag)

    # -- the channel -----------------------------------------------------------------------------

    def _open(self):
        if self._channel is None:
            self._connection.ensure_connection(max_retries=1)
            channel = self._connection.channel()
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            self._channel = channel
            self._next_tag, self._acked_upto = 1, 0
            self._acked, self._nacked = set(), set()
            self._declared.clear()
        return self._channel

    def close(self) -> None:
        self._channel = None
        self._connection = renewed(self._connection)
