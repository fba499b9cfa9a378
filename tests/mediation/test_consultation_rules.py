"""The Art. 278 matters and their rules, without a broker: which rule an item takes, what counts as weaker,
local rules that only add, and when an outcome is decided before the window ends."""

from __future__ import annotations

from decimal import Decimal

import pytest

from redprop.contracts import mediation as c
from redprop.errors import ValidationFailed
from redprop.services.mediation.consultations import choose_rule, count, decided
from redprop.services.mediation.rules import (
    ART278_ITEMS,
    HALF,
    Art278Major,
    Art278Ordinary,
    Check,
    LocalRule,
    SimpleMajority,
    Tally,
    VotingRule,
    WithLocalRules,
    statutory_rule,
    weaker_than,
)

RULES = {r.name: r for r in (SimpleMajority(), Art278Ordinary(), Art278Major())}


def test_items_6_to_8_are_major_the_others_ordinary():
    assert set(ART278_ITEMS) == set(range(1, 10))
    assert {i: statutory_rule(i) for i in ART278_ITEMS} == {
        **{i: "art278_ordinary" for i in (1, 2, 3, 4, 5, 9)}, **{i: "art278_major" for i in (6, 7, 8)}}
    with pytest.raises(ValueError):
        statutory_rule(10)


def test_a_rule_weaker_than_the_items_is_refused_naming_the_field():
    enabled = list(RULES)
    assert choose_rule(6, None, enabled, RULES.__getitem__) == "art278_major"
    assert choose_rule(5, None, enabled, RULES.__getitem__) == "art278_ordinary"  # using the fund: ordinary
    assert choose_rule(5, "art278_major", enabled, RULES.__getitem__) == "art278_major"  # asking more is allowed
    with pytest.raises(ValidationFailed) as err:
        choose_rule(6, "art278_ordinary", enabled, RULES.__getitem__)
    assert err.value.fields[0]["field"] == "rule" and err.value.fields[0]["type"] == "weaker_than_the_law"
    assert "item 6" in err.value.fields[0]["message"] and "approval_by_area" in err.value.fields[0]["message"]
    with pytest.raises(ValidationFailed) as err:  # no quorum at all: weaker than any item's rule
        choose_rule(1, "simple_majority", enabled, RULES.__getitem__)
    assert "participation_by_area" in err.value.fields[0]["message"]
    with pytest.raises(ValidationFailed) as err:
        choose_rule(1, "dictator", enabled, RULES.__getitem__)
    assert err.value.fields[0]["type"] == "unknown_rule"


def test_weaker_than_compares_thresholds_and_comparisons():
    assert weaker_than(Art278Major(), Art278Ordinary()) == []
    assert weaker_than(Art278Ordinary(), Art278Major()) == ["approval_by_area", "approval_by_headcount"]

    class AtLeastHalf(Art278Ordinary):  # ">= 1/2" lets exactly half through: weaker than "> 1/2"
        name = "at_least_half"
        approval_comparison = ">="

    assert weaker_than(AtLeastHalf(), Art278Ordinary()) == ["approval_by_area", "approval_by_headcount"]
    assert weaker_than(Art278Ordinary(), AtLeastHalf()) == []


class EveryoneAsked(LocalRule):
    """A district's own rule for electing the committee: at least 4/5 of the owners take part."""

    name = "four_fifths_turnout"
    description = "Item 3: participation >= 4/5 of the owners."
    items = frozenset({3})

    def checks(self, tally: Tally) -> list[Check]:
        from fractions import Fraction

        return [Check("participation_by_headcount", tally.participation_by_headcount, Fraction(4, 5), ">=")]


def test_local_rules_only_add_checks_to_their_items():
    tally = Tally(Decimal("300"), 3, Decimal("200"), 2, Decimal("200"), 2)  # 2/3 take part, all approve
    assert Art278Ordinary().decide(tally).passed
    election = WithLocalRules(Art278Ordinary(), [EveryoneAsked()], item=3)
    decision = election.decide(tally)
    assert not decision.passed and decision.decided_by == "four_fifths_turnout.participation_by_headcount"
    assert [k.name for k in decision.checks][:4] == [k.name for k in Art278Ordinary().checks(tally)]
    assert WithLocalRules(Art278Ordinary(), [EveryoneAsked()], item=4).decide(tally).passed  # not its item
    assert weaker_than(election, Art278Ordinary()) == []


def _count(ballots: dict[str, str], persons: int = 4) -> object:
    voters = [(f"H{n}", Decimal("100.00"), f"P{n}") for n in range(persons)]
    return count(voters, {p: (o, "online") for p, o in ballots.items()}, "agree", ["agree", "disagree"])


@pytest.mark.parametrize("rule, ballots, expected", [
    # Ordinary: 3 of 4 approve; even if the 4th disagrees, 3/4 > 1/2 with full participation: passes anyway.
    (Art278Ordinary(), {"P0": "agree", "P1": "agree", "P2": "agree"}, True),
    # Ordinary: 2 approve, nobody else yet: the other two could disagree (2/4 is not more than half).
    (Art278Ordinary(), {"P0": "agree", "P1": "agree"}, None),
    # Major: 2 of 4 disagree; even if the others approve, 2/4 < 3/4: fails anyway.
    (Art278Major(), {"P0": "disagree", "P1": "disagree"}, False),
    # Major: 1 disagrees; the other three could still approve (3/4): not decided.
    (Art278Major(), {"P0": "disagree"}, None),
    # Nobody has voted: anything can happen.
    (Art278Ordinary(), {}, None),
])
def test_an_outcome_is_decided_only_when_the_rest_cannot_change_it(rule: VotingRule, ballots, expected):
    assert decided(rule, _count(ballots)) is expected


def test_one_person_with_three_parts_is_one_head_with_their_whole_area():
    # Interpretation Art. 9: 7 flats, MULTI owns 3 -> 5 persons. MULTI, O4 and O5 vote: 5/7 of the flats,
    # but 3/5 of the persons, short of 2/3.
    voters = [("F1", Decimal("100"), "MULTI"), ("F2", Decimal("100"), "MULTI"), ("F3", Decimal("100"), "MULTI"),
              ("F4", Decimal("100"), "O4"), ("F5", Decimal("100"), "O5"), ("F6", Decimal("100"), "O6"),
              ("F7", Decimal("100"), "O7")]
    counted = count(voters, {"MULTI": ("agree", "online"), "O4": ("agree", "paper"), "O5": ("agree", "online")},
                    "agree", ["agree", "disagree"])
    t = counted.tally
    assert (t.total_owners, t.participating_owners, t.participating_area) == (5, 3, Decimal("500"))
    assert str(t.participation_by_headcount) == "3/5" and str(t.participation_by_area) == "5/7"
    assert counted.options["agree"] == {"persons": "3", "households": "5", "area_m2": "500.00"}
    assert counted.by_channel == {"online": 2, "paper": 1} and counted.paper == 1
    assert Art278Ordinary().decide(t).decided_by == "participation_by_headcount"
    assert HALF < t.participation_by_headcount


def test_the_permits_name_the_actor_and_the_complex():
    ops = c.CONTRACT.operations
    for name in ("open_consultation", "close_consultation", "publish_result"):
        permit = ops[name].permit
        assert permit.actor == "actor" and permit.within == "complex_id"
        assert {"community_worker", "committee_chair", "committee_member"} == set(permit.roles)
        assert "actor" in ops[name].request.model_fields and "complex_id" in ops[name].request.model_fields
    assert ops["cast_ballot"].permit.actor == "actor" and not ops["cast_ballot"].permit.roles
    assert c.CONTRACT.major == 2


def test_snapshots_taken_before_persons_were_counted_keep_their_per_household_count():
    import hashlib

    from redprop.services.mediation import chain
    from redprop.services.mediation.consultations import electorate_digest, person_of

    old = {"household_id": "H1", "building_id": "B", "unit": "1", "area_m2": Decimal("80"), "owner_ids": ["A"],
           "person_id": None, "area_source": None}
    assert person_of(old) == "household:H1"
    assert person_of({**old, "owner_ids": []}) is None
    assert person_of({**old, "person_id": "A", "area_source": "survey"}) == "A"
    assert person_of({**old, "area_source": "register"}) is None  # a new snapshot's part without an owner
    # The digest of an old snapshot is what contract 1.x logged, so `verify` still proves it.
    logged = hashlib.sha256(chain.canonical_json([["H1", "B", "1", "80.00", ["A"]]]).encode()).hexdigest()
    assert electorate_digest([old]) == logged
    assert electorate_digest([{**old, "person_id": "A", "area_source": "register"}]) != logged
