"""Fixtures for the matching tests: jieba loaded once per session, a registry with a small district."""

from __future__ import annotations

import pytest

#: Who acts in the matching tests (tests/conftest.py OFFICIALS): a community worker and a street officer.
WORKER_ID, OFFICER_ID = "P-CW", "P-SD"


def load_city_officials(suite, city: str) -> None:
    """The city release checks its permits against its own registry: the city, its operator and officer."""
    people = [("P-DATA", "data_officer"), ("P-OPS", "operator"), ("P-DO", "district_officer")]
    records = [{"kind": "region", "id": city, "level": "city", "name": "示范市"}]
    for person, role in people:
        records += [{"kind": "person", "id": person, "name": person},
                    {"kind": "role", "id": f"R-{person}", "person_id": person, "role": role, "scope_id": city,
                     "term_start": "2024-01-01"}]
    assert suite.rpc.registry.upsert(actor="P-DATA", records=records, request_id="load-city-officials").applied


@pytest.fixture(scope="session", autouse=True)
def jieba_ready():
    from redprop.services.matching import text

    text.warm_up()


ZONE_RECORDS = [
    # Two enterprises and a paired unit next to the small district's complexes X1 and X2 (31.0, 121.0).
    {"kind": "organisation", "id": "ENT-A", "org_kind": "enterprise", "name": "绿源苗木场", "lat": 31.005,
     "lon": 121.004, "relocation_date": "2099-06-30"},
    {"kind": "organisation", "id": "ENT-B", "org_kind": "enterprise", "name": "石材厂", "lat": 31.02,
     "lon": 121.02},
    {"kind": "organisation", "id": "PAIR-1", "org_kind": "paired_unit", "name": "电信党支部", "scope_id": "C1"},
]


@pytest.fixture
def district_records(small_district) -> list[dict]:
    records = [dict(r) for r in small_district]
    for r in records:
        if r["kind"] == "region" and r["id"] == "C1":
            r.update(lat=31.005, lon=121.005)
    return records + ZONE_RECORDS


@pytest.fixture
def matching(run_suite, district_records):
    suite = run_suite("registry", "matching")
    report = suite.rpc.registry.upsert(actor="P-DATA", records=district_records, request_id="load-district-1")
    assert report.applied, report.errors
    return suite
