"""The AsyncAPI 3 document: generated from the contracts, checked in, valid for the AsyncAPI parser."""

from __future__ import annotations

import json

import pytest
import yaml

from redprop.cli.main import main
from redprop.contracts import all_contracts
from redprop.docs.asyncapi import build_document, render_yaml, to_asyncapi_schema
from tests.interop.conftest import ASYNCAPI_COPY, run_node


def test_the_checked_in_copy_is_current():
    assert ASYNCAPI_COPY.read_text(encoding="utf-8") == render_yaml(), (
        "docs/asyncapi.yaml is stale: run `redprop asyncapi --out docs/asyncapi.yaml`")


def test_the_cli_prints_the_document(capsys):
    assert main(["asyncapi"]) == 0
    printed = capsys.readouterr().out
    assert printed == render_yaml()
    assert yaml.safe_load(printed)["asyncapi"] == "3.0.0"


def test_every_operation_is_a_request_with_a_reply_and_every_event_a_send():
    doc = build_document()
    contracts = all_contracts()
    assert set(doc["info"]["x-redprop-contracts"]) == set(contracts)
    for name, contract in contracts.items():
        for op in contract.operations.values():
            operation = doc["operations"][f"rpc.{name}.{op.name}"]
            assert operation["action"] == "receive"
            channel = doc["channels"][operation["channel"]["$ref"].rsplit("/", 1)[1]]
            assert channel["address"] == f"{name}.{op.name}"
            binding = channel["bindings"]["amqp"]
            assert binding["is"] == "routingKey"
            assert binding["exchange"] == {"name": "nameko-rpc", "type": "topic", "durable": True, "autoDelete": False}
            assert binding["x-redprop-service-queue"]["name"] == f"rpc-{name}"
            assert operation["bindings"]["amqp"]["deliveryMode"] == (2 if op.kind == "command" else 1)
            assert operation["reply"]["address"]["location"] == "$message.header#/reply_to"
            assert operation["reply"]["channel"] == {"$ref": "#/channels/rpc.reply"}
            request = doc["components"]["messages"][f"{name}.{op.name}.request"]
            kwargs_ref = request["payload"]["properties"]["kwargs"]["$ref"]
            kwargs = doc["components"]["schemas"][kwargs_ref.rsplit("/", 1)[1]]
            # Commands carry the idempotency key, and it is required.
            assert ("request_id" in kwargs.get("required", [])) == (op.kind == "command")
        for event_type in contract.events:
            operation = doc["operations"][f"event.{event_type}"]
            assert operation["action"] == "send"
            channel = doc["channels"][f"events.{event_type}"]
            assert channel["address"] == event_type
            assert channel["bindings"]["amqp"]["exchange"]["name"] == f"{name}.events"
            assert operation["bindings"]["amqp"]["deliveryMode"] == 2
    reply_queue = doc["channels"]["rpc.reply"]["bindings"]["amqp"]["queue"]
    assert reply_queue["exclusive"] and reply_queue["autoDelete"] and not reply_queue["durable"]
    assert sum(len(c.operations) for c in contracts.values()) == len(doc["channels"]["rpc.reply"]["messages"])


def test_every_reference_resolves():
    doc = build_document()

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                target = doc
                for key in node["$ref"][2:].split("/"):
                    assert key in target, f"dangling reference {node['$ref']}"
                    target = target[key]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(doc)


def test_openapi_style_discriminators_become_asyncapi_property_names():
    schema = {"oneOf": [{"$ref": "#/a"}], "discriminator": {"propertyName": "kind", "mapping": {"a": "#/a"}},
              "properties": {"inner": {"discriminator": {"propertyName": "type"}}}}
    out = to_asyncapi_schema(schema)
    assert out["discriminator"] == "kind" and out["properties"]["inner"]["discriminator"] == "type"
    assert "discriminator" not in json.dumps(build_document()).replace('"discriminator": "', "")


@pytest.mark.timeout(420)
def test_the_asyncapi_parser_accepts_the_document(node):
    # The parser's rule set over the whole document (208 operations, 359 messages) is about 45 s of one
    # core on an idle machine: minutes on a busy CI machine.
    done = run_node(node, "validate.mjs", str(ASYNCAPI_COPY), timeout=400)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["errors"] == [], report["errors"]
    assert report["warnings"] == []
    assert report["version"] == "3.0.0"
    doc = build_document()
    assert report["operations"] == len(doc["operations"])
    assert report["channels"] == len(doc["channels"])
    # What the parser itself read out of the document, as a client in JavaScript would see it.
    assert report["rpc"]["rpc.ticketing.submit"] == {"address": "ticketing.submit", "exchange": "nameko-rpc",
                                                     "replyTo": "$message.header#/reply_to", "deliveryMode": 2}
    assert report["rpc"]["rpc.registry.resolve"]["deliveryMode"] == 1


def test_the_asyncapi_parser_rejects_broken_documents(node, tmp_path):
    """The validation test can fail: an AsyncAPI-2 style action, an OpenAPI discriminator are errors."""
    from redprop.contracts import registry

    def errors_of(doc) -> set[str]:
        path = tmp_path / "broken.yaml"
        path.write_text(render_yaml(doc), encoding="utf-8")
        done = run_node(node, "validate.mjs", str(path))
        assert done.returncode == 1, done.stdout
        return {e["path"] for e in json.loads(done.stdout)["errors"]}

    doc = build_document({"registry": registry.CONTRACT})
    doc["operations"]["rpc.registry.resolve"]["action"] = "publish"
    assert "operations/rpc.registry.resolve/action" in errors_of(doc)

    doc = build_document({"registry": registry.CONTRACT})
    doc["components"]["schemas"]["registry.GetReply"]["properties"]["record"]["discriminator"] = {"propertyName": "kind"}
    assert "components/schemas/registry.GetReply/properties/record/discriminator" in errors_of(doc)

    doc = build_document({"registry": registry.CONTRACT})
    del doc["channels"]["rpc.reply"]["messages"]["registry.resolve.reply"]
    assert errors_of(doc)  # the operation's reply names a message its channel does not carry
