"""The baseline: request/reply with the bare ``amqp`` library, nothing else.

Server (own process): ``python -m bench.raw_amqp AMQP_URI QUEUE REPLY_FILE [--prefetch N]`` consumes
``QUEUE`` (manual acks), publishes the bytes of ``REPLY_FILE`` to each request's ``reply_to`` with its
``correlation_id`` through the default exchange, then acks. Transient messages, no publisher confirms.

Client (:class:`RawClient`): JSON-encodes a request like redprop's, publishes it, reads replies from an
exclusive server-named queue (no-ack) and JSON-decodes them. Calls can be pipelined (``send``/``wait``).

With ``--confirm`` (server) and ``confirm=True`` (client) the same round trip is made the way nameko
does by default: a durable request queue, persistent requests and replies, each publish waiting for the
broker's confirm. The difference between the two is what persistence and confirms cost by themselves.

With ``--contract`` (server) and ``contract=True`` (client) both sides also do redprop's contract work,
as the registry and :class:`~redprop.messaging.client.RpcClient` do: the server validates each request
against ``registry.resolve``'s model and encodes its reply model with pydantic, the client encodes the
request from its model and validates the reply in one ``model_validate_json``. The difference to the bare
baseline is what the contract costs without nameko and kombu (``python -m bench.profile_rpc``).
"""

from __future__ import annotations

import argparse
import json
import signal
import time
import uuid
from collections import deque
from pathlib import Path
from urllib.parse import unquote, urlsplit

import amqp

QUEUE = "bench.raw-echo"
CONFIRMED_QUEUE = "bench.raw-echo-confirmed"
CONTRACT_QUEUE = "bench.raw-echo-contract"


def _resolve():
    from redprop.contracts import contract_for

    return contract_for("registry").operations["resolve"]


def connect(uri: str) -> amqp.Connection:
    parts = urlsplit(uri)
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    conn = amqp.Connection(host=f"{parts.hostname or '127.0.0.1'}:{parts.port or 5672}",
                           userid=unquote(parts.username or "guest"), password=unquote(parts.password or "guest"),
                           virtual_host=vhost, connect_timeout=5)
    conn.connect()
    return conn


def serve(uri: str, queue: str, reply_body: bytes, prefetch: int, confirm: bool = False,
          contract: bool = False) -> None:
    if contract:
        op = _resolve()
        reply_model = op.reply.model_validate(json.loads(reply_body)["result"])
    conn = connect(uri)
    channel = conn.channel()
    channel.queue_declare(queue, durable=confirm, auto_delete=False)
    channel.basic_qos(0, prefetch, False)
    publisher = conn.channel() if confirm else channel
    publish = publisher.basic_publish_confirm if confirm else publisher.basic_publish
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    pending: deque[amqp.Message] = deque()
    # Requests are answered from this loop, not from the delivery callback: a confirmed publish waits
    # for its ack by reading the connection, which may deliver further requests (no nested publishes).
    channel.basic_consume(queue, callback=pending.append)
    while not stopping:
        try:
            conn.drain_events(timeout=0.5)
        except TimeoutError:
            continue
        while pending:
            message = pending.popleft()
            props = message.properties
            body = reply_body
            if contract:
                op.request.model_validate(json.loads(message.body)["kwargs"])
                body = b'{"result": ' + reply_model.model_dump_json().encode() + b', "error": null}'
            reply = amqp.Message(body, content_type="application/json", content_encoding="utf-8",
                                 correlation_id=props.get("correlation_id"), delivery_mode=2 if confirm else 1)
            publish(reply, exchange="", routing_key=props["reply_to"])
            channel.basic_ack(message.delivery_tag)
    conn.close()


class RawClient:
    """Round trips to the echo server. Not thread-safe; one per measuring process."""

    def __init__(self, uri: str, building_ids: list[str], confirm: bool = False, contract: bool = False):
        self.building_ids = building_ids
        self.queue = CONFIRMED_QUEUE if confirm else CONTRACT_QUEUE if contract else QUEUE
        self.op = _resolve() if contract else None
        self.delivery_mode = 2 if confirm else 1
        self.conn = connect(uri)
        self.channel = self.conn.channel()
        self._publish = self.conn.channel().basic_publish_confirm if confirm else self.channel.basic_publish
        self.reply_queue, _, _ = self.channel.queue_declare("", exclusive=True, auto_delete=True)
        self.replies: dict[str, bytes] = {}
        self.channel.basic_consume(self.reply_queue, no_ack=True, callback=self._on_reply)

    def _on_reply(self, message: amqp.Message) -> None:
        self.replies[message.properties["correlation_id"]] = message.body

    def send(self, i: int) -> str:
        cid = uuid.uuid4().hex
        kwargs = {"building_id": self.building_ids[i % len(self.building_ids)]}
        if self.op is not None:
            kwargs = self.op.request(**kwargs).model_dump(mode="json", exclude_unset=True)
        body = json.dumps({"args": [], "kwargs": kwargs})
        message = amqp.Message(body.encode(), content_type="application/json", content_encoding="utf-8",
                               correlation_id=cid, reply_to=self.reply_queue, delivery_mode=self.delivery_mode)
        self._publish(message, exchange="", routing_key=self.queue)
        return cid

    def wait(self, cid: str) -> dict:
        deadline = time.monotonic() + 10
        while cid not in self.replies:
            if time.monotonic() > deadline:
                raise RuntimeError("no reply from the raw echo server within 10 s")
            self.conn.drain_events(timeout=10)
        if self.op is not None:
            from redprop.messaging.client import reply_envelope

            return reply_envelope(self.op).model_validate_json(self.replies.pop(cid)).result
        return json.loads(self.replies.pop(cid))

    def call(self, i: int) -> dict:
        return self.wait(self.send(i))

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("uri")
    parser.add_argument("queue")
    parser.add_argument("reply_file")
    parser.add_argument("--prefetch", type=int, default=100)
    parser.add_argument("--confirm", action="store_true", help="durable queue, persistent confirmed replies")
    parser.add_argument("--contract", action="store_true", help="validate requests, encode replies with pydantic")
    args = parser.parse_args()
    serve(args.uri, args.queue, Path(args.reply_file).read_bytes(), args.prefetch, args.confirm, args.contract)


if __name__ == "__main__":
    main()
