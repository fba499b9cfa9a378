"""One handler for several event types of a service: one queue bound to each routing key, each body
checked against its own contract, the type kept across a retry."""

from __future__ import annotations

import pytest
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from redprop.contracts.registry import RolesChanged, StructureChanged
from redprop.db import Database, new_metadata
from redprop.messaging import event_handler, wire
from redprop.service import RedpropService
from redprop.testing.events import dead_letters
from redprop.testing.suite import ad_hoc_service, wait_for
from tests.shared.test_faults import publish_event, structure_event

pytestmark = pytest.mark.integration


class FamilyBase(DeclarativeBase):
    metadata = new_metadata()


class Seen(FamilyBase):
    __tablename__ = "seen"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_type: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(64))


FLAKY = "flaky-once"  # this event fails on its first delivery, as a passing fault would
_failed: set[str] = set()


class FamilyService(RedpropService):
    name = "family"
    db = Database(FamilyBase.metadata, migrations="unused")

    @event_handler("registry", StructureChanged, RolesChanged)
    def on_registry_event(self, evt: StructureChanged | RolesChanged) -> None:
        if evt.event_id == FLAKY and FLAKY not in _failed:
            _failed.add(FLAKY)
            raise RuntimeError("the first try fails")
        self.db.add(Seen(event_type=evt.event_type, event_id=evt.event_id))


@pytest.fixture
def family(make_settings):
    settings = make_settings(["family"])
    with ad_hoc_service(settings, FamilyService, FamilyBase.metadata) as (container, engine):
        def seen() -> list[tuple[str, str]]:
            with engine.connect() as conn:
                return sorted(tuple(r) for r in conn.execute(select(Seen.event_type, Seen.event_id)))

        container.seen, container.settings = seen, settings
        yield container


def roles_event(event_id: str) -> dict:
    return RolesChanged(district="990001", changes=[], event_id=event_id).model_dump(mode="json")


def test_one_queue_takes_each_type_with_its_own_contract(family, rabbit_management, vhost):
    publish_event(family.settings, structure_event(3, event_id="s-1"))
    publish_event(family.settings, roles_event("r-1"), routing_key=RolesChanged.event_type)
    # A roles event's body under the structure key breaks the structure contract: refused, not misread.
    publish_event(family.settings, roles_event("r-2"))
    wait_for(lambda: len(family.seen()) >= 2, message="both good events")
    assert family.seen() == [("registry.roles_changed", "r-1"), ("registry.structure_changed", "s-1")]
    letters = wait_for(lambda: dead_letters(family.settings, "family") or None, message="the misfiled event")
    assert letters[0].headers[wire.H_DEAD_ERROR_CODE] == "validation_failed"
    queues = {q["name"] for q in rabbit_management.queues(vhost) if q["name"].startswith("evt-")}
    assert queues == {"evt-registry--family.on_registry_event"}  # one queue for the family


def test_a_retried_event_keeps_its_type(family):
    _failed.discard(FLAKY)
    publish_event(family.settings, roles_event(FLAKY), routing_key=RolesChanged.event_type)
    # The retry comes back by the queue's name; the type travels in a header, so the roles contract is used.
    wait_for(lambda: family.seen(), timeout=20, message="the retried event")
    assert family.seen() == [("registry.roles_changed", FLAKY)]
    assert FLAKY in _failed  # it did fail once
    assert dead_letters(family.settings, "family") == []
