"""The registry service end to end over the real broker, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from redprop.errors import Conflict, NotFound, ValidationFailed

pytestmark = pytest.mark.integration


@pytest.fixture
def registry(run_suite, backend, small_district):
    suite = run_suite("registry", backend=backend)
    report = suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id="load-small-district")
    assert report.applied and not report.errors
    return suite


def test_resolve_by_building_returns_the_whole_chain(registry):
    answer = registry.rpc.registry.resolve(building_id="B1")
    assert answer.building.id == "B1"
    assert answer.complex.id == "X1"
    assert answer.grid.id == "G1"
    assert answer.community.id == "C1"
    assert answer.subdistrict.id == "S"
    assert answer.district_region.id == "990001"
    assert answer.property_company.id == "CO1"


def test_resolve_a_three_no_complex_has_no_company_but_its_committee_and_team(registry):
    answer = registry.rpc.registry.resolve(complex_id="X2")
    assert answer.property_company is None
    assert answer.complex.has_property_certificate is False
    assert answer.committee.id == "SMC2"
    assert [m.person_id for m in answer.grid_team.members] == ["P1"]


def test_resolve_by_point_finds_the_nearest_building(registry):
    answer = registry.rpc.registry.resolve(point={"lat": 31.0001, "lon": 121.0001})
    assert answer.building.id == "B1"
    assert 0 < answer.distance_m < 30


def test_resolve_by_household(registry):
    answer = registry.rpc.registry.resolve(household_id="H3")
    assert answer.household.id == "H3"
    assert answer.complex.id == "X2"


def test_unknown_building_is_a_typed_not_found_naming_the_field(registry):
    with pytest.raises(NotFound) as err:
        registry.rpc.registry.resolve(building_id="NOPE")
    assert err.value.details == {"entity": "building", "id": "NOPE", "field": "building_id"}


def test_a_point_far_from_any_building_is_not_found(registry):
    with pytest.raises(NotFound):
        registry.rpc.registry.resolve(point={"lat": 40.0, "lon": 100.0})


def test_the_electorate_carries_area_and_owners_for_voting(registry):
    reply = registry.rpc.registry.electorate(complex_id="X1")
    by_household = {v.household_id: v for v in reply.households}
    assert set(by_household) == {"H1", "H2"}
    assert str(by_household["H1"].area_m2) == "88.50"
    assert sorted(by_household["H2"].owner_ids) == ["P2", "P3"]
    assert str(reply.total_area_m2) == "208.50"
    # Interpretation Art. 9: P2 owns H1 and co-owns H2, so the two parts are one person.
    assert reply.total_owners == 1 and reply.households_with_owners == 2


def test_a_persons_own_households_are_listed_by_owner(registry):
    """Registry 1.3: ``list(kind=household, owner_id=)``: the homes a person owns, alone or with others."""
    rpc = registry.rpc.registry
    homes = lambda person, **kw: [h.id for h in rpc.list(kind="household", owner_id=person, **kw).items]  # noqa: E731
    assert homes("P2") == ["H1", "H2"] and homes("P3") == ["H2", "H3"]   # H2 co-owned; H3 in another complex
    assert homes("P3", within="X2") == ["H3"] and homes("P1") == [] and homes("NOBODY") == []
    assert rpc.list(kind="household", owner_id="P3", limit=1).total == 2
    with pytest.raises(ValidationFailed) as err:
        rpc.list(kind="building", owner_id="P2")
    assert err.value.fields[0]["field"] == "owner_id"


def test_cross_appointments_list_people_with_posts_in_two_organisations(registry):
    reply = registry.rpc.registry.cross_appointments()
    assert [p.person_id for p in reply.people] == ["P1"]


def test_a_retried_command_returns_the_first_reply_and_writes_once(registry, small_district):
    record = {"kind": "person", "id": "P9", "name": "赵六"}
    first = registry.rpc.registry.upsert(actor="P-DATA", records=[record], request_id="retry-0001")
    again = registry.rpc.registry.upsert(actor="P-DATA", records=[record], request_id="retry-0001")
    assert again == first
    assert first.counts["person"].created == 1
    # A genuinely new request with the same content is a no-op change, not a duplicate.
    third = registry.rpc.registry.upsert(actor="P-DATA", records=[record], request_id="retry-0002")
    assert third.counts["person"].unchanged == 1


def test_reusing_a_request_id_for_another_request_is_a_conflict(registry):
    registry.rpc.registry.upsert(actor="P-DATA", records=[{"kind": "person", "id": "P9", "name": "赵六"}], request_id="reuse-0001")
    with pytest.raises(Conflict) as err:
        registry.rpc.registry.upsert(actor="P-DATA", records=[{"kind": "person", "id": "P10", "name": "钱七"}],
                                     request_id="reuse-0001")
    assert err.value.details["field"] == "request_id"


def test_a_malformed_record_rejects_the_whole_request_naming_its_field(registry):
    bad = [
        {"kind": "person", "id": "P11", "name": "ok"},
        {"kind": "household", "id": "H10", "building_id": "B1", "unit": "2", "area_m2": "-3"},
    ]
    with pytest.raises(ValidationFailed) as err:
        registry.rpc.registry.upsert(actor="P-DATA", records=bad, request_id="bad-input-00")
    assert [f["field"] for f in err.value.fields] == ["records.1.household.area_m2"]
    with pytest.raises(NotFound):
        registry.rpc.registry.get(kind="person", id="P11")


def test_unknown_references_are_reported_per_row_and_nothing_is_written(registry):
    before = registry.rpc.registry.summary()
    bad = [
        {"kind": "household", "id": "H9", "building_id": "NO-SUCH", "unit": "1", "area_m2": "50"},
        {"kind": "role", "id": "R9", "person_id": "NOBODY", "role": "grid_head", "scope_id": "G1",
         "term_start": "2024-01-01"},
        {"kind": "person", "id": "P11", "name": "ok"},
    ]
    report = registry.rpc.registry.upsert(actor="P-DATA", records=bad, request_id="bad-input-01")
    assert not report.applied
    fields = {(e.id, e.field) for e in report.errors}
    assert fields == {("H9", "building_id"), ("R9", "person_id")}
    after = registry.rpc.registry.summary()
    assert after.structure_version == before.structure_version
    with pytest.raises(NotFound):
        registry.rpc.registry.get(kind="person", id="P11")


def test_valid_only_writes_the_valid_rows_and_reports_the_others(registry):
    bad = [
        {"kind": "household", "id": "H9", "building_id": "NO-SUCH", "unit": "1", "area_m2": "50"},
        {"kind": "person", "id": "P11", "name": "ok"},
    ]
    report = registry.rpc.registry.upsert(actor="P-DATA", records=bad, request_id="valid-only-01", valid_only=True)
    assert report.applied
    assert [e.id for e in report.errors] == ["H9"]
    assert registry.rpc.registry.get(kind="person", id="P11").record.name == "ok"


@pytest.mark.parametrize("fields, bad_field", [
    ({"building_id": 123}, "building_id"),
    ({}, ""),
    ({"building_id": "B1", "complex_id": "X1"}, ""),
    ({"point": {"lat": 91, "lon": 0}}, "point.lat"),
    ({"building_id": "B1", "colour": "red"}, "colour"),
])
def test_malformed_requests_get_validation_errors_naming_the_field(registry, fields, bad_field):
    from redprop.messaging.client import RpcClient

    # Send as given (skip the client-side check) to see what the service itself answers.
    with RpcClient(registry.settings) as raw:
        raw.contracts = {}
        with pytest.raises(ValidationFailed) as err:
            raw.call("registry", "resolve", fields)
    assert bad_field in [f["field"] for f in err.value.fields]


def test_removing_a_referenced_entity_is_a_conflict(registry):
    with pytest.raises(Conflict):
        registry.rpc.registry.remove(actor="P-DATA", kind="building", id="B1", request_id="remove-b1-01")
    registry.rpc.registry.remove(actor="P-DATA", kind="household", id="H3", request_id="remove-h3-01")
    with pytest.raises(NotFound):
        registry.rpc.registry.get(kind="household", id="H3")
