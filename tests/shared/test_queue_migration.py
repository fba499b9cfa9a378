"""``redprop queues list|migrate`` (issue 20): a classic queue with messages becomes a quorum queue with
the same messages, none lost or duplicated, its bindings kept; refused while consumed; idempotent and
resumable."""

from __future__ import annotations

import json

import pytest
from kombu import Connection, Queue

from redprop.cli import queues as cli
from redprop.messaging import management, wire
from redprop.messaging.management import RabbitManagement
from redprop.messaging.queues import HOLDING_SUFFIX, Migration, MigrationRefused, vhost_of

pytestmark = pytest.mark.integration

QUEUE = "evt-registry-registry.structure_changed--audit.on_structure_changed"
N = 60


@pytest.fixture
def classic_backlog(make_settings):
    """A classic event queue as an older release declared it, bound to registry.events, with N messages;
    and settings that now say quorum."""
    classic = make_settings(messaging={"queue_type": "classic"})
    with Connection(classic.amqp_uri) as conn:
        channel = conn.channel()
        Queue(QUEUE, exchange=wire.event_exchange("registry"), routing_key="registry.structure_changed",
              durable=True)(channel).declare()
        producer = conn.Producer(channel)
        for i in range(N):
            producer.publish({"n": i}, exchange=wire.event_exchange("registry"),
                             routing_key="registry.structure_changed", serializer="json", delivery_mode=2,
                             headers={"x-test-seq": i}, message_id=f"m-{i}")
    return classic.model_copy(update={"messaging": classic.messaging.model_copy(update={"queue_type": "quorum"})})


def drain(settings, name: str) -> list:
    out = []
    with Connection(settings.amqp_uri) as conn:
        channel = conn.channel()
        while (message := channel.basic_get(name, no_ack=True)) is not None:
            out.append(message)
    return out


def state(settings, name: str):
    return RabbitManagement(settings.amqp_uri).queue(vhost_of(settings.amqp_uri), name)


def migrate(settings, **kwargs) -> Migration:
    lines: list[str] = []
    migration = Migration(settings.amqp_uri, settings.messaging, RabbitManagement(settings.amqp_uri), QUEUE,
                          say=lines.append, **kwargs)
    migration.result = migration.run()
    migration.lines = lines
    return migration


def args(**kw):
    return type("Args", (), {"management_port": management.MANAGEMENT_PORT, "mismatched": False, "queues": [], "all": False,
                             "force": False, **kw})


def test_a_classic_queue_becomes_quorum_with_the_same_messages_and_bindings(classic_backlog, capsys):
    settings = classic_backlog
    assert cli.cmd_list(args(mismatched=True), settings) == 1
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()[:-1]]
    assert [(q["name"], q["type"], q["expected_type"], q["matches"]) for q in listed] == [
        (QUEUE, "classic", "quorum", False)]

    migration = migrate(settings)
    assert migration.result == "migrated" and migration.moved_out == N and migration.moved_back == N
    after = state(settings, QUEUE)
    assert after["type"] == "quorum"
    assert after["arguments"] == wire.queue_arguments(
        wire.EVENT, settings.messaging, dead_letter_routing_key=f"audit.{QUEUE}")
    assert state(settings, QUEUE + HOLDING_SUFFIX) is None

    # Still bound: a new event reaches it, behind the old ones.
    with Connection(settings.amqp_uri) as conn:
        conn.Producer().publish({"n": N}, exchange=wire.event_exchange("registry"),
                                routing_key="registry.structure_changed", serializer="json")
    messages = drain(settings, QUEUE)
    assert sorted(json.loads(m.body)["n"] for m in messages) == list(range(N + 1))  # none lost, none twice
    old = messages[:N]
    assert [m.headers["x-test-seq"] for m in old] == list(range(N))  # in order, headers kept
    assert all(m.properties["message_id"] == f"m-{m.headers['x-test-seq']}" for m in old)
    assert all(m.properties["delivery_mode"] == 2 for m in old)

    again = migrate(settings)
    assert again.result == "unchanged" and "nothing to do" in again.lines[0]


def test_a_consumed_queue_is_refused_unless_forced(classic_backlog):
    settings = classic_backlog
    with Connection(settings.amqp_uri) as conn:
        channel = conn.channel()
        channel.basic_qos(0, 1, False)
        channel.basic_consume(QUEUE, callback=lambda m: None)
        with pytest.raises(MigrationRefused, match="consumer"):
            migrate(settings)
        assert state(settings, QUEUE)["type"] == "classic"
        assert state(settings, QUEUE + HOLDING_SUFFIX) is None
    assert cli.cmd_migrate(args(queues=["not-ours"]), settings) == 2


def test_an_interrupted_migration_is_finished_by_running_it_again(classic_backlog):
    """A run that died after moving part of the queue out: the holding queue has some messages and the
    bindings, the old queue the rest and none."""
    settings = classic_backlog
    holding = QUEUE + HOLDING_SUFFIX
    with Connection(settings.amqp_uri) as conn:
        channel = conn.channel()
        channel.queue_declare(holding, durable=True, auto_delete=False)
        channel.queue_bind(holding, "registry.events", "registry.structure_changed")
        channel.queue_unbind(QUEUE, "registry.events", "registry.structure_changed")
        channel.confirm_select()
        for _ in range(25):
            message = channel.basic_get(QUEUE, no_ack=False)
            channel.basic_publish_confirm(message, exchange="", routing_key=holding)
            channel.basic_ack(message.delivery_tag)

    migration = migrate(settings)
    assert "interrupted" in migration.lines[0]
    assert migration.moved_out == N - 25 and migration.moved_back == N
    assert state(settings, QUEUE)["type"] == "quorum"
    with Connection(settings.amqp_uri) as conn:
        conn.Producer().publish({"n": N}, exchange=wire.event_exchange("registry"),
                                routing_key="registry.structure_changed", serializer="json")
    assert sorted(json.loads(m.body)["n"] for m in drain(settings, QUEUE)) == list(range(N + 1))
    assert state(settings, holding) is None
