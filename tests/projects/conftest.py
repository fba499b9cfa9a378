"""Fixtures for the projects tests: the small district with the officials who plan, record and approve."""

from __future__ import annotations

import uuid

import pytest

OFFICIALS = [
    {"kind": "person", "id": "DO1", "name": "区干部"},
    {"kind": "person", "id": "SO1", "name": "街道干部"},
    {"kind": "person", "id": "CW1", "name": "社工甲"},
    {"kind": "person", "id": "CW2", "name": "社工乙"},
    # Holds posts at both levels: may approve at either, never at both for one draw.
    {"kind": "person", "id": "BOTH", "name": "兼职干部"},
    {"kind": "role", "id": "R-DO1", "person_id": "DO1", "role": "district_officer", "scope_id": "990001",
     "term_start": "2024-01-01"},
    {"kind": "role", "id": "R-SO1", "person_id": "SO1", "role": "subdistrict_officer", "scope_id": "S",
     "term_start": "2024-01-01"},
    {"kind": "role", "id": "R-CW1", "person_id": "CW1", "role": "community_worker", "scope_id": "C1",
     "term_start": "2024-01-01"},
    {"kind": "role", "id": "R-CW2", "person_id": "CW2", "role": "community_worker", "scope_id": "C1",
     "term_start": "2024-01-01"},
    {"kind": "role", "id": "R-BOTH-C", "person_id": "BOTH", "role": "community_worker", "scope_id": "C1",
     "term_start": "2024-01-01"},
    {"kind": "role", "id": "R-BOTH-S", "person_id": "BOTH", "role": "subdistrict_officer", "scope_id": "S",
     "term_start": "2024-01-01"},
]


def rid() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def district_records(small_district) -> list[dict]:
    return small_district + OFFICIALS


def start(run_suite, records, *services, backend="sqlite", **overrides):
    suite = run_suite("registry", *services, backend=backend, **overrides)
    assert suite.rpc.registry.upsert(actor="P-DATA", records=records, request_id="load-district-1").applied
    return suite


@pytest.fixture
def projects(run_suite, district_records, backend):
    """Registry and projects on each backend (SQLite and PostgreSQL)."""
    return start(run_suite, district_records, "projects", backend=backend)


def fund(rpc, fund_id="F-EM-X1", kind="emergency_repair", scope="X1", amount=0, actor="DO1"):
    rpc.projects.create_fund(request_id=rid(), id=fund_id, kind=kind, name=f"{kind} {scope}", scope_id=scope,
                             actor=actor)
    if amount:
        rpc.projects.allocate(request_id=rid(), fund_id=fund_id, year=2026, amount=amount, actor=actor)
    return rpc.projects.get_fund(fund_id=fund_id).fund
