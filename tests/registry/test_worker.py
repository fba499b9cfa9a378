"""The registry service's methods with real collaborators (nameko.testing), and the default locator.

``worker_factory`` gives a service instance whose dependencies are what we inject: a real SQLAlchemy
session on an SQLite file filled by the BatchWriter, and a real GovernanceMap built from it. One test
runs a real container (real broker, own vhost) and calls ``resolve`` through ``entrypoint_hook``.
"""

from __future__ import annotations

import math
from datetime import date

import pytest
from nameko.testing.services import entrypoint_hook, worker_factory
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from redprop.config import Settings
from redprop.contracts import registry as c
from redprop.db.engine import build_engine
from redprop.errors import NotFound
from redprop.messaging.tables import MessagingBase, OutboxMessage
from redprop.services.registry import models as m
from redprop.services.registry.importer import validate_item
from redprop.services.registry.locators import (
    BuildingPoint,
    NearestBuildingLocator,
    haversine_m,
)
from redprop.services.registry.resolver import GovernanceMap
from redprop.services.registry.service import RegistryService
from redprop.services.registry.writer import BatchWriter, Row, structure_version

DISTRICT = "990001"
DISTRICT_NAME = "测试区 Test District"


def rows_of(records: list[dict], source: str = "records") -> list[Row]:
    rows = []
    for n, data in enumerate(records, 1):
        row, errors = validate_item(source, n, None, dict(data))
        assert not errors, errors
        rows.append(row)
    return rows


def fill(engine, records: list[dict]) -> c.ChangeReport:
    with Session(engine) as session:
        report = BatchWriter(session, DISTRICT).apply(rows_of(records), valid_only=False)
        session.commit()
    return report


@pytest.fixture
def engine(tmp_path, small_district):
    engine = build_engine(f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    m.metadata.create_all(engine)
    MessagingBase.metadata.create_all(engine)
    report = fill(engine, small_district)
    assert report.applied and not report.errors
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with Session(engine) as session:
        yield session


@pytest.fixture
def gmap(session) -> GovernanceMap:
    return GovernanceMap(session, DISTRICT, DISTRICT_NAME, NearestBuildingLocator())


class MapAccessStub:
    """What ``self.map`` gives a worker: the snapshot, and a way to ask for a reload after commit."""

    def __init__(self, current: GovernanceMap):
        self.current = current
        self.reloads_requested = 0

    def reload_after_commit(self) -> None:
        self.reloads_requested += 1


@pytest.fixture
def map_access(gmap) -> MapAccessStub:
    return MapAccessStub(gmap)


@pytest.fixture
def service(session, map_access):
    return worker_factory(RegistryService, db=session, map=map_access,
                          settings=Settings(district=DISTRICT, district_name=DISTRICT_NAME))


# -- resolve from the map ------------------------------------------------------------------------


def test_the_map_snapshot_holds_the_structure(gmap):
    assert gmap.version == 1
    assert set(gmap.buildings) == {"B1", "B2"}
    assert set(gmap.complexes) == {"X1", "X2"}
    assert sorted(gmap.grids_of_complex["X1"]) == ["G1"]
    assert [r.id for r in gmap.region_chain("C1")] == ["C1", "S", "990001"]


def test_resolve_by_building_returns_the_chain(service):
    answer = service.resolve(c.ResolveRequest(building_id="B1"))
    assert isinstance(answer, c.ResolveReply)
    assert answer.matched_by == "building"
    assert answer.district == DISTRICT
    assert (answer.building.id, answer.building.name) == ("B1", "1号楼")
    assert answer.complex.id == "X1" and answer.complex.three_no is False
    assert answer.grid.id == "G1"
    assert [g.id for g in answer.grids] == ["G1"]
    assert answer.community.id == "C1"
    assert answer.subdistrict.id == "S"
    assert answer.district_region.id == "990001"
    assert answer.property_company.id == "CO1"
    assert answer.party_organisation.id == "PC1"
    assert answer.committee is None
    # A district-wide department (no scope) serves everywhere.
    assert [(d.id, d.department_function) for d in answer.departments] == [
        ("DEP-HOUSING", "housing"), ("DEP-WATER", "water")]
    assert answer.grid_team.grid_id == "G1" and answer.grid_team.members == []


def test_resolve_a_three_no_complex(service):
    answer = service.resolve(c.ResolveRequest(complex_id="X2"))
    assert answer.matched_by == "complex"
    assert answer.building is None
    assert answer.complex.three_no is True
    assert answer.property_company is None
    assert answer.committee.id == "SMC2"
    assert answer.grid.id == "G2"  # the complex has exactly one grid
    team = answer.grid_team
    assert [(t.person_id, t.role, t.party_member) for t in team.members] == [("P1", "building_leader", True)]


def test_resolve_by_household_reads_the_household_from_the_database(service):
    answer = service.resolve(c.ResolveRequest(household_id="H3"))
    assert answer.matched_by == "household"
    assert (answer.household.id, answer.household.name) == ("H3", "2-201")
    assert answer.building.id == "B2"
    assert answer.complex.id == "X2"
    with pytest.raises(NotFound) as err:
        service.resolve(c.ResolveRequest(household_id="H404"))
    assert err.value.details == {"entity": "household", "id": "H404", "field": "household_id"}


def test_resolve_by_point_uses_the_locator(service):
    answer = service.resolve(c.ResolveRequest(point={"lat": 31.0099, "lon": 121.0099}))
    assert answer.matched_by == "point"
    assert answer.building.id == "B2"
    assert 0 < answer.distance_m < 20
    with pytest.raises(NotFound) as err:
        service.resolve(c.ResolveRequest(point={"lat": 31.0, "lon": 121.005}, max_distance_m=100))
    assert err.value.details["field"] == "point"


def test_unknown_building_or_complex_is_not_found_naming_the_field(service):
    with pytest.raises(NotFound) as err:
        service.resolve(c.ResolveRequest(building_id="NOPE"))
    assert err.value.details == {"entity": "building", "id": "NOPE", "field": "building_id"}
    with pytest.raises(NotFound) as err:
        service.resolve(c.ResolveRequest(complex_id="NOPE"))
    assert err.value.details["field"] == "complex_id"


def test_resolve_answers_from_the_snapshot_not_the_database(service, session, gmap):
    first = service.resolve(c.ResolveRequest(building_id="B1"))
    # Change the database under the map: the snapshot still answers as it was built.
    session.execute(delete(m.buildings).where(m.buildings.c.id == "B1"))
    session.execute(m.complexes.update().where(m.complexes.c.id == "X1").values(name="改名小区"))
    session.commit()
    again = service.resolve(c.ResolveRequest(building_id="B1"))
    assert again == first
    assert service.resolve(c.ResolveRequest(complex_id="X1")).complex.name == "阳光小区"
    # A new snapshot sees the change.
    fresh = GovernanceMap(session, DISTRICT, DISTRICT_NAME, NearestBuildingLocator())
    with pytest.raises(NotFound):
        fresh.by_building("B1")
    assert fresh.by_complex("X1").complex.name == "改名小区"


def test_without_a_district_region_the_configured_name_is_used(tmp_path):
    engine = build_engine(f"sqlite:///{tmp_path / 'bare.sqlite3'}")
    m.metadata.create_all(engine)
    MessagingBase.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            # A town whose district region is not stored (the writer would refuse it, so write the
            # rows straight into the tables).
            from datetime import UTC, datetime

            now = datetime.now(UTC)
            session.execute(m.regions.insert(), [
                {"district": DISTRICT, "id": "T", "level": "town", "name": "镇", "parent_id": DISTRICT,
                 "updated_at": now},
                {"district": DISTRICT, "id": "C", "level": "community", "name": "村", "parent_id": "T",
                 "updated_at": now}])
            session.execute(m.complexes.insert().values(
                district=DISTRICT, id="X", name="小区", community_id="C", has_property_certificate=True,
                has_property_fee=True, has_maintenance_fund=True, updated_at=now))
            session.commit()
            answer = GovernanceMap(session, DISTRICT, DISTRICT_NAME, NearestBuildingLocator()).by_complex("X")
        assert (answer.district_region.id, answer.district_region.name) == (DISTRICT, DISTRICT_NAME)
        assert answer.subdistrict.id == "T"
        assert answer.grid is None and answer.grid_team is None
    finally:
        engine.dispose()


def test_grid_team_is_filtered_by_the_day(service):
    assert [t.person_id for t in service.grid_team(c.GridTeamRequest(grid_id="G2")).team.members] == ["P1"]
    before_term = service.grid_team(c.GridTeamRequest(grid_id="G2", on=date(2023, 12, 31)))
    assert before_term.team.members == []
    with pytest.raises(NotFound):
        service.grid_team(c.GridTeamRequest(grid_id="G9"))


# -- other methods with the real session ---------------------------------------------------------


def test_get_reads_the_database(service):
    reply = service.get(c.GetRequest(kind="household", id="H2"))
    assert reply.record.owner_ids == ["P3", "P2"]
    assert str(reply.record.area_m2) == "120.00"
    assert reply.record.district == DISTRICT
    with pytest.raises(NotFound):
        service.get(c.GetRequest(kind="person", id="P404"))


def test_summary_counts_from_the_database_and_the_map(service):
    reply = service.summary(c.SummaryRequest())
    assert reply.counts["household"] == 3
    assert reply.counts["building"] == 2
    assert reply.structure_version == 1
    [community] = reply.communities
    assert (community.id, community.complexes, community.grids, community.buildings) == ("C1", 2, 2, 2)
    assert (community.households, community.residents) == (3, 6)


def test_electorate_of_a_complex(service):
    reply = service.electorate(c.ElectorateRequest(complex_id="X1"))
    assert {v.household_id for v in reply.households} == {"H1", "H2"}
    assert str(reply.total_area_m2) == "208.50"
    assert reply.total_owners == 2


def test_upsert_writes_in_the_session_and_asks_for_a_map_reload(service, session, map_access):
    report = service.upsert(c.UpsertRequest(actor="P-DATA", 
        request_id="unit-upsert-01",
        records=[{"kind": "person", "id": "P9", "name": "赵六"},
                 {"kind": "household", "id": "H9", "building_id": "B2", "unit": "2-202", "area_m2": "70",
                  "owner_ids": ["P9"]}]))
    assert report.applied and not report.errors
    assert report.counts["person"].created == 1 and report.counts["household"].created == 1
    assert report.structure_version == 2
    assert map_access.reloads_requested == 1
    session.commit()  # what the entrypoint does before replying
    assert session.execute(select(m.households.c.building_id).where(m.households.c.id == "H9")).scalar() == "B2"
    assert structure_version(session) == 2
    # The change event is staged in the outbox, in the same transaction.
    routing_keys = session.execute(select(OutboxMessage.routing_key)).scalars().all()
    assert "registry.structure_changed" in routing_keys


def test_an_invalid_upsert_writes_nothing_and_keeps_the_map(service, session, map_access):
    count = session.execute(select(func.count()).select_from(m.people)).scalar()
    report = service.upsert(c.UpsertRequest(actor="P-DATA", 
        request_id="unit-upsert-02",
        records=[{"kind": "person", "id": "P9", "name": "赵六"},
                 {"kind": "household", "id": "H9", "building_id": "B404", "unit": "1", "area_m2": "70"}]))
    assert not report.applied
    assert [(e.row, e.id, e.field) for e in report.errors] == [(2, "H9", "building_id")]
    assert map_access.reloads_requested == 0
    session.commit()
    assert session.execute(select(func.count()).select_from(m.people)).scalar() == count
    assert structure_version(session) == 1


def test_import_dataset_parses_csv_content(service):
    report = service.import_dataset(c.ImportRequest(actor="P-DATA", 
        request_id="unit-import-01", format="csv", kind="person",
        content="id,name,party_member\nP20,钱七,true\nP21,,false\n"))
    assert not report.applied
    assert [(e.source, e.row, e.field) for e in report.errors] == [("csv", 3, "name")]


# -- through a real container --------------------------------------------------------------------


@pytest.fixture
def registry_container(make_settings, container_factory, small_district):
    from redprop.db.migrate import upgrade

    settings = make_settings(["registry"])
    upgrade(RegistryService, settings)
    engine = build_engine(settings.database_url("registry"))
    try:
        assert fill(engine, small_district).applied
    finally:
        engine.dispose()
    container = container_factory(RegistryService, settings.nameko_config("registry"))
    container.start()
    return container


@pytest.mark.integration
def test_entrypoint_hook_resolve_with_a_request_model(registry_container):
    with entrypoint_hook(registry_container, "resolve") as resolve:
        answer = resolve(c.ResolveRequest(building_id="B2"))
        assert answer.complex.id == "X2"
        assert answer.committee.id == "SMC2"
        assert [t.person_id for t in answer.grid_team.members] == ["P1"]
        by_household = resolve(c.ResolveRequest(household_id="H1"))
        assert by_household.building.id == "B1"
        with pytest.raises(NotFound):
            resolve(c.ResolveRequest(building_id="NOPE"))


@pytest.mark.integration
def test_entrypoint_hook_upsert_is_seen_by_the_next_resolve(registry_container):
    with entrypoint_hook(registry_container, "upsert") as upsert:
        report = upsert(c.UpsertRequest(actor="P-DATA", request_id="hook-upsert-01", records=[
            {"kind": "building", "id": "B3", "name": "3号楼", "complex_id": "X1", "grid_id": "G1",
             "lat": 31.002, "lon": 121.002}]))
    assert report.applied
    with entrypoint_hook(registry_container, "resolve") as resolve:
        answer = resolve(c.ResolveRequest(building_id="B3"))
    assert answer.complex.id == "X1" and answer.grid.id == "G1"


# -- the default locator -------------------------------------------------------------------------


def test_haversine_sanity():
    assert haversine_m(31.0, 121.0, 31.0, 121.0) == 0
    one_degree_lat = haversine_m(30.0, 120.0, 31.0, 120.0)
    assert 111_000 < one_degree_lat < 111_400  # ~111.2 km
    assert haversine_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(one_degree_lat, rel=1e-9)
    # A degree of longitude shrinks with the cosine of the latitude.
    assert haversine_m(60.0, 10.0, 60.0, 11.0) == pytest.approx(one_degree_lat * math.cos(math.radians(60)),
                                                               rel=1e-3)
    assert haversine_m(31.0, 121.0, 31.001, 121.0) == pytest.approx(111.2, abs=0.5)
    assert haversine_m(10, 20, 30, 40) == pytest.approx(haversine_m(30, 40, 10, 20))


def locator(*points: tuple[str, float, float]) -> NearestBuildingLocator:
    loc = NearestBuildingLocator()
    loc.index(BuildingPoint(*p) for p in points)
    return loc


def test_the_nearest_of_several_buildings_wins():
    loc = locator(("A", 31.0000, 121.0000), ("B", 31.0010, 121.0000), ("C", 31.0000, 121.0012),
                  ("D", 30.9990, 120.9990))
    building, distance = loc.locate(31.0008, 121.0001, 300)
    assert building == "B"
    assert distance == pytest.approx(haversine_m(31.0008, 121.0001, 31.0010, 121.0000))
    assert loc.locate(31.0000, 121.0010, 300)[0] == "C"
    assert loc.locate(30.9991, 120.9991, 300)[0] == "D"


def test_nothing_beyond_the_maximum_distance():
    loc = locator(("A", 31.0, 121.0))
    d = haversine_m(31.0, 121.0, 31.002, 121.0)  # ~222 m
    assert loc.locate(31.002, 121.0, d - 1) is None
    assert loc.locate(31.002, 121.0, d + 1)[0] == "A"
    assert locator().locate(31.0, 121.0, 5000) is None


def test_buildings_in_neighbouring_cells_are_found():
    cell = NearestBuildingLocator.CELL_DEG
    # Just either side of a cell boundary, and several cells away for a large radius.
    loc = locator(("edge", 6200 * cell + 0.00001, 121.0))
    assert loc.locate(6200 * cell - 0.00001, 121.0, 50)[0] == "edge"
    far = locator(("far", 31.0 + 0.04, 121.0))  # ~4.4 km north: eight cells away
    assert far.locate(31.0, 121.0, 5000)[0] == "far"
    assert far.locate(31.0, 121.0, 4000) is None


def test_far_north_the_longitude_search_widens():
    # At 69° N a degree of longitude is ~40 km: a building 0.05° east is ~2 km away.
    loc = locator(("arctic", 69.0, 18.05))
    hit = loc.locate(69.0, 18.0, 2500)
    assert hit is not None and hit[0] == "arctic"
    assert 1_900 < hit[1] < 2_100


def test_ties_go_to_the_smaller_id_and_reindexing_replaces():
    loc = locator(("B", 31.0, 121.001), ("A", 31.0, 120.999))
    assert loc.locate(31.0, 121.0, 300)[0] == "A"
    loc.index([BuildingPoint("Z", 40.0, 100.0)])
    assert loc.locate(31.0, 121.0, 300) is None
    assert loc.locate(40.0, 100.0, 10) == ("Z", 0.0)
