"""The AsyncAPI 3 document of the suite, generated from the contracts (``redprop asyncapi``).

It describes a district release as one application: every RPC operation is a ``receive`` operation
with a ``reply`` (the caller's ``reply_to`` routing key), every event a ``send`` operation; the AMQP
bindings (binding version 0.3.0) give the exchanges, routing keys, delivery modes and queue properties
of docs/wire-protocol.md. Message payloads are the contracts' JSON Schemas, hoisted into
``components.schemas`` under ``<service>.<Model>`` so that one document has one namespace.

The output is deterministic (contracts, operations and events in declaration order; no timestamps),
so ``docs/asyncapi.yaml`` can be compared with a fresh rendering in a test.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic.json_schema import models_json_schema

from redprop.contracts.base import ServiceContract
from redprop.docs.jsonschema import with_contract_major
from redprop.errors import ERROR_TYPES
from redprop.messaging import wire

ASYNCAPI_VERSION = "3.0.0"
AMQP_BINDING_VERSION = "0.3.0"
#: Version of this document's shape and of the wire protocol it describes; each service's contract
#: version is in ``x-redprop-contracts`` and in its operations' tags.
DOCUMENT_VERSION = "1.0.0"
REPLY_CHANNEL = "rpc.reply"
SCHEMA_PREFIX = "#/components/schemas/"


def _ref(path: str) -> dict[str, str]:
    return {"$ref": path}


def _amqp(**binding: Any) -> dict[str, Any]:
    return {"amqp": {**binding, "bindingVersion": AMQP_BINDING_VERSION}}


# -- schemas ----------------------------------------------------------------------------------------


def service_schemas(contract: ServiceContract) -> tuple[dict[str, str], dict[str, Any]]:
    """(message key -> $ref of its model, components.schemas entries) for one service.

    Requests are described as the service validates them, replies and events as it serialises them;
    a model whose two shapes differ appears twice (``-Input``/``-Output``), as pydantic names it.
    """
    keys: list[tuple[str, type, str]] = []
    for op in contract.operations.values():
        keys.append((f"{op.name}.request", op.request, "validation"))
        keys.append((f"{op.name}.reply", op.reply, "serialization"))
    for event_type, event in contract.events.items():
        keys.append((event_type, event, "serialization"))
    unique = list(dict.fromkeys((model, mode) for _, model, mode in keys))
    template = SCHEMA_PREFIX + contract.service + ".{model}"
    mapping, top = models_json_schema(unique, ref_template=template)
    refs = {key: mapping[(model, mode)]["$ref"] for key, model, mode in keys}
    defs = {f"{contract.service}.{name}": to_asyncapi_schema(schema) for name, schema in top.get("$defs", {}).items()}
    for schema in defs.values():
        with_contract_major(schema, contract.major)
    return refs, defs


def to_asyncapi_schema(node: Any) -> Any:
    """Adapt pydantic's JSON Schema to the AsyncAPI Schema Object.

    The one difference that matters: pydantic writes OpenAPI's ``discriminator`` object
    (``{"propertyName": ..., "mapping": ...}``); AsyncAPI's ``discriminator`` is the property name
    itself. The mapping is redundant: every branch of the ``oneOf`` has its ``const`` value.
    """
    if isinstance(node, dict):
        out = {key: to_asyncapi_schema(value) for key, value in node.items()}
        if isinstance(out.get("discriminator"), dict):
            out["discriminator"] = out["discriminator"]["propertyName"]
        return out
    if isinstance(node, list):
        return [to_asyncapi_schema(item) for item in node]
    return node


def rpc_error_schema() -> dict[str, Any]:
    codes = sorted({e.code for e in ERROR_TYPES} | {"bad_request"})
    field_error = {
        "type": "object",
        "required": ["field", "message", "type"],
        "properties": {
            "field": {"type": "string", "description": "Dotted path of the bad field, e.g. `records.1.household.area_m2`."},
            "message": {"type": "string"},
            "type": {"type": "string", "description": "Machine-readable kind of the problem."},
        },
    }
    return {
        "title": "RpcError",
        "type": "object",
        "description": "A typed error. Only `code`, `message` and `details` matter outside Python; "
                       "`exc_*` and `value` let nameko clients rebuild the exception type.",
        "required": ["code", "message", "details"],
        "properties": {
            "code": {"type": "string", "enum": codes},
            "message": {"type": "string"},
            "details": {
                "type": "object",
                "properties": {
                    "fields": {"type": "array", "items": field_error,
                               "description": "validation_failed: each bad field."},
                    "entity": {"type": "string", "description": "not_found: the kind of entity."},
                    "id": {"type": "string", "description": "not_found: the id that was not found."},
                    "field": {"type": "string", "description": "The request field that referred to it."},
                    "reference": {"type": "string",
                                  "description": "internal_error: finds the fault in the service's logs."},
                },
            },
            "exc_type": {"type": "string"},
            "exc_path": {"type": "string"},
            "exc_args": {"type": "array"},
            "value": {"type": "string"},
        },
    }


def _common_schemas() -> dict[str, Any]:
    return {
        "RpcError": rpc_error_schema(),
        "RpcRequestProperties": {
            "type": "object",
            "description": "AMQP basic properties of a request (properties of the message, not entries "
                           "of its header table).",
            "required": ["content_type"],
            # A request with reply_to but no correlation_id is refused (bad_request).
            "dependencies": {"reply_to": ["correlation_id"]},
            "properties": {
                "correlation_id": {"type": "string", "description": "Unique per call; the reply carries it back."},
                "reply_to": {"type": "string",
                             "description": "The routing key of the caller's reply queue on `nameko-rpc`. "
                                            "Without it nobody hears the reply: a request that fails is "
                                            "dead-lettered with its error instead."},
                "content_type": {"type": "string", "const": wire.CONTENT_TYPE,
                                 "description": "Anything else is refused (bad_request)."},
                "content_encoding": {"type": "string", "enum": sorted(wire.UTF8_NAMES),
                                     "description": "Absent means UTF-8; anything else is refused."},
                "delivery_mode": {"type": "integer", "enum": [1, 2],
                                  "description": "1 (transient) for a query, 2 (persistent) for a command."},
            },
        },
        "RpcReplyProperties": {
            "type": "object",
            "description": "AMQP basic properties of a reply.",
            "required": ["correlation_id"],
            "properties": {"correlation_id": {"type": "string"}},
        },
        "EventHeaders": {
            "type": "object",
            "description": "Entries of the AMQP header table of every event (all strings).",
            "required": [wire.H_EVENT_ID, wire.H_EVENT_TYPE, wire.H_DISTRICT, wire.H_SCHEMA_VERSION],
            "properties": {
                wire.H_EVENT_ID: {"type": "string", "description": "Unique id of the fact; also `event_id` "
                                                                   "in the body and the `message_id` property."},
                wire.H_EVENT_TYPE: {"type": "string", "description": "The routing key, `<service>.<fact>`."},
                wire.H_DISTRICT: {"type": "string", "pattern": "^[0-9]{6}$"},
                wire.H_SCHEMA_VERSION: {"type": "string"},
            },
        },
        "DeadLetterHeaders": {
            "type": "object",
            "description": "Why, where from and when a message was dead-lettered (AMQP header table).",
            "properties": {
                wire.H_DEAD_REASON: {"type": "string"},
                wire.H_DEAD_ERROR: {"type": "string"},
                wire.H_DEAD_ERROR_CODE: {"type": "string",
                                         "description": "The error code, as in an RPC reply's `error.code`."},
                wire.H_DEAD_QUEUE: {"type": "string"},
                wire.H_DEAD_AT: {"type": "string", "format": "date-time"},
                wire.H_ATTEMPT: {"type": "integer"},
                wire.H_ORIGINAL_EXCHANGE: {"type": "string"},
                wire.H_ORIGINAL_ROUTING_KEY: {"type": "string"},
            },
        },
    }


def _envelope(kwargs_ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["args", "kwargs"],
        "additionalProperties": False,
        "properties": {
            "args": {"type": "array", "maxItems": 0, "description": "Always empty: fields go in `kwargs`."},
            "kwargs": _ref(kwargs_ref),
        },
    }


def _reply_payload(result_ref: str) -> dict[str, Any]:
    return {
        "oneOf": [
            {"type": "object", "title": "success", "required": ["result", "error"],
             "properties": {"result": _ref(result_ref), "error": {"type": "null"}}},
            {"type": "object", "title": "failure", "required": ["result", "error"],
             "properties": {"result": {"type": "null"}, "error": _ref(SCHEMA_PREFIX + "RpcError")}},
        ],
    }


# -- the document -----------------------------------------------------------------------------------


RPC_EXCHANGE_BINDING = {"name": wire.RPC_EXCHANGE, "type": "topic", "durable": True, "autoDelete": False}

INFO_DESCRIPTION = """\
The message interface of a redprop district release: RPC operations (queries and commands) and
events, over AMQP 0-9-1 (RabbitMQ), one virtual host per district. Read it with
docs/wire-protocol.md, which explains the conventions in prose:

- **RPC.** Publish `{"args": [], "kwargs": {...}}` to exchange `nameko-rpc` with routing key
  `<service>.<operation>`, a unique `correlation_id` and `reply_to` = the routing key of your own
  exclusive reply queue bound to `nameko-rpc`. The reply `{"result": ..., "error": null}` or
  `{"result": null, "error": {"code", "message", "details"}}` arrives on that queue with the same
  `correlation_id`. Queries are sent transient (delivery mode 1); commands persistent (2), on a
  confirm channel, with a client-chosen `request_id`: retrying with the same `request_id` returns the
  first reply and changes nothing twice. Publish with `mandatory` so an unserved operation comes back
  at once. Wait at most 10 s for a reply.
- **Events.** Each service publishes facts to its exchange `<service>.events` (topic, durable), routing
  key `<service>.<fact>`, persistent, after the change is committed. Bind your own durable queue and
  acknowledge manually. Delivery is at least once: deduplicate on `event_id`.
- **Dead letters.** Messages a service cannot process land in `redprop.dlq.<service>`.
"""


def build_document(contracts: dict[str, ServiceContract] | None = None) -> dict[str, Any]:
    if contracts is None:
        from redprop.contracts import all_contracts

        contracts = all_contracts()
    services = sorted(contracts)
    schemas: dict[str, Any] = _common_schemas()
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    reply_messages: dict[str, Any] = {}

    for name in services:
        contract = contracts[name]
        refs, defs = service_schemas(contract)
        clash = set(defs) & set(schemas)
        if clash:
            raise ValueError(f"schema names defined twice: {sorted(clash)}")
        schemas.update(defs)
        tags = [{"name": name}]

        for op in contract.operations.values():
            qualified = f"{name}.{op.name}"
            request_key, reply_key = f"{qualified}.request", f"{qualified}.reply"
            kind_note = (
                "Command: send persistent (delivery mode 2) on a confirm channel, with a `request_id`; "
                "retry with the same `request_id`." if op.persistent
                else "Query: send transient (delivery mode 1); safe to retry.")
            messages[request_key] = {
                "name": request_key,
                "title": f"{qualified} request",
                "summary": op.summary,
                "description": kind_note,
                "contentType": "application/json",
                "correlationId": {"location": "$message.header#/correlation_id",
                                  "description": "The `correlation_id` property; the reply carries it back."},
                "headers": _ref(SCHEMA_PREFIX + "RpcRequestProperties"),
                "payload": _envelope(refs[f"{op.name}.request"]),
                "bindings": _amqp(contentEncoding="utf-8", messageType=qualified),
                "x-redprop-kind": op.kind,
                # Who may call it (docs/authorisation.md): refused with `permission_denied` otherwise.
                "x-redprop-permit": op.permit.describe(),
            }
            messages[reply_key] = {
                "name": reply_key,
                "title": f"{qualified} reply",
                "summary": f"The reply to {qualified}: its result, or a typed error.",
                "contentType": "application/json",
                "correlationId": {"location": "$message.header#/correlation_id"},
                "headers": _ref(SCHEMA_PREFIX + "RpcReplyProperties"),
                "payload": _reply_payload(refs[f"{op.name}.reply"]),
                "bindings": _amqp(contentEncoding="utf-8"),
            }
            channel_id = f"rpc.{qualified}"
            channels[channel_id] = {
                "address": qualified,
                "title": f"{qualified} requests",
                "description": f"Requests to {qualified}, published to exchange `{wire.RPC_EXCHANGE}` "
                               f"with routing key `{qualified}`.",
                "messages": {"request": _ref(f"#/components/messages/{request_key}")},
                "bindings": _amqp(
                    **{"is": "routingKey", "exchange": RPC_EXCHANGE_BINDING,
                       # The queue the service consumes from (declared by the service, not by callers).
                       "x-redprop-service-queue": {"name": f"rpc-{name}", "durable": True, "exclusive": False,
                                                   "autoDelete": False, "bindingKey": f"{name}.*"}}),
            }
            reply_messages[reply_key] = _ref(f"#/components/messages/{reply_key}")
            operations[f"rpc.{qualified}"] = {
                "action": "receive",
                "channel": _ref(f"#/channels/{channel_id}"),
                "title": qualified,
                "summary": op.summary,
                "description": kind_note,
                "tags": [*tags, {"name": op.kind}],
                "messages": [_ref(f"#/channels/{channel_id}/messages/request")],
                "bindings": _amqp(deliveryMode=2 if op.persistent else 1, mandatory=True, ack=True),
                "reply": {
                    "address": {"location": "$message.header#/reply_to",
                                "description": "The request's `reply_to` property: the reply is published to "
                                               f"`{wire.RPC_EXCHANGE}` with it as routing key."},
                    "channel": _ref(f"#/channels/{REPLY_CHANNEL}"),
                    "messages": [_ref(f"#/channels/{REPLY_CHANNEL}/messages/{reply_key}")],
                },
                "x-redprop-kind": op.kind,
            }

        for event_type, event in contract.events.items():
            doc = (event.__doc__ or "").strip()
            messages[event_type] = {
                "name": event_type,
                "title": event_type,
                "summary": doc.splitlines()[0] if doc else f"The fact {event_type}.",
                "contentType": "application/json",
                "headers": _ref(SCHEMA_PREFIX + "EventHeaders"),
                "payload": _ref(refs[event_type]),
                "bindings": _amqp(contentEncoding="utf-8", messageType=event_type),
            }
            channel_id = f"events.{event_type}"
            channels[channel_id] = {
                "address": event_type,
                "title": f"{event_type} events",
                "description": f"Published to exchange `{name}.events` with routing key `{event_type}`. "
                               "Consume from your own durable queue bound with this key or a pattern "
                               f"(`{name}.#`), acknowledging manually; deduplicate on `event_id`.",
                "messages": {"event": _ref(f"#/components/messages/{event_type}")},
                "bindings": _amqp(
                    **{"is": "routingKey",
                       "exchange": {"name": f"{name}.events", "type": "topic", "durable": True, "autoDelete": False},
                       "x-redprop-consumer-queue": {"durable": True, "exclusive": False, "autoDelete": False,
                                                    "bindingKey": f"{name}.#", "ack": "manual"}}),
            }
            operations[f"event.{event_type}"] = {
                "action": "send",
                "channel": _ref(f"#/channels/{channel_id}"),
                "title": event_type,
                "summary": messages[event_type]["summary"],
                "tags": [*tags, {"name": "event"}],
                "messages": [_ref(f"#/channels/{channel_id}/messages/event")],
                "bindings": _amqp(deliveryMode=2, ack=True),
            }

        channels[f"deadletter.{name}"] = {
            "address": f"redprop.dlq.{name}",
            "title": f"{name} dead letters",
            "description": f"Messages {name} could not process, with the reason in `x-redprop-dead-*` headers; "
                           f"published to exchange `{wire.DEAD_LETTER_EXCHANGE}` with routing key "
                           f"`{name}.<queue>`. Operators use `redprop dlq list|replay {name}`.",
            "messages": {"deadLetter": _ref("#/components/messages/deadLetter")},
            "bindings": _amqp(
                **{"is": "queue",
                   "queue": {"name": f"redprop.dlq.{name}", "durable": True, "exclusive": False, "autoDelete": False},
                   "x-redprop-binding": {"exchange": wire.DEAD_LETTER_EXCHANGE, "type": "topic",
                                         "bindingKey": f"{name}.#"}}),
        }
        operations[f"deadletter.{name}"] = {
            "action": "send",
            "channel": _ref(f"#/channels/deadletter.{name}"),
            "summary": f"{name} parks a message it cannot process.",
            "tags": [*tags, {"name": "dead-letter"}],
            "messages": [_ref(f"#/channels/deadletter.{name}/messages/deadLetter")],
            "bindings": _amqp(deliveryMode=2),
        }

    messages["deadLetter"] = {
        "name": "deadLetter",
        "title": "Dead letter",
        "summary": "The original message body, unchanged, with headers saying why it was parked.",
        "headers": _ref(SCHEMA_PREFIX + "DeadLetterHeaders"),
        "payload": {"description": "The original body, as it arrived."},
    }
    channels[REPLY_CHANNEL] = {
        "address": None,
        "title": "RPC replies",
        "description": "The caller's own reply queue: exclusive, auto-delete, any name, bound to exchange "
                       f"`{wire.RPC_EXCHANGE}` with a routing key only the caller uses; that key is the "
                       "`reply_to` of its requests. Replies are transient.",
        "messages": reply_messages,
        "bindings": _amqp(
            **{"is": "queue",
               "queue": {"name": "rpc.reply-{uuid}", "durable": False, "exclusive": True, "autoDelete": True},
               "x-redprop-binding": {"exchange": wire.RPC_EXCHANGE, "type": "topic",
                                     "bindingKey": "the caller's reply_to"}}),
    }

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:redprop:district",
        "info": {
            "title": "redprop district messaging",
            "version": DOCUMENT_VERSION,
            "description": INFO_DESCRIPTION,
            "license": {"name": "Apache-2.0"},
            "tags": [{"name": n, "description": contracts[n].summary} for n in services]
                    + [{"name": "query"}, {"name": "command"}, {"name": "event"}, {"name": "dead-letter"}],
            "x-redprop-contracts": {n: contracts[n].version for n in services},
        },
        "defaultContentType": "application/json",
        "servers": {
            "district": {
                "host": "{host}:{port}",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "pathname": "/{vhost}",
                "title": "A district's RabbitMQ virtual host",
                "description": "One virtual host per district release; your credentials open your district's "
                               "virtual host only.",
                "variables": {
                    "host": {"default": "127.0.0.1", "description": "The broker's host name."},
                    "port": {"default": "5672", "enum": ["5672", "5671"],
                             "description": "5672 (amqp) or 5671 (amqps)."},
                    "vhost": {"default": "district-310101",
                              "description": "The district's virtual host (URL-encoded when it has a '/')."},
                },
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


class _Dumper(yaml.SafeDumper):
    """Block style, keys in insertion order, no anchors (each reference is written out)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_presenter(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)


def render_yaml(document: dict[str, Any] | None = None) -> str:
    document = build_document() if document is None else document
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
