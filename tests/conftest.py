"""Shared test data. Fixtures for brokers, databases and running services come from redprop's pytest
plugin (redprop/testing/pytest_plugin.py), installed with redprop-shared."""

from __future__ import annotations

import pytest


def small_district_records() -> list[dict]:
    """A tiny but complete district: one community with a complex that has a company and one without."""
    return [
        {"kind": "region", "id": "990001", "level": "district", "name": "测试区 Test District"},
        {"kind": "region", "id": "S", "level": "subdistrict", "name": "测试街道", "parent_id": "990001"},
        {"kind": "region", "id": "C1", "level": "community", "name": "幸福社区", "parent_id": "S"},
        {"kind": "organisation", "id": "CO1", "org_kind": "property_company", "name": "安居物业",
         "has_party_branch": True, "scope_id": "C1"},
        {"kind": "organisation", "id": "DEP-WATER", "org_kind": "department", "name": "自来水公司",
         "department_function": "water"},
        {"kind": "organisation", "id": "PC1", "org_kind": "community_party_committee", "name": "幸福社区党委",
         "scope_id": "C1"},
        {"kind": "complex", "id": "X1", "name": "阳光小区", "community_id": "C1", "property_company_id": "CO1",
         "year_built": 2001, "lat": 31.0, "lon": 121.0},
        {"kind": "complex", "id": "X2", "name": "老街小区", "community_id": "C1", "year_built": 1995,
         "has_property_certificate": False, "has_maintenance_fund": False, "lat": 31.01, "lon": 121.01},
        {"kind": "organisation", "id": "SMC2", "org_kind": "self_management_committee", "name": "老街自管会",
         "scope_id": "X2"},
        {"kind": "grid", "id": "G1", "name": "第一网格", "community_id": "C1", "complex_id": "X1"},
        {"kind": "grid", "id": "G2", "name": "第二网格", "community_id": "C1", "complex_id": "X2", "micro": True},
        {"kind": "building", "id": "B1", "name": "1号楼", "complex_id": "X1", "grid_id": "G1",
         "lat": 31.0, "lon": 121.0},
        {"kind": "building", "id": "B2", "name": "1号楼", "complex_id": "X2", "grid_id": "G2",
         "lat": 31.01, "lon": 121.01},
        {"kind": "person", "id": "P1", "name": "张三", "party_member": True},
        {"kind": "person", "id": "P2", "name": "李四"},
        {"kind": "person", "id": "P3", "name": "王五"},
        {"kind": "household", "id": "H1", "building_id": "B1", "unit": "1-101", "area_m2": "88.50",
         "owner_ids": ["P2"], "residents": 3},
        {"kind": "household", "id": "H2", "building_id": "B1", "unit": "1-102", "area_m2": "120.00",
         "owner_ids": ["P3", "P2"], "residents": 2},
        {"kind": "household", "id": "H3", "building_id": "B2", "unit": "2-201", "area_m2": "60.25",
         "owner_ids": ["P3"], "residents": 1},
        {"kind": "role", "id": "R1", "person_id": "P1", "role": "building_leader", "scope_id": "G2",
         "term_start": "2024-01-01"},
        {"kind": "role", "id": "R2", "person_id": "P1", "role": "committee_member", "organisation_id": "SMC2",
         "scope_id": "X2", "term_start": "2024-01-01"},
        {"kind": "role", "id": "R3", "person_id": "P1", "role": "party_committee_member",
         "organisation_id": "PC1", "scope_id": "C1", "term_start": "2024-01-01"},
        *officials_records(),
    ]


#: The people who act in tests, one per post (redprop.authz checks every actor against the registry).
OFFICIALS = {
    "P-DATA": ("data_officer", {"scope_id": "990001"}),
    "P-OPS": ("operator", {"scope_id": "990001"}),
    "P-CW": ("community_worker", {"scope_id": "C1"}),
    "P-SD": ("subdistrict_officer", {"scope_id": "S"}),
    "P-DO": ("district_officer", {"scope_id": "990001"}),
    "P-HO": ("housing_officer", {"organisation_id": "DEP-HOUSING"}),
    "P-CM": ("company_manager", {"organisation_id": "CO1"}),
    "P-CS": ("company_staff", {"organisation_id": "CO1"}),
    "P-MED": ("mediator", {"scope_id": "C1"}),
    "P-WATER": ("department_contact", {"organisation_id": "DEP-WATER"}),
}
DATA_OFFICER = "P-DATA"


def officials_records(companies: bool = True) -> list[dict]:
    """The officials; ``companies=False`` leaves out those whose organisation (CO1, DEP-WATER) a test's own
    district may not have."""
    out: list[dict] = [{"kind": "organisation", "id": "DEP-HOUSING", "org_kind": "department", "name": "区房管局",
                        "department_function": "housing"}]
    for person, (role, where) in OFFICIALS.items():
        if not companies and where.get("organisation_id") in ("CO1", "DEP-WATER"):
            continue
        out.append({"kind": "person", "id": person, "name": f"{role} {person}"})
        out.append({"kind": "role", "id": f"R-{person}", "person_id": person, "role": role,
                    "term_start": "2024-01-01", **where})
    return out


@pytest.fixture
def small_district() -> list[dict]:
    return small_district_records()
