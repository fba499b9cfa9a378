"""The client's reply parsing: a reply message's JSON validated against the operation's contract in one
pydantic call, with the same outcomes as decoding it first (typed remote errors, named bad fields)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from redprop.contracts import all_contracts
from redprop.errors import NotFound
from redprop.messaging.client import parse_reply_body
from redprop.messaging.rpc import EncodedReply
from redprop.messaging.wire import error_payload

OP = all_contracts()["matching"].operations["list_offers"]


def test_a_good_reply_is_the_contract_model():
    reply = parse_reply_body(OP, json.dumps({"result": {"offers": [], "total": 0}, "error": None}).encode())
    assert isinstance(reply, OP.reply) and reply.total == 0 and reply.offers == []


def test_a_query_reply_encoded_by_the_service_parses_back_to_the_same_model():
    sent = OP.reply(offers=[], total=7)
    body = EncodedReply(sent.model_dump_json().encode()).envelope()
    assert json.loads(body) == {"result": sent.model_dump(mode="json"), "error": None}
    assert parse_reply_body(OP, body) == sent


def test_a_remote_error_is_raised_as_its_typed_exception():
    body = json.dumps({"result": None, "error": error_payload(NotFound("no such offer", {"id": "O1"}))}).encode()
    with pytest.raises(NotFound) as caught:
        parse_reply_body(OP, body)
    assert "no such offer" in str(caught.value)


@pytest.mark.parametrize("result", [{"offers": [], "total": "many"}, {"offers": []}, None])
def test_a_reply_off_the_contract_names_the_field(result):
    with pytest.raises(ValidationError) as caught:
        parse_reply_body(OP, json.dumps({"result": result, "error": None}).encode())
    if result is not None:
        assert "total" in str(caught.value)


def test_a_body_that_is_not_json_is_refused():
    with pytest.raises(ValueError):  # JSONDecodeError or UnicodeDecodeError
        parse_reply_body(OP, b"\xff not json")
