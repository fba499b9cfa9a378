"""Fixtures for the matching tests: jieba loaded once per session, a registry with a small district."""

from __future__ import annotations

import pytest


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
