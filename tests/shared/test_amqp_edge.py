"""Hostile input at the AMQP edge, sent with the bare ``amqp`` library as a district system would.

Every case gets a typed ``bad_request``/``validation_failed`` reply when the sender has a ``reply_to``,
or lands in ``redprop.dlq.<service>`` with its reason when it has none (docs/wire-protocol.md,
"Refused requests"); and the service still answers a good request afterwards: nothing here may kill
the container or block the queue.
"""

from __future__ import annotations

import datetime
import decimal
import json
import time
import uuid
from urllib.parse import unquote, urlsplit

import amqp
import pytest

from redprop.messaging import wire
from redprop.testing.events import dead_letters
from redprop.testing.suite import wait_for
from tests.shared.test_faults import audit  # noqa: F401 - a fixture: a consumer of registry events

pytestmark = pytest.mark.integration

GOOD = json.dumps({"args": [], "kwargs": {"building_id": "B1"}}).encode()


class RawClient:
    """Publishes whatever bytes and properties a test chooses; collects replies and returned messages."""

    def __init__(self, amqp_uri: str):
        parts = urlsplit(amqp_uri)
        self.conn = amqp.Connection(host=f"{parts.hostname}:{parts.port or 5672}", userid=parts.username,
                                    password=parts.password, virtual_host=unquote(parts.path[1:]))
        self.conn.connect()
        self.channel = self.conn.channel()
        self.reply_key = uuid.uuid4().hex
        queue = f"rpc.reply-{self.reply_key}"
        self.channel.queue_declare(queue, exclusive=True, auto_delete=True)
        self.channel.queue_bind(queue, wire.RPC_EXCHANGE, self.reply_key)
        self.replies: list[amqp.Message] = []
        self.returned: list[str] = []
        self.channel.basic_consume(queue, no_ack=True, callback=self.replies.append)
        self.channel.events["basic_return"].add(
            lambda exc, exchange, key, message: self.returned.append(key))

    def publish(self, body: bytes, routing_key: str = "registry.resolve", *, exchange: str = wire.RPC_EXCHANGE,
                reply: bool = True, mandatory: bool = False, **props) -> str | None:
        props.setdefault("content_type", "application/json")
        if reply:
            props.setdefault("reply_to", self.reply_key)
            props.setdefault("correlation_id", uuid.uuid4().hex)
        props = {k: v for k, v in props.items() if v is not None}
        self.channel.basic_publish(amqp.Message(body, **props), exchange=exchange, routing_key=routing_key,
                                   mandatory=mandatory)
        return props.get("correlation_id")

    def wait(self, predicate, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while not (found := predicate()):
            if time.monotonic() > deadline:
                raise TimeoutError("nothing arrived")
            try:
                self.conn.drain_events(timeout=0.2)
            except TimeoutError:
                pass
        return found

    def reply(self, correlation_id: str | None, timeout: float = 10.0) -> dict:
        """The body of the reply carrying ``correlation_id`` (None: the first reply without one)."""
        def find():
            for message in self.replies:
                if message.properties.get("correlation_id") == correlation_id:
                    self.replies.remove(message)
                    return message
            return None
        message = self.wait(find, timeout)
        assert message.properties["content_type"] == "application/json"
        return json.loads(message.body)

    def call(self, body: bytes, routing_key: str = "registry.resolve", **props) -> dict:
        return self.reply(self.publish(body, routing_key, **props))

    def dead_letters(self, service: str, expected: int, timeout: float = 10.0) -> list[amqp.Message]:
        """Wait for ``expected`` dead letters of ``service`` and take them off the queue."""
        channel = self.conn.channel()
        queue = f"redprop.dlq.{service}"
        channel.queue_declare(queue, durable=True, auto_delete=False)
        letters: list[amqp.Message] = []

        def collect():
            while (message := channel.basic_get(queue, no_ack=True)) is not None:
                letters.append(message)
            return len(letters) >= expected

        self.wait(collect, timeout)
        time.sleep(0.3)  # one more look: more than expected is a failure too
        collect()
        channel.close()
        return letters

    def assert_still_serving(self) -> None:
        body = self.call(GOOD)
        assert body["error"] is None and body["result"]["building"]["id"] == "B1"

    def close(self) -> None:
        self.conn.close()


def request(routing_kwargs: dict) -> bytes:
    return json.dumps({"args": [], "kwargs": routing_kwargs}).encode()


@pytest.fixture
def edge(run_suite, small_district):
    suite = run_suite("registry")
    suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id="edge-load-district")
    client = RawClient(suite.settings.amqp_uri)
    client.settings = suite.settings
    yield client
    client.close()


def assert_bad_request(body: dict, *words: str) -> None:
    assert body["result"] is None, body
    error = body["error"]
    assert error["code"] == "bad_request", error
    for word in words:
        assert word in error["message"], (word, error["message"])


# -- undecodable bodies ------------------------------------------------------------------------------

UNDECODABLE = [
    # (body, properties, words the reason must contain)
    (b"{ this is not json", {}, ["not JSON"]),
    (b"\xff\xfe\x00{", {}, ["not JSON", "utf-8"]),
    (b"[" * 100_000, {}, ["not JSON", "recursion"]),
    (GOOD, {"content_type": "text/plain"}, ["content_type", "text/plain"]),
    (GOOD, {"content_type": None}, ["content_type"]),
    (GOOD, {"content_type": "application/x-python-serialize"}, ["content_type"]),
    # GBK whose bytes happen to be valid UTF-8 too ("¥"): refused for its declared encoding.
    ('{"args": [], "kwargs": {"building_id": "楼"}}'.encode("gbk"), {"content_encoding": "gbk"},
     ["content_encoding", "gbk"]),
    (GOOD, {"application_headers": {wire.H_CALL_ID_STACK: 5}}, [wire.H_CALL_ID_STACK]),
    (GOOD, {"application_headers": {wire.H_CALL_ID_STACK: ["registry.resolve.1", 5]}}, [wire.H_CALL_ID_STACK]),
    (GOOD, {"application_headers": {wire.H_CALL_ID_STACK: "a-string"}}, [wire.H_CALL_ID_STACK]),
]


def test_an_undecodable_request_with_reply_to_gets_a_typed_error_reply(edge):
    for body, props, words in UNDECODABLE:
        started = time.monotonic()
        reply = edge.call(body, **props)
        assert time.monotonic() - started < 5, props  # an answer, not the caller's timeout
        assert_bad_request(reply, "undecodable", *words)
    for body in (b"[1, 2]", b'"a string"', b"null", b"", b'{"args": [], "kwargs": [1]}'):
        assert_bad_request(edge.call(body), "JSON object")
    edge.assert_still_serving()
    assert edge.dead_letters("registry", 0) == []  # each was answered, none parked


def test_an_undecodable_request_without_reply_to_is_dead_lettered_with_its_reason(edge):
    for body, props, _ in UNDECODABLE:
        edge.publish(body, reply=False, **props)
    letters = edge.dead_letters("registry", len(UNDECODABLE))
    assert len(letters) == len(UNDECODABLE)
    for letter, (body, _props, words) in zip(letters, UNDECODABLE, strict=True):
        headers = letter.headers
        # Parked as it arrived, for `redprop dlq replay` (the amqp library decodes a declared encoding).
        parked = letter.body if isinstance(letter.body, bytes) else letter.body.encode(letter.content_encoding)
        assert parked == body
        assert headers[wire.H_DEAD_ERROR_CODE] == "bad_request"
        assert headers[wire.H_DEAD_QUEUE] == "rpc-registry"
        assert headers[wire.H_ORIGINAL_ROUTING_KEY] == "registry.resolve"
        for word in ["undecodable", *words]:
            assert word in headers[wire.H_DEAD_REASON], (word, headers[wire.H_DEAD_REASON])
    edge.assert_still_serving()


# -- requests that fail validation -------------------------------------------------------------------


def test_an_invalid_request_without_reply_to_is_dead_lettered_with_its_field_errors(edge):
    edge.publish(request({"building_id": 42}), reply=False)
    edge.publish(request({"actor": "P-DATA", "records": [], "request_id": "x" * 65}), "registry.upsert", reply=False,
                 delivery_mode=2)
    edge.publish(request({}), "registry.no_such_operation", reply=False)
    edge.publish(request({"building_id": "NOPE"}), reply=False)
    edge.publish(b"[1, 2]", reply=False)
    letters = edge.dead_letters("registry", 5)
    by_key = {m.headers[wire.H_ORIGINAL_ROUTING_KEY]: m.headers for m in letters}
    assert len(letters) == 5 and len(by_key) == 3

    resolve = [m.headers for m in letters if m.headers[wire.H_ORIGINAL_ROUTING_KEY] == "registry.resolve"]
    codes = sorted(h[wire.H_DEAD_ERROR_CODE] for h in resolve)
    assert codes == ["bad_request", "not_found", "validation_failed"]
    not_an_object = next(h for h in resolve if h[wire.H_DEAD_ERROR_CODE] == "bad_request")
    assert "JSON object" in not_an_object[wire.H_DEAD_REASON]
    invalid = next(h for h in resolve if h[wire.H_DEAD_ERROR_CODE] == "validation_failed")
    assert "building_id: Input should be a valid string" in invalid[wire.H_DEAD_REASON]
    assert invalid[wire.H_DEAD_ERROR] == "ValidationFailed"

    upsert = by_key["registry.upsert"]
    assert upsert[wire.H_DEAD_ERROR_CODE] == "validation_failed"
    assert "request_id:" in upsert[wire.H_DEAD_REASON] and "records:" in upsert[wire.H_DEAD_REASON]

    unknown = by_key["registry.no_such_operation"]
    assert unknown[wire.H_DEAD_ERROR_CODE] == "bad_request"
    assert "'registry.no_such_operation'" in unknown[wire.H_DEAD_REASON]
    edge.assert_still_serving()


def test_a_dead_lettered_request_is_listed_and_replayed_to_its_operation(edge, capsys):
    from redprop.cli import dlq

    edge.publish(request({"building_id": 42}), reply=False)
    edge.wait(lambda: _queue_depth(edge, "redprop.dlq.registry") == 1)
    settings = edge.settings
    args = type("Args", (), {"service": "registry", "limit": 10})
    assert dlq.cmd_list(args, settings) == 0
    listed = json.loads(capsys.readouterr().out.splitlines()[0])
    assert listed["error_code"] == "validation_failed" and "building_id" in listed["reason"]

    assert dlq.cmd_replay(args, settings) == 0
    # Replayed through nameko-rpc with its original routing key, it reaches registry.resolve again
    # (and fails again the same way), not "no operation for routing key 'rpc-registry'".
    letters = edge.dead_letters("registry", 1)
    assert len(letters) == 1
    assert letters[0].headers[wire.H_DEAD_ERROR_CODE] == "validation_failed"
    assert letters[0].headers[wire.H_ORIGINAL_ROUTING_KEY] == "registry.resolve"


def _queue_depth(client: RawClient, queue: str) -> int:
    channel = client.conn.channel()
    try:
        return channel.queue_declare(queue, durable=True, auto_delete=False, passive=True).message_count
    finally:
        channel.close()


# -- other hostile envelopes -------------------------------------------------------------------------


def test_an_unknown_operation_gets_a_bad_request_naming_it(edge):
    assert_bad_request(edge.call(request({}), "registry.no_such_operation"), "'registry.no_such_operation'")
    assert_bad_request(edge.call(request({}), "registry."), "'registry.'")
    # Straight to the service's queue through the default exchange: the routing key names no operation.
    assert_bad_request(edge.call(request({}), "rpc-registry", exchange=""), "'rpc-registry'")
    edge.assert_still_serving()


def test_a_routing_key_missing_its_parts_is_returned_by_the_broker(edge):
    for key in ("registry", "registry.resolve.extra", ""):
        edge.publish(GOOD, key, mandatory=True)
    edge.wait(lambda: len(edge.returned) == 3)
    assert sorted(edge.returned) == sorted(["registry", "registry.resolve.extra", ""])
    edge.assert_still_serving()


def test_a_request_with_reply_to_but_no_correlation_id_is_refused_and_not_run(edge):
    first = request({"actor": "P-DATA", "records": [{"kind": "person", "id": "P98", "name": "甲"}], "request_id": "edge-no-cid-1"})
    edge.publish(first, "registry.upsert", correlation_id=None, delivery_mode=2)
    assert_bad_request(edge.reply(None), "correlation_id")
    # Had the first run, its request_id would now be taken by a different request: a conflict.
    second = request({"actor": "P-DATA", "records": [{"kind": "person", "id": "P99", "name": "乙"}], "request_id": "edge-no-cid-1"})
    body = edge.call(second, "registry.upsert", delivery_mode=2)
    assert body["error"] is None and body["result"]["counts"]["person"]["created"] == 1
    edge.assert_still_serving()


def test_headers_of_any_other_type_are_harmless(edge):
    headers = {"x-number": 1.5, "x-flag": True, "x-none": None, "x-table": {"a": [1, "b"]},
               "x-when": datetime.datetime(2026, 1, 1), "x-decimal": decimal.Decimal("1.5"),
               "x-bytes": b"\xff", wire.H_ATTEMPT: "not a number", "nameko.language": 5}
    body = edge.call(GOOD, application_headers=headers)
    assert body["error"] is None and body["result"]["building"]["id"] == "B1"
    # ...and a parked request keeps them as they were.
    edge.publish(request({"building_id": 42}), reply=False, application_headers=headers)
    letter, = edge.dead_letters("registry", 1)
    assert letter.headers["x-table"] == {"a": [1, "b"]} and letter.headers["x-bytes"] == b"\xff"
    edge.assert_still_serving()


def test_a_huge_body_is_refused_and_the_queue_keeps_moving(edge):
    huge = request({"building_id": "x" * 20_000_000})
    started = time.monotonic()
    correlation_id = edge.publish(huge)
    good = edge.publish(GOOD)
    body = edge.reply(correlation_id, timeout=30)
    assert body["error"]["code"] == "validation_failed"
    assert body["error"]["details"]["fields"][0]["field"] == "building_id"
    assert len(json.dumps(body)) < 2_000  # the reply names the field, it does not echo the input
    assert edge.reply(good, timeout=30)["error"] is None
    assert time.monotonic() - started < 30


# -- the idempotency key -----------------------------------------------------------------------------


@pytest.mark.parametrize("request_id", ["", "       ", "x" * 7, "x" * 65, "bad id with spaces",
                                        "楼栋-0001-请求", "line\nbreak1", 12345678, None, ["a" * 8]])
def test_a_request_id_out_of_bounds_is_a_validation_error(edge, request_id):
    kwargs = {"actor": "P-DATA", "records": [{"kind": "person", "id": "P97", "name": "丙"}], "request_id": request_id}
    body = edge.call(request(kwargs), "registry.upsert", delivery_mode=2)
    assert body["error"]["code"] == "validation_failed", body
    assert [f["field"] for f in body["error"]["details"]["fields"]] == ["request_id"]


def test_the_longest_request_id_fits_its_column_and_replays(run_suite, small_district):
    suite = run_suite("registry", backend="postgresql")  # VARCHAR(64) is enforced there, not by SQLite
    client = RawClient(suite.settings.amqp_uri)
    try:
        kwargs = {"actor": "P-DATA", "records": [{"kind": "person", "id": "P96", "name": "丁"}], "request_id": "k" * 64}
        first = client.call(request(kwargs), "registry.upsert", delivery_mode=2)
        again = client.call(request(kwargs), "registry.upsert", delivery_mode=2)
        assert first["error"] is None and first == again
        assert first["result"]["counts"]["person"]["created"] == 1
    finally:
        client.close()


def test_a_reply_to_nobody_listens_on_costs_nothing(edge):
    for reply_to in ("amq.rabbitmq.reply-to.garbage", "amq.rabbitmq.reply-to.g2gCZA", "x" * 255):
        edge.publish(GOOD, reply_to=reply_to)
    edge.assert_still_serving()
    edge.assert_still_serving()  # the reply connection survived each of them


# -- events: the same envelope check ----------------------------------------------------------------


def test_an_event_with_a_header_nameko_cannot_read_is_dead_lettered_and_consuming_goes_on(audit):  # noqa: F811
    from tests.shared.test_faults import publish_event, structure_event

    publish_event(audit.settings, structure_event(21), headers={wire.H_CALL_ID_STACK: 5})
    publish_event(audit.settings, structure_event(22), headers={wire.H_CALL_ID_STACK: ["registry.x.1"]})
    wait_for(lambda: audit.seen(), message="the good event after the bad one")
    letters = wait_for(lambda: dead_letters(audit.settings, "audit") or None, message="the dead letter")
    assert len(letters) == 1
    assert wire.H_CALL_ID_STACK in letters[0].headers[wire.H_DEAD_REASON]
    assert letters[0].headers[wire.H_DEAD_ERROR_CODE] == "bad_request"
    assert [v for _, v in audit.seen()] == [22]


def test_deep_nesting_the_decoder_accepts_is_a_validation_error(edge):
    deep = b'{"args": [], "kwargs": {"building_id": "B1", "extra": ' + b"[" * 900 + b"]" * 900 + b"}}"
    body = edge.call(deep)
    assert body["error"]["code"] == "validation_failed"
    assert [f["field"] for f in body["error"]["details"]["fields"]] == ["extra"]
    edge.assert_still_serving()


def test_an_attempt_count_set_by_the_sender_buys_no_extra_retries(audit):  # noqa: F811
    from tests.shared.test_faults import POISON_VERSION, publish_event, structure_event

    max_attempts = audit.settings.messaging.max_delivery_attempts
    publish_event(audit.settings, structure_event(POISON_VERSION), headers={wire.H_ATTEMPT: -1_000_000})
    publish_event(audit.settings, structure_event(POISON_VERSION), headers={wire.H_ATTEMPT: "many"})
    letters: list = []
    wait_for(lambda: letters.extend(dead_letters(audit.settings, "audit")) or len(letters) >= 2, timeout=15,
             message="both poison events parked after the usual number of attempts")
    assert len(letters) == 2
    assert [m.headers[wire.H_ATTEMPT] for m in letters] == [max_attempts] * 2
