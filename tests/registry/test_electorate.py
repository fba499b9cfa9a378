"""The electorate counted as the SPC interpretation on building differentiated ownership says: heads per
Art. 9 (one part one person; co-owners, a multi-part buyer and the developer's unsold parts each one person)
and areas per Art. 8 (register, else survey, else sales contract), on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from redprop.services.registry.queries import voting_persons
from tests.conftest import officials_records

pytestmark = pytest.mark.integration

BASE = [
    {"kind": "region", "id": "990001", "level": "district", "name": "测试区"},
    {"kind": "region", "id": "S", "level": "subdistrict", "name": "测试街道", "parent_id": "990001"},
    {"kind": "region", "id": "C1", "level": "community", "name": "幸福社区", "parent_id": "S"},
    {"kind": "complex", "id": "X1", "name": "阳光小区", "community_id": "C1"},
    {"kind": "complex", "id": "X2", "name": "无产证小区", "community_id": "C1", "has_property_certificate": False},
    {"kind": "grid", "id": "G1", "name": "第一网格", "community_id": "C1", "complex_id": "X1"},
    {"kind": "grid", "id": "G2", "name": "第二网格", "community_id": "C1", "complex_id": "X2"},
    {"kind": "building", "id": "B7", "name": "7 flats", "complex_id": "X1", "grid_id": "G1", "lat": 31.0, "lon": 121.0},
    {"kind": "building", "id": "BD", "name": "developer's", "complex_id": "X1", "grid_id": "G1", "lat": 31.0,
     "lon": 121.0},
    {"kind": "building", "id": "BZ", "name": "no certificates", "complex_id": "X2", "grid_id": "G2", "lat": 31.0,
     "lon": 121.0},
]


def household(hid: str, building: str, owners: list[str], area: str = "100.00", **extra) -> dict:
    record = {"kind": "household", "id": hid, "building_id": building, "unit": hid, "owner_ids": owners, **extra}
    if not any(k.endswith("_area_m2") for k in extra):
        record["area_m2"] = area
    return record


def district() -> list[dict]:
    # Seven flats: MULTI bought three of them, four other owners one each -> 5 persons by Art. 9.
    flats = [household("F1", "B7", ["MULTI"]), household("F2", "B7", ["MULTI"]), household("F3", "B7", ["MULTI"]),
             household("F4", "B7", ["O4"]), household("F5", "B7", ["O5", "O5B"]),  # co-owners: one person
             household("F6", "B7", ["O6"]), household("F7", "B7", ["O7"])]
    # The developer's unsold parts: three of them, together one person; one with its representative listed.
    developer = [household("D1", "BD", ["DEVREP"], developer_unsold=True),
                 household("D2", "BD", [], developer_unsold=True),
                 household("D3", "BD", [], area="50.50", developer_unsold=True)]
    # A complex without property certificates (无产证): areas from the survey or the sales contract.
    zhuanqiao = [household("Z1", "BZ", ["Z-O1"], survey_area_m2="61.20", contract_area_m2="60.00"),
                 household("Z2", "BZ", ["Z-O2"], contract_area_m2="58.80"),
                 household("Z3", "BZ", ["Z-O3"], register_area_m2="70.10", survey_area_m2="70.00",
                           contract_area_m2="69.00"),
                 household("Z4", "BZ", ["Z-O4"], area="40.00", area_source="contract")]
    people = sorted({o for h in flats + developer + zhuanqiao for o in h["owner_ids"]})
    return (BASE + [{"kind": "person", "id": p, "name": p} for p in people] + flats + developer + zhuanqiao
            + officials_records(companies=False))


@pytest.fixture
def registry(run_suite, backend):
    suite = run_suite("registry", backend=backend)
    report = suite.rpc.registry.upsert(actor="P-DATA", records=district(), request_id="load-electorate-district")
    assert report.applied and not report.errors, report.errors
    return suite


def test_one_person_one_head_however_many_flats(registry):
    reply = registry.rpc.registry.electorate(building_ids=["B7"])
    assert len(reply.households) == 7 and reply.households_with_owners == 7
    # Art. 9: MULTI's three flats are one person, the co-owners of F5 one person: 5 persons, not 7.
    assert reply.total_owners == 5
    persons = {v.household_id: v.person_id for v in reply.households}
    assert persons["F1"] == persons["F2"] == persons["F3"] == "MULTI"
    assert persons["F5"] == "O5"
    # Areas are not merged: each part's area counts (Art. 8, the total is their sum).
    assert str(reply.total_area_m2) == "700.00"
    assert "Art. 9" in reply.counted_as and "Art. 8" in reply.counted_as


def test_the_developers_unsold_parts_count_once(registry):
    reply = registry.rpc.registry.electorate(complex_id="X1")
    developer = [v for v in reply.households if v.developer_unsold]
    assert {v.household_id for v in developer} == {"D1", "D2", "D3"}
    assert {v.person_id for v in developer} == {"developer"}
    assert reply.total_owners == 5 + 1  # the seven flats' five persons and the developer
    assert str(reply.total_area_m2) == "950.50"  # the developer's parts all count by area


def test_the_area_falls_back_from_register_to_survey_to_contract(registry):
    reply = registry.rpc.registry.electorate(complex_id="X2")
    got = {v.household_id: (str(v.area_m2), v.area_source) for v in reply.households}
    assert got == {"Z1": ("61.20", "survey"), "Z2": ("58.80", "contract"), "Z3": ("70.10", "register"),
                   "Z4": ("40.00", "contract")}
    assert {k: str(v) for k, v in reply.area_by_source.items()} == {
        "survey": "61.20", "contract": "98.80", "register": "70.10"}
    stored = registry.rpc.registry.get(kind="household", id="Z1").record
    assert str(stored.survey_area_m2) == "61.20" and str(stored.contract_area_m2) == "60.00"
    assert stored.register_area_m2 is None
    # A plain area_m2 without a source is the register's (what every household had before).
    plain = registry.rpc.registry.electorate(building_ids=["B7"]).households[0]
    assert plain.area_source == "register"


def test_an_area_against_the_art8_order_is_refused_naming_the_field(registry):
    rpc = registry.rpc.registry
    bad = [household("Y1", "BZ", ["Z-O1"], area_m2="60.00", survey_area_m2="61.20"),  # not the survey's area
           household("Y2", "BZ", ["Z-O1"], survey_area_m2="61.20", area_source="contract"),  # survey comes first
           {"kind": "household", "id": "Y3", "building_id": "BZ", "unit": "Y3", "owner_ids": []}]  # no area at all
    report = rpc.upsert(actor="P-DATA", records=bad, request_id="bad-areas-0001")
    assert not report.applied
    assert sorted((e.id, e.field) for e in report.errors) == [("Y1", "area_m2"), ("Y2", "area_source"),
                                                              ("Y3", "area_m2")]
    assert "Art. 8" in next(e.message for e in report.errors if e.id == "Y2")
    assert rpc.electorate(complex_id="X2").total_owners == 4  # nothing half-written


def test_voting_persons_join_parts_through_co_owners():
    # A alone in h1, with B in h2, B alone in h3: all one person (else a co-owner would buy A a head).
    persons = voting_persons([("h1", ["A"], False), ("h2", ["B", "A"], False), ("h3", ["B"], False),
                              ("h4", ["C"], False), ("d1", [], True), ("d2", ["REP"], True), ("e", [], False)])
    assert persons == {"h1": "A", "h2": "A", "h3": "A", "h4": "C", "d1": "developer", "d2": "developer", "e": None}
