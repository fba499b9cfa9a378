"""Fixtures for the evaluation tests: registry + ticketing + evaluation on the small district, plus a
committee for X1, a second company, a housing department and the people who act."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from redprop.contracts.ticketing import Actor
from redprop.testing.tickets import COMPANY, RESIDENT, WORKER, act, rid, submit  # noqa: F401 - re-exported to the tests

COMPANY2 = Actor(kind="handler", handler_kind="property_company", id="CO2")
MEMBERS = ["E1", "E2", "E3", "E4", "E5"]  # the owners' committee OC1 of X1


def extra_records() -> list[dict]:
    people = [{"kind": "person", "id": p, "name": f"委员{p}"} for p in MEMBERS]
    roles = [{"kind": "role", "id": f"RE{n}", "person_id": p, "role": "committee_chair" if n == 0 else "committee_member",
              "organisation_id": "OC1", "scope_id": "X1", "term_start": "2024-01-01"} for n, p in enumerate(MEMBERS)]
    return [
        {"kind": "organisation", "id": "OC1", "org_kind": "owners_committee", "name": "阳光业委会", "scope_id": "X1"},
        {"kind": "organisation", "id": "DEP-HOUSING", "org_kind": "department", "name": "区房管局",
         "department_function": "housing"},
        {"kind": "organisation", "id": "CO2", "org_kind": "property_company", "name": "宜居物业", "scope_id": "C1"},
        {"kind": "complex", "id": "X3", "name": "明月小区", "community_id": "C1", "property_company_id": "CO2",
         "lat": 31.02, "lon": 121.02},
        {"kind": "grid", "id": "G3", "name": "第三网格", "community_id": "C1", "complex_id": "X3"},
        {"kind": "building", "id": "B3", "name": "1号楼", "complex_id": "X3", "grid_id": "G3", "lat": 31.02, "lon": 121.02},
        {"kind": "household", "id": "H4", "building_id": "B3", "unit": "1-101", "area_m2": "70.00", "owner_ids": ["P2"]},
        {"kind": "person", "id": "P9", "name": "赵经理", "party_member": True},
        {"kind": "person", "id": "H-OFFICER", "name": "房管员"},
        *people, *roles,
        {"kind": "role", "id": "RM1", "person_id": "P9", "role": "company_manager", "organisation_id": "CO1",
         "scope_id": "X1", "term_start": "2024-01-01"},
        # A cross appointment: the company's manager also sits on the community party committee.
        {"kind": "role", "id": "RM2", "person_id": "P9", "role": "party_committee_member", "organisation_id": "PC1",
         "scope_id": "C1", "term_start": "2024-01-01"},
    ]


def start(run_suite, small_district, backend="sqlite", rubric: str | None = None, **options):
    overrides = {"services": {"ticketing": {"options": {"sweep_interval": 3600}},
                              "evaluation": {"options": options}}}
    if rubric:
        overrides["plugins"] = {"evaluation.rubric": rubric}
    suite = run_suite("registry", "ticketing", "evaluation", backend=backend, **overrides)
    suite.rpc.registry.upsert(actor="P-DATA", records=small_district + extra_records(), request_id=rid("load"))
    return suite


@pytest.fixture
def suite(run_suite, small_district):
    return start(run_suite, small_district)


def evaluation_engine(suite):
    return create_engine(suite.settings.database_url("evaluation"))


RED_SCORECARD = {"daily_cleaning_greening": "8.50", "daily_security_facilities": "9", "social_residents_trust": "7"}
