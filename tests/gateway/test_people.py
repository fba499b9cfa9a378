"""A person's registry posts -> the gateway role they act with (no broker needed)."""

from __future__ import annotations

import pytest

from redprop.services.gateway.people import Person, Post


def person(*posts: tuple[str, str | None, str | None]) -> Person:
    return Person(person_id="P9", name="测试", posts=tuple(Post(*p) for p in posts))


@pytest.mark.parametrize("posts, expected", [
    ((), ("resident", "P9")),
    ((("building_leader", None, "G1"), ("committee_member", "SMC2", "X2")), ("resident", "P9")),
    ((("grid_member", None, "G1"),), ("grid_worker", "P9")),
    ((("community_worker", None, "C1"), ("grid_head", None, "G1")), ("community_admin", "P9")),
    ((("company_staff", "CO1", None),), ("property_company", "CO1")),
    ((("housing_officer", "DEP-HOUSING", None),), ("department", "DEP-HOUSING")),
    ((("company_staff", "CO1", None), ("operator", None, "990001")), ("operator", "P9")),
    # A company post naming no company acts for nobody: the person falls back to what else they are.
    ((("company_manager", None, "X1"),), ("resident", "P9")),
    ((("company_manager", None, "X1"), ("department_contact", "DEP-WATER", None)), ("department", "DEP-WATER")),
])
def test_the_strongest_post_decides_and_handlers_act_for_their_organisation(posts, expected):
    assert person(*posts).access() == expected
