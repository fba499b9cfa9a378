"""Contract fields carry the bounds of the columns they land in: out of bounds is refused at once.

Before, ``TicketFacts.rating`` or an ``event_id`` longer than the inbox's String(64) passed the
contract, failed in the consumer's database, and was retried until dead-lettered.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from redprop.contracts import ticketing as t
from redprop.messaging import wire
from redprop.testing import events as broker
from redprop.testing.suite import wait_for

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def facts(**changes) -> dict:
    return {"ticket_id": "T1", "category": "leak", "sla_class": "utilities", "level": "grid",
            "status": "closed", "complex_id": "X1", "submitted_at": T0.isoformat(),
            "response_due_at": (T0 + timedelta(hours=2)).isoformat(),
            "resolution_due_at": (T0 + timedelta(hours=24)).isoformat(), **changes}


def created(**changes) -> dict:
    return {"event_id": "e" * 32, "occurred_at": T0.isoformat(), "district": "990001",
            "actor": {"kind": "resident", "id": "P2"}, "ticket": facts(), **changes}


@pytest.mark.parametrize("field, value", [
    ("rating", 0), ("rating", 6), ("rating", 2**31),
    ("reopen_count", -1), ("reopen_count", 2**31),
    ("category", "x" * 41), ("category", "漏水"),
])
def test_ticket_facts_refuse_what_the_consumer_cannot_store(field, value):
    with pytest.raises(ValidationError) as err:
        t.TicketFacts.model_validate(facts(**{field: value}))
    assert err.value.errors()[0]["loc"] == (field,)


def test_ticket_facts_accept_the_bounds_themselves():
    assert t.TicketFacts.model_validate(facts(rating=5, reopen_count=2**31 - 1, category="x" * 40)).rating == 5
    assert t.TicketFacts.model_validate(facts(rating=1)).rating == 1


@pytest.mark.parametrize("event_id", ["e" * 65, "", "-leading-dash", "with space"])
def test_event_ids_longer_than_the_inbox_key_or_malformed_are_refused(event_id):
    with pytest.raises(ValidationError):
        t.TicketCreated.model_validate(created(event_id=event_id))


def test_an_event_id_of_64_characters_fits():
    assert t.TicketCreated.model_validate(created(event_id="e" * 64)).event_id == "e" * 64


@pytest.mark.integration
@pytest.mark.parametrize("body", [
    pytest.param(created(ticket=facts(rating=7)), id="rating"),
    pytest.param(created(event_id="e" * 80), id="event_id"),
])
def test_evaluation_dead_letters_an_out_of_bounds_event_at_once_without_retrying(run_suite, body):
    suite = run_suite("evaluation", backend="postgresql")
    broker.publish(suite.settings, "ticketing.created", body)
    letters = wait_for(lambda: broker.dead_letters(suite.settings, "evaluation") or None, timeout=15,
                       message="the out-of-bounds event in the dead letters")
    assert len(letters) == 1
    assert letters[0].headers[wire.H_ATTEMPT] == 1  # refused on its first delivery, never retried
    assert letters[0].headers[wire.H_DEAD_REASON].startswith("cannot succeed")
