"""Queue types by purpose (issue 20): quorum queues where ``messaging.queue_type`` says so, read back
through the management API, and a message the broker hands out too often dead-lettered with its reason.

Quorum queues work on a single node too, so these run on the local broker; the three-node cluster test
is tests/faults/test_cluster.py.
"""

from __future__ import annotations

import json
import os
import uuid

import pytest
from kombu import Connection, Consumer, Queue

from redprop.cli import dlq
from redprop.config import Settings, load_settings
from redprop.errors import ConfigError
from redprop.messaging import wire
from redprop.messaging.client import RpcClient
from redprop.messaging.management import RabbitManagement
from redprop.testing.events import dead_letters
from redprop.testing.suite import ad_hoc_service, wait_for
from tests.shared.test_faults import (
    POISON_VERSION,
    AuditBase,
    AuditService,
    publish_event,
    structure_event,
)

pytestmark = pytest.mark.integration

AUDIT_QUEUE = "evt-registry-registry.structure_changed--audit.on_structure_changed"


def vhost_of(settings: Settings) -> str:
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(settings.amqp_uri).path[1:])


def queue_state(settings: Settings, name: str) -> dict:
    state = RabbitManagement(settings.amqp_uri).queue(vhost_of(settings), name)
    assert state is not None, f"queue {name} was not declared"
    return state


@pytest.fixture
def quorum_audit(make_settings):
    """A consumer of registry events on quorum queues (the stand-in service of test_faults)."""
    # audit is no installed service: "external" keeps the pre-flight check from refusing its name.
    settings = make_settings(["audit", "registry"], messaging={"queue_type": "quorum", "delivery_limit": 4},
                             services={"audit": {"external": True}})
    with ad_hoc_service(settings, AuditService, AuditBase.metadata) as (container, engine):
        from sqlalchemy import select

        from tests.shared.test_faults import Seen

        def seen() -> list[int]:
            with engine.connect() as conn:
                return [r[0] for r in conn.execute(select(Seen.structure_version))]

        container.seen = seen
        container.settings = settings
        yield container


def test_command_event_and_dead_letter_queues_are_quorum_with_their_arguments(run_suite, quorum_audit):
    settings = quorum_audit.settings
    run_suite("registry", settings=settings)

    rpc = queue_state(settings, "rpc-registry")
    assert rpc["type"] == "quorum" and rpc["durable"] and not rpc["auto_delete"]
    assert rpc["arguments"] == {
        "x-queue-type": "quorum", "x-delivery-limit": 4,
        "x-dead-letter-exchange": wire.DEAD_LETTER_EXCHANGE, "x-dead-letter-routing-key": "registry.rpc-registry",
        "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}

    evt = queue_state(settings, AUDIT_QUEUE)
    assert evt["type"] == "quorum"
    assert evt["arguments"]["x-dead-letter-routing-key"] == f"audit.{AUDIT_QUEUE}"
    assert evt["arguments"]["x-delivery-limit"] == 4

    dlq = queue_state(settings, "redprop.dlq.audit")
    # The dead-letter queue is where things end: no limit, nowhere further.
    assert dlq["type"] == "quorum" and dlq["arguments"] == {"x-queue-type": "quorum"}

    # A caller's reply queue stays an exclusive, auto-deleted classic queue.
    with RpcClient(settings):
        replies = [q for q in RabbitManagement(settings.amqp_uri).queues(vhost_of(settings))
                   if q["name"].startswith("rpc.reply-client-")]
    assert replies and all(q["type"] == "classic" and q["exclusive"] and q["auto_delete"] for q in replies)


def declared(arguments: dict) -> dict:
    """A queue's arguments as the suite declared them: RabbitMQ 4 records the default type it filled in
    (``x-queue-type: classic``) for a queue declared with none; 3.x shows none."""
    return {k: v for k, v in arguments.items() if (k, v) != ("x-queue-type", "classic")}


def test_classic_keeps_the_queues_as_they_always_were(run_suite):
    suite = run_suite("registry", messaging={"queue_type": "classic"})
    rpc = queue_state(suite.settings, "rpc-registry")
    assert rpc["type"] == "classic" and declared(rpc["arguments"]) == {}
    assert declared(queue_state(suite.settings, "redprop.dlq.registry")["arguments"]) == {}


def test_a_failing_handler_on_quorum_queues_is_retried_then_dead_lettered_by_the_suite(quorum_audit):
    settings = quorum_audit.settings
    publish_event(settings, structure_event(POISON_VERSION))
    publish_event(settings, structure_event(12))
    wait_for(lambda: quorum_audit.seen(), message="the event behind the poison one")
    letters = wait_for(lambda: dead_letters(settings, "audit") or None, timeout=15,
                       message="the poison message in the dead-letter queue")
    assert len(letters) == 1
    assert letters[0].headers[wire.H_ATTEMPT] == settings.messaging.max_delivery_attempts
    assert letters[0].headers[wire.H_DEAD_QUEUE] == AUDIT_QUEUE
    assert quorum_audit.seen() == [12]
    retry = queue_state(settings, f"{AUDIT_QUEUE}.retry")
    assert retry["type"] == "quorum"
    assert retry["arguments"]["x-message-ttl"] == int(settings.messaging.retry_delay * 1000)
    assert retry["arguments"]["x-dead-letter-routing-key"] == AUDIT_QUEUE


def test_a_message_returned_more_often_than_the_delivery_limit_is_dead_lettered_by_the_broker(make_settings,
                                                                                              capsys):
    """The crash loop: a consumer that dies on a message (here: rejects it back to the queue, which is
    what the broker sees of a crash) gets it ``delivery_limit`` + 1 times, then it is a dead letter."""
    settings = make_settings(messaging={"queue_type": "quorum", "delivery_limit": 3})
    name = f"crash-loop-{uuid.uuid4().hex[:6]}"
    queue = wire.dead_letter_queue("crashy", settings.messaging)
    body = {"poison": True}
    deliveries = []
    with Connection(settings.amqp_uri) as conn:
        channel = conn.channel()
        queue(channel).declare()
        target = Queue(name, durable=True, queue_arguments=wire.queue_arguments(
            wire.EVENT, settings.messaging, dead_letter_routing_key=wire.dead_letter_key("crashy", name)))
        target(channel).declare()
        conn.Producer(channel).publish(body, routing_key=name, serializer="json", delivery_mode=2)

        def crash(message):
            deliveries.append(dict(message.headers or {}))
            message.requeue()

        with Consumer(channel, [target], on_message=crash, accept=["json"]):
            for _ in range(40):
                try:
                    conn.drain_events(timeout=0.25)
                except TimeoutError:
                    if len(deliveries) > settings.messaging.delivery_limit:
                        break
    assert len(deliveries) == settings.messaging.delivery_limit + 1
    assert deliveries[-1]["x-delivery-count"] == settings.messaging.delivery_limit
    dlq_name = "redprop.dlq.crashy"
    wait_for(lambda: queue_depth(settings, dlq_name) == 1, message="the broker's dead letter")

    # `redprop dlq list` says where it came from and why; `replay` sends it back with a fresh count.
    args = type("Args", (), {"service": "crashy", "limit": 10})
    assert dlq.cmd_list(args, settings) == 0
    listed = json.loads(capsys.readouterr().out.splitlines()[0])
    assert listed["queue"] == name and "delivery_limit" in listed["reason"]
    assert dlq.cmd_replay(args, settings) == 0
    with Connection(settings.amqp_uri) as conn:
        replayed = Queue(name, durable=True, queue_arguments=target.queue_arguments)(conn.channel()).get(no_ack=True)
    assert replayed is not None and json.loads(replayed.body) == body
    assert (replayed.headers or {}).get("x-delivery-count", 0) == 0 and "x-death" not in (replayed.headers or {})
    assert queue_depth(settings, dlq_name) == 0


def test_the_broker_dead_letter_carries_its_reason_and_routing(make_settings):
    settings = make_settings(messaging={"queue_type": "quorum", "delivery_limit": 1, "max_delivery_attempts": 1})
    name = f"crash-loop-{uuid.uuid4().hex[:6]}"
    with Connection(settings.amqp_uri) as conn:
        channel = conn.channel()
        wire.dead_letter_queue("crashy", settings.messaging)(channel).declare()
        target = Queue(name, durable=True, queue_arguments=wire.queue_arguments(
            wire.EVENT, settings.messaging, dead_letter_routing_key=wire.dead_letter_key("crashy", name)))
        target(channel).declare()
        conn.Producer(channel).publish({"n": 1}, routing_key=name, serializer="json", delivery_mode=2)
        for _ in range(2):
            message = wait_for(lambda: target(channel).get(no_ack=False), message="a delivery")
            message.requeue()
    letters = wait_for(lambda: dead_letters(settings, "crashy") or None, message="the broker's dead letter")
    assert len(letters) == 1
    headers = letters[0].headers
    assert headers["x-first-death-reason"] == "delivery_limit"
    assert headers["x-first-death-queue"] == name
    assert letters[0].delivery_info["routing_key"] == f"crashy.{name}"


def queue_depth(settings: Settings, name: str) -> int:
    with Connection(settings.amqp_uri) as conn:
        return conn.channel().queue_declare(name, passive=True).message_count


def test_a_queue_type_or_limit_that_cannot_work_is_refused_naming_the_setting():
    with pytest.raises(ConfigError, match=r"messaging.queue_type"):
        load_settings(messaging={"queue_type": "mirrored"})
    with pytest.raises(ConfigError, match=r"delivery_limit \(2\) must be at least max_delivery_attempts \(5\)"):
        load_settings(messaging={"delivery_limit": 2})
    with pytest.raises(ValueError, match="unknown queue purpose"):
        wire.queue_arguments("reply", Settings().messaging)
    with pytest.raises(ValueError, match="dead_letter_routing_key"):
        wire.queue_arguments(wire.COMMAND, Settings(messaging={"queue_type": "quorum"}).messaging)


def test_the_broker_is_the_release_the_run_asks_for(rabbit_management):
    """``make rabbitmq4-test`` must not pass on the machine's 3.10 by mistake: REDPROP_TEST_RABBITMQ=4 means
    the tests talked to a 4.x node (and its Erlang 27)."""
    overview = rabbit_management.request("GET", "/overview")
    if os.environ.get("REDPROP_TEST_RABBITMQ") == "4":
        assert overview["rabbitmq_version"].startswith("4."), overview["rabbitmq_version"]
        assert overview["erlang_version"].startswith("27."), overview["erlang_version"]
    else:
        assert overview["rabbitmq_version"].split(".")[0] in ("3", "4"), overview["rabbitmq_version"]
