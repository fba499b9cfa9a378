"""Fixtures for the ticketing tests: the registry with the small district, and ticketing beside it."""

from __future__ import annotations

import pytest

from redprop.testing.tickets import (  # noqa: F401 - re-exported to the tests
    COMMUNITY,
    COMPANY,
    RESIDENT,
    WATER,
    WORKER,
    act,
    get_ticket,
    holder,
    list_tickets,
    rid,
    set_price_list,
    submit,
    sweep,
)


def start_ticketing(run_suite, small_district, backend="sqlite", **options):
    suite = run_suite("registry", "ticketing", backend=backend,
                      services={"ticketing": {"options": {"sweep_interval": 3600, **options}}})
    suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id=rid("load"))
    return suite


@pytest.fixture
def suite(run_suite, small_district):
    return start_ticketing(run_suite, small_district)
