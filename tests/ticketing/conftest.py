"""Fixtures for the ticketing tests: the registry with the small district, and ticketing beside it."""

from __future__ import annotations

import itertools
import uuid

import pytest

from redprop.contracts.ticketing import Actor

WORKER = Actor(kind="worker", id="W1")
RESIDENT = Actor(kind="resident", id="P2")
COMPANY = Actor(kind="handler", handler_kind="property_company", id="CO1")
_ids = itertools.count(1)


def rid(prefix: str = "req") -> str:
    return f"{prefix}-{next(_ids):05d}-{uuid.uuid4().hex[:6]}"


def start_ticketing(run_suite, small_district, backend="sqlite", **options):
    suite = run_suite("registry", "ticketing", backend=backend,
                      services={"ticketing": {"options": {"sweep_interval": 3600, **options}}})
    suite.rpc.registry.upsert(records=small_district, request_id=rid("load"))
    return suite


@pytest.fixture
def suite(run_suite, small_district):
    return start_ticketing(run_suite, small_district)


def submit(suite, **fields):
    body = {"resident_id": "P2", "category": "leak", "building_id": "B1",
            "description": "楼道顶棚漏水，雨天更严重", "request_id": rid("submit"), **fields}
    return suite.rpc.ticketing.submit(**body).ticket


def act(suite, operation: str, ticket_id: str, actor: Actor, **fields):
    return suite.rpc.call("ticketing", operation, {"ticket_id": ticket_id, "actor": actor.model_dump(),
                                                   "request_id": rid(operation), **fields}).ticket
