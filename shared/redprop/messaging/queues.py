"""The suite's queues as the broker has them, and moving a queue to another type (``redprop queues``).

A queue's type (classic or quorum) and arguments are fixed when it is declared, so switching an existing
installation to ``messaging.queue_type: quorum`` needs each durable queue drained and declared again:

1. bind a holding queue ``<queue>.migrating`` (durable, classic) wherever the queue is bound, so what is
   published meanwhile waits there, then unbind the queue;
2. move every message of the queue to the holding queue (published with confirms, acknowledged only
   once confirmed: nothing lost; a crash between the two repeats one message, which consumers dedupe);
3. delete the (now empty) queue and declare it again with the arguments of the configured type
   (``wire.queue_arguments``), with its bindings;
4. move everything back the same way, unbind and delete the holding queue.

Each step looks at what the broker has first, so a run that was interrupted is finished by running it
again, and a queue already of the right type is left alone. Consumers must be stopped first (stop the
service): a consumer attached to the queue would be cut off by its deletion mid-message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import amqp
from kombu import Connection

from redprop.messaging import wire
from redprop.messaging.management import RabbitManagement

HOLDING_SUFFIX = ".migrating"
#: Headers the broker keeps about deliveries on a quorum queue: a moved message starts afresh.
BROKER_DELIVERY_HEADERS = ("x-delivery-count",)

_EVENT_QUEUE = re.compile(r"^evt-.+--(?P<service>[^.]+)\..+$")


class MigrationRefused(Exception):
    """The queue cannot be migrated now (consumers attached, an unknown queue); says what to do."""


def vhost_of(amqp_uri: str) -> str:
    return unquote(urlsplit(amqp_uri.split(";", 1)[0]).path[1:] or "/")


def purpose_of(name: str) -> tuple[str, dict[str, Any]] | None:
    """(purpose, the keywords ``wire.queue_arguments`` needs) of one of the suite's durable queues by
    its name, or None for a queue that is not the suite's (a test's, a reply queue...)."""
    if name.endswith(".retry"):
        return wire.RETRY, {"retry_to": name[: -len(".retry")]}
    if name.startswith("redprop.dlq."):
        return wire.DEAD_LETTER, {}
    if name.startswith("rpc-") and not name.startswith("rpc.reply"):
        return wire.COMMAND, {"dead_letter_routing_key": wire.dead_letter_key(name[len("rpc-"):], name)}
    match = _EVENT_QUEUE.match(name)
    if match:
        return wire.EVENT, {"dead_letter_routing_key": wire.dead_letter_key(match["service"], name)}
    return None


def expected_arguments(name: str, messaging) -> dict[str, Any] | None:
    """The arguments the suite declares queue ``name`` with under ``messaging``; None if not its queue."""
    found = purpose_of(name)
    if found is None:
        return None
    purpose, keywords = found
    if purpose == wire.RETRY:
        keywords["retry_delay"] = messaging.retry_delay
    return wire.queue_arguments(purpose, messaging, **keywords)


@dataclass
class QueueReport:
    name: str
    type: str
    arguments: dict[str, Any]
    messages: int
    consumers: int
    #: What the settings say this queue should be: ``quorum``, ``classic``, or None (not the suite's).
    expected_type: str | None
    matches: bool | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def list_queues(amqp_uri: str, messaging, management: RabbitManagement) -> list[QueueReport]:
    out = []
    for q in sorted(management.queues(vhost_of(amqp_uri)), key=lambda q: q["name"]):
        kind = q.get("type", "classic")
        if q.get("exclusive") or q.get("auto_delete"):
            expected = "classic"  # reply and broadcast queues: always exclusive classic queues
        elif purpose_of(q["name"]) is not None:
            expected = messaging.queue_type
        else:
            expected = None
        out.append(QueueReport(
            name=q["name"], type=kind, arguments=q.get("arguments") or {},
            messages=int(q.get("messages") or 0), consumers=int(q.get("consumers") or 0),
            expected_type=expected, matches=None if expected is None else kind == expected))
    return out


@dataclass
class Migration:
    """Move one queue to the arguments the settings give it; see the module docstring."""

    amqp_uri: str
    messaging: Any
    management: RabbitManagement
    name: str
    force: bool = False
    say: Callable[[str], None] = print
    moved_out: int = 0
    moved_back: int = 0
    _bindings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def holding(self) -> str:
        return self.name + HOLDING_SUFFIX

    def run(self) -> str:
        """Migrate; returns ``migrated`` or ``unchanged``. Raises MigrationRefused."""
        target = expected_arguments(self.name, self.messaging)
        if target is None:
            raise MigrationRefused(f"{self.name!r} is not one of the suite's queues (rpc-*, evt-*, "
                                   "redprop.dlq.*, *.retry); nothing done")
        vhost = vhost_of(self.amqp_uri)
        current = self.management.queue(vhost, self.name)
        holding = self.management.queue(vhost, self.holding)
        if holding is None and current is not None and (current.get("arguments") or {}) == target:
            self.say(f"{self.name}: already {current.get('type')} with the configured arguments; nothing to do")
            return "unchanged"
        if holding is not None:
            self.say(f"{self.name}: {self.holding} exists: finishing a migration that was interrupted")
        consumers = self._consumers() if current is not None else 0
        if consumers and not self.force:
            raise MigrationRefused(
                f"{self.name} has {consumers} consumer(s): stop the service that consumes it "
                f"first (or pass --force to cut them off; they reconnect to the new queue)")
        # An interrupted run may have moved the bindings over to the holding queue already.
        found = [b for q, state in ((self.name, current), (self.holding, holding)) if state is not None
                 for b in self._bindings_of(q)]
        self._bindings = [b for i, b in enumerate(found) if b not in found[:i]]
        with Connection(self.amqp_uri) as conn:
            channel = self._channel(conn)
            channel.queue_declare(self.holding, durable=True, auto_delete=False)
            for b in self._bindings:  # what is published meanwhile waits in the holding queue
                channel.queue_bind(self.holding, b["source"], b["routing_key"], arguments=b["arguments"])
            if current is not None and (current.get("arguments") or {}) != target:
                for b in self._bindings:
                    channel.queue_unbind(self.name, b["source"], b["routing_key"], arguments=b["arguments"])
                self.moved_out = self._move(channel, self.name, self.holding)
                self.say(f"{self.name}: moved {self.moved_out} message(s) to {self.holding}")
                channel.queue_delete(self.name, if_empty=True)
                self.say(f"{self.name}: deleted the {current.get('type')} queue")
                # RabbitMQ 3.10 keeps a channel's view of the old queue's type: a publish on the same
                # channel to the new queue of that name crashes the channel. A fresh one does not.
                channel.close()
                channel = self._channel(conn)
            channel.queue_declare(self.name, durable=True, auto_delete=False, arguments=target)
            for b in self._bindings:
                channel.queue_bind(self.name, b["source"], b["routing_key"], arguments=b["arguments"])
            self.say(f"{self.name}: declared as {self.messaging.queue_type} with {len(self._bindings)} binding(s)")
            for b in self._bindings:
                channel.queue_unbind(self.holding, b["source"], b["routing_key"], arguments=b["arguments"])
            self.moved_back = self._move(channel, self.holding, self.name)
            self.say(f"{self.name}: moved {self.moved_back} message(s) back")
            channel.queue_delete(self.holding, if_empty=True)
            self.say(f"{self.name}: done; {self.holding} deleted")
        return "migrated"

    def _consumers(self) -> int:
        # From the broker itself: the management API's count is a statistic, seconds behind.
        with Connection(self.amqp_uri) as conn:
            return conn.channel().queue_declare(self.name, passive=True).consumer_count

    @staticmethod
    def _channel(conn):
        channel = conn.channel()
        channel.confirm_select()
        return channel

    def _bindings_of(self, queue: str) -> list[dict[str, Any]]:
        path = f"/queues/{quote(vhost_of(self.amqp_uri), safe='')}/{quote(queue, safe='')}/bindings"
        found = self.management.request("GET", path) or []
        # The default exchange's implicit binding is the broker's, not ours to copy.
        return [{"source": b["source"], "routing_key": b["routing_key"], "arguments": b.get("arguments") or {}}
                for b in found if b.get("source")]

    @staticmethod
    def _move(channel, source: str, destination: str) -> int:
        """Move every message of ``source`` to ``destination``: each is acknowledged at the source only
        once the broker has confirmed it at the destination."""
        moved = 0
        while (message := channel.basic_get(source, no_ack=False)) is not None:
            properties = dict(message.properties)
            headers = {k: v for k, v in (properties.pop("application_headers", None) or {}).items()
                       if k not in BROKER_DELIVERY_HEADERS}
            copy = amqp.Message(message.body, application_headers=headers, **properties)
            channel.basic_publish_confirm(copy, exchange="", routing_key=destination, mandatory=True)
            channel.basic_ack(message.delivery_tag)
            moved += 1
        return moved
