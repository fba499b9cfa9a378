"""The permit check (redprop.authz) on the registry itself: who may keep the map, the first data officer,
and the grants and ancestry every other service checks its permits against. Real broker, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from redprop.errors import NotFound, PermissionDenied

pytestmark = pytest.mark.integration

PERSON = {"kind": "person", "id": "P-NEW", "name": "新来的"}


@pytest.fixture
def registry(run_suite, backend, small_district):
    suite = run_suite("registry", backend=backend)
    assert suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id="permits-load").applied
    return suite


def test_an_empty_registry_admits_only_a_first_upsert_that_appoints_its_own_actor(run_suite, backend,
                                                                                   small_district):
    suite = run_suite("registry", backend=backend)
    with pytest.raises(PermissionDenied) as refused:
        suite.rpc.registry.upsert(actor="P-NOBODY", records=[PERSON], request_id="empty-refused")
    assert refused.value.details["check"] == "known" and refused.value.details["field"] == "actor"
    # Appointing someone else is not the bootstrap either.
    with pytest.raises(PermissionDenied):
        suite.rpc.registry.upsert(actor="P-NEW", request_id="empty-other", records=[
            PERSON, {"kind": "person", "id": "P-X", "name": "某"},
            {"kind": "region", "id": "990001", "level": "district", "name": "区"},
            {"kind": "role", "id": "R-X", "person_id": "P-X", "role": "data_officer", "scope_id": "990001",
             "term_start": "2024-01-01"}])
    assert suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id="empty-boot").applied
    # Once a data officer exists, nobody else can appoint themself.
    with pytest.raises(PermissionDenied) as again:
        suite.rpc.registry.upsert(actor="P-NEW", request_id="second-boot", records=[
            PERSON, {"kind": "role", "id": "R-NEW", "person_id": "P-NEW", "role": "data_officer",
                     "scope_id": "990001", "term_start": "2024-01-01"}])
    assert again.value.details["check"] == "known"
    with pytest.raises(NotFound):
        suite.rpc.registry.get(kind="person", id="P-NEW")


@pytest.mark.parametrize("actor, check", [("P2", "role"), ("P-CW", "role"), ("P-GHOST", "known")])
def test_only_the_data_officer_changes_the_map(registry, actor, check):
    for op, kwargs in (("upsert", {"records": [PERSON]}), ("remove", {"kind": "household", "id": "H3"}),
                       ("import_dataset", {"format": "csv", "kind": "person", "content": "id,name\nP-Y,某\n"})):
        with pytest.raises(PermissionDenied) as refused:
            getattr(registry.rpc.registry, op)(actor=actor, request_id=f"{op}-{actor}", **kwargs)
        assert refused.value.details["check"] == check, op
    with pytest.raises(NotFound):
        registry.rpc.registry.get(kind="person", id="P-NEW")
    assert registry.rpc.registry.get(kind="household", id="H3").record.id == "H3"
    assert registry.rpc.registry.upsert(actor="P-DATA", records=[PERSON], request_id="by-officer").applied


def test_a_post_whose_term_ended_no_longer_permits(registry):
    yesterday = date.today() - timedelta(days=2)
    registry.rpc.registry.upsert(actor="P-DATA", request_id="end-term", records=[
        {"kind": "person", "id": "P-OLD", "name": "前任"},
        {"kind": "role", "id": "R-OLD", "person_id": "P-OLD", "role": "data_officer", "scope_id": "990001",
         "term_start": "2020-01-01", "term_end": yesterday.isoformat()}])
    assert registry.rpc.registry.grants(person_id="P-OLD").grants == []
    with pytest.raises(PermissionDenied) as refused:
        registry.rpc.registry.upsert(actor="P-OLD", records=[PERSON], request_id="old-officer")
    assert refused.value.details["check"] == "role"
    # On a day inside the term the post is there.
    assert [g.role for g in registry.rpc.registry.grants(person_id="P-OLD", on=yesterday).grants] == ["data_officer"]


def test_grants_name_each_post_and_the_places_it_covers(registry):
    worker = registry.rpc.registry.grants(person_id="P-CW")
    assert worker.known and [(g.role, g.covers) for g in worker.grants] == [("community_worker", ["C1"])]
    housing = registry.rpc.registry.grants(person_id="P-HO").grants
    # A post in an organisation without a scope covers the whole district.
    assert [(g.role, g.organisation_id, g.organisation_kind, g.covers) for g in housing] == [
        ("housing_officer", "DEP-HOUSING", "department", ["990001"])]
    company = registry.rpc.registry.grants(person_id="P-CM").grants
    assert company[0].covers == ["C1"]  # CO1's scope
    p1 = registry.rpc.registry.grants(person_id="P1")
    assert p1.party_member and {g.role for g in p1.grants} == {"building_leader", "committee_member",
                                                                  "party_committee_member"}
    assert registry.rpc.registry.grants(person_id="P-GHOST").known is False


def test_ancestry_runs_from_the_entity_up_to_the_district(registry):
    assert registry.rpc.registry.ancestry(id="B1").ancestry == ["B1", "G1", "X1", "C1", "S", "990001"]
    assert registry.rpc.registry.ancestry(id="H3").ancestry == ["H3", "B2", "G2", "X2", "C1", "S", "990001"]
    assert registry.rpc.registry.ancestry(id="G2").ancestry == ["G2", "X2", "C1", "S", "990001"]
    assert registry.rpc.registry.ancestry(id="SMC2").ancestry == ["SMC2", "X2", "C1", "S", "990001"]
    assert registry.rpc.registry.ancestry(id="S").kind == "region"
    with pytest.raises(NotFound) as missing:
        registry.rpc.registry.ancestry(id="NOPE-GRID")
    assert missing.value.details["id"] == "NOPE-GRID"
