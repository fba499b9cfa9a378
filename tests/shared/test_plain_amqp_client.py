"""A client that is not nameko: the bare ``amqp`` library, following only docs/wire-protocol.md.

Deliberately imports nothing from nameko or redprop's client: the point is that the documented wire
format is enough. (The running services are started by the fixtures, which do use redprop.)
"""

from __future__ import annotations

import json
import time
import uuid

import amqp
import pytest

pytestmark = pytest.mark.integration


class PlainClient:
    def __init__(self, amqp_uri: str):
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(amqp_uri)
        self.conn = amqp.Connection(host=f"{parts.hostname}:{parts.port or 5672}", userid=parts.username,
                                    password=parts.password, virtual_host=unquote(parts.path[1:]))
        self.conn.connect()
        self.channel = self.conn.channel()
        self.reply_key = uuid.uuid4().hex
        queue = f"rpc.reply-{self.reply_key}"
        self.channel.queue_declare(queue, exclusive=True, auto_delete=True)
        self.channel.exchange_declare("nameko-rpc", "topic", durable=True, auto_delete=False)
        self.channel.queue_bind(queue, "nameko-rpc", self.reply_key)
        self.replies: dict[str, dict] = {}
        self.returned: set[str] = set()
        self.channel.basic_consume(queue, no_ack=True, callback=self._on_reply)
        self.channel.events["basic_return"].add(
            lambda exc, exchange, key, message: self.returned.add(message.properties["correlation_id"]))
        self.confirm_channel = self.conn.channel()
        self.confirm_channel.confirm_select()

    def _on_reply(self, message) -> None:
        self.replies[message.properties["correlation_id"]] = json.loads(message.body)

    def call(self, routing_key: str, kwargs: dict, *, command: bool = False, timeout: float = 10) -> dict:
        cid = uuid.uuid4().hex
        message = amqp.Message(json.dumps({"args": [], "kwargs": kwargs}), content_type="application/json",
                               content_encoding="utf-8", correlation_id=cid, reply_to=self.reply_key,
                               delivery_mode=2 if command else 1)
        if command:
            self.confirm_channel.basic_publish_confirm(message, exchange="nameko-rpc", routing_key=routing_key,
                                                       mandatory=True)
        else:
            self.channel.basic_publish(message, exchange="nameko-rpc", routing_key=routing_key, mandatory=True)
        deadline = time.monotonic() + timeout
        while cid not in self.replies:
            if cid in self.returned:
                raise LookupError(f"nobody serves {routing_key}")
            if time.monotonic() > deadline:
                raise TimeoutError(routing_key)
            try:
                self.conn.drain_events(timeout=0.5)
            except TimeoutError:
                pass
        return self.replies.pop(cid)

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def plain(run_suite, small_district):
    suite = run_suite("registry")
    client = PlainClient(suite.settings.amqp_uri)
    body = client.call("registry.upsert", {"actor": "P-DATA", "records": small_district, "request_id": "plain-load-0001"},
                       command=True)
    assert body["error"] is None and body["result"]["applied"] is True
    yield client
    client.close()


def test_resolve_by_building(plain):
    body = plain.call("registry.resolve", {"building_id": "B1"})
    assert body["error"] is None
    result = body["result"]
    assert result["complex"]["id"] == "X1"
    assert result["property_company"]["id"] == "CO1"
    assert result["schema_version"] == 1


def test_errors_arrive_as_documented_objects(plain):
    body = plain.call("registry.resolve", {"building_id": 42})
    assert body["result"] is None
    assert body["error"]["code"] == "validation_failed"
    assert [f["field"] for f in body["error"]["details"]["fields"]] == ["building_id"]

    body = plain.call("registry.resolve", {"building_id": "NOPE"})
    assert body["error"]["code"] == "not_found"
    assert body["error"]["details"]["field"] == "building_id"

    body = plain.call("registry.resolve", {"building_id": "B1", "schema_version": 2})
    assert body["error"]["code"] == "validation_failed"
    assert body["error"]["details"]["fields"][0]["field"] == "schema_version"


def test_a_command_retried_with_its_request_id_replies_the_same(plain):
    request = {"actor": "P-DATA", "records": [{"kind": "person", "id": "P31", "name": "孙八"}], "request_id": "plain-retry-01"}
    first = plain.call("registry.upsert", request, command=True)
    second = plain.call("registry.upsert", request, command=True)
    assert first == second
    assert first["result"]["counts"]["person"]["created"] == 1


def test_an_operation_nobody_serves_is_returned_at_once(plain):
    started = time.monotonic()
    with pytest.raises(LookupError):
        plain.call("nosuchservice.resolve", {}, timeout=10)
    assert time.monotonic() - started < 5
