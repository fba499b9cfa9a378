"""Test data and helpers for the mediation service: a small district whose households have chosen areas, so each
Civil Code Art. 278 edge case is an exact fraction, plus mediators of each kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import officials_records

#: building -> [(household, area, owners)]
BUILDINGS = {
    # Exactly 2/3: three equal households.
    "EQ": [("EQ-1", "100.00", ["O-EQ1"]), ("EQ-2", "100.00", ["O-EQ2"]), ("EQ-3", "100.00", ["O-EQ3"])],
    # One big household and two small ones: area and headcount can disagree.
    "SPLIT": [("SP-BIG", "200.00", ["O-BIG"]), ("SP-S1", "50.00", ["O-S1"]), ("SP-S2", "50.00", ["O-S2"])],
    # Four equal households: exactly 3/4.
    "MAJ": [("MJ-1", "88.88", ["O-M1"]), ("MJ-2", "88.88", ["O-M2", "O-M2B"]), ("MJ-3", "88.88", ["O-M3"]),
            ("MJ-4", "88.88", ["O-M4"])],
}


def mediation_district() -> list[dict]:
    records: list[dict] = [
        {"kind": "region", "id": "990001", "level": "district", "name": "测试区"},
        {"kind": "region", "id": "S", "level": "subdistrict", "name": "测试街道", "parent_id": "990001"},
        {"kind": "region", "id": "C1", "level": "community", "name": "幸福社区", "parent_id": "S"},
        {"kind": "complex", "id": "X1", "name": "阳光小区", "community_id": "C1"},
        {"kind": "grid", "id": "G1", "name": "第一网格", "community_id": "C1", "complex_id": "X1"},
    ]
    people = {"STAFF", "J1", "J2", "GM1", "GM2", "GH1"}
    for building, households in BUILDINGS.items():
        records.append({"kind": "building", "id": building, "name": building, "complex_id": "X1", "grid_id": "G1",
                        "lat": 31.0, "lon": 121.0})
        for hid, area, owners in households:
            people.update(owners)
            records.append({"kind": "household", "id": hid, "building_id": building, "unit": hid, "area_m2": area,
                            "owner_ids": owners})
    records.extend({"kind": "person", "id": p, "name": f"人{p}"} for p in sorted(people))
    # Mediators: two judges at the subdistrict, two grid members and a grid head in the grid.
    for rid, person, role, scope in (("R-J1", "J1", "judge", "S"), ("R-J2", "J2", "judge", "S"),
                                     ("R-GM1", "GM1", "grid_member", "G1"), ("R-GM2", "GM2", "grid_member", "G1"),
                                     ("R-GH1", "GH1", "grid_head", "G1")):
        records.append({"kind": "role", "id": rid, "person_id": person, "role": role, "scope_id": scope,
                        "term_start": "2024-01-01"})
    return records + officials_records(companies=False)


def start(run_suite, backend: str = "sqlite"):
    suite = run_suite("registry", "mediation", backend=backend)
    report = suite.rpc.registry.upsert(actor="P-DATA", records=mediation_district(), request_id="load-mediation-district")
    assert report.applied and not report.errors, report.errors
    return suite


def ago(**kwargs) -> datetime:
    return datetime.now(UTC) - timedelta(**kwargs)


def new_matter(rpc, title: str = "停车收费调整 parking fee", request_id: str | None = None) -> str:
    import uuid

    reply = rpc.mediation.open_matter(title=title, topic="parking", complex_id="X1",
                                      parties=["party_branch", "property_company", "self_management_committee",
                                               "building_leaders"],
                                      request_id=request_id or uuid.uuid4().hex)
    return reply.matter.id


def past_consultation(rpc, matter_id: str, buildings: list[str], rule: str = "art278_ordinary") -> str:
    """A consultation whose window has passed: ballots are entered from paper, then it is closed."""
    reply = rpc.mediation.open_consultation(
        matter_id=matter_id, question="同意吗? Agree?", rule=rule, approve_option="agree",
        options=[{"id": "agree", "label": "同意"}, {"id": "disagree", "label": "不同意"},
                 {"id": "abstain", "label": "弃权"}],
        opens_at=ago(days=10), closes_at=ago(seconds=1), building_ids=buildings)
    return reply.consultation.id


def paper(rpc, consultation_id: str, household: str, owner: str, option: str = "agree", **extra):
    return rpc.mediation.cast_ballot(consultation_id=consultation_id, household_id=household, owner_id=owner,
                                     option=option, channel="paper", entered_by="STAFF", cast_at=ago(days=5),
                                     **extra)
