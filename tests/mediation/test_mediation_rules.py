"""Voting rules, counting and the hash chain: pure logic, exact arithmetic, no broker."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from redprop.errors import PluginError
from redprop.services.mediation import chain
from redprop.services.mediation.consultations import count
from redprop.services.mediation.rules import (
    VOTING_RULE,
    Art278Major,
    Art278Ordinary,
    SimpleMajority,
    Tally,
)


def tally(total_area, total_owners, part_area, part_owners, yes_area, yes_owners) -> Tally:
    return Tally(Decimal(total_area), total_owners, Decimal(part_area), part_owners, Decimal(yes_area), yes_owners)


def test_exactly_two_thirds_participation_is_enough():
    decision = Art278Ordinary().decide(tally("300.00", 3, "200.00", 2, "200.00", 2))
    assert decision.passed
    assert [c.value for c in decision.checks[:2]] == [Fraction(2, 3), Fraction(2, 3)]


def test_a_cent_below_two_thirds_of_the_area_fails():
    decision = Art278Ordinary().decide(tally("300.00", 3, "199.99", 2, "199.99", 2))
    assert not decision.passed
    assert decision.decided_by == "participation_by_area"


def test_area_passes_but_headcount_fails_and_the_reverse():
    area_only = Art278Ordinary().decide(tally("300", 3, "200", 1, "200", 1))
    assert not area_only.passed and area_only.decided_by == "participation_by_headcount"
    head_only = Art278Ordinary().decide(tally("300", 3, "100", 2, "100", 2))
    assert not head_only.passed and head_only.decided_by == "participation_by_area"
    # Approval too: the big household alone approves by area but not by headcount.
    approval = Art278Ordinary().decide(tally("300", 3, "300", 3, "200", 1))
    assert not approval.passed and approval.decided_by == "approval_by_headcount"


def test_exactly_half_approval_is_not_more_than_half():
    assert not Art278Ordinary().decide(tally("400", 4, "400", 4, "200", 2)).passed


def test_exactly_three_quarters_passes_a_major_matter_and_just_below_does_not():
    assert Art278Major().decide(tally("400", 4, "400", 4, "300", 3)).passed
    below = Art278Major().decide(tally("400", 4, "400", 4, "299.99", 3))
    assert not below.passed and below.decided_by == "approval_by_area"
    # Two thirds approval is enough for an ordinary matter, not for a major one.
    t = tally("300", 3, "300", 3, "200", 2)
    assert Art278Ordinary().decide(t).passed and not Art278Major().decide(t).passed


def test_simple_majority_ignores_quorum_and_needs_respondents():
    assert SimpleMajority().decide(tally("1000", 10, "100", 3, "50", 2)).passed
    assert not SimpleMajority().decide(tally("1000", 10, "0", 0, "0", 0)).passed


def test_the_shipped_rules_are_plugins_and_an_unknown_one_is_a_config_error():
    assert {"simple_majority", "art278_ordinary", "art278_major"} <= set(VOTING_RULE.available())
    assert VOTING_RULE.load("art278_major") is Art278Major
    with pytest.raises(PluginError, match="mediation.voting_rule"):
        VOTING_RULE.load("no_such_rule")


def test_count_uses_effective_ballots_and_exact_areas():
    # (household, area, voting person): C has no owner, so no head; ballots are the persons' (Interpretation Art. 9).
    voters = [("A", Decimal("66.67"), "PA"), ("B", Decimal("33.33"), "PB"), ("C", Decimal("10.00"), None)]
    counted = count(voters, {"PA": ("agree", "paper"), "PB": ("disagree", "online")}, "agree", ["agree", "disagree"])
    t = counted.tally
    assert t.total_area == Decimal("110.00") and t.total_owners == 2
    assert t.participation_by_headcount == 1
    assert t.approval_by_area == Fraction(6667, 10000)
    assert counted.paper == 1
    assert counted.options["disagree"] == {"persons": "1", "households": "1", "area_m2": "33.33"}


def _rows(n: int) -> list[tuple]:
    rows, prev = [], chain.GENESIS
    for seq in range(1, n + 1):
        payload = chain.canonical_json({"n": seq, "text": "同意"})
        h = chain.record_hash(prev, seq, "990001", "ballot", "M1", f"b{seq}", "2026-01-01T00:00:00.000000Z", payload)
        rows.append((seq, "990001", "ballot", "M1", f"b{seq}", "2026-01-01T00:00:00.000000Z", payload, prev, h))
        prev = h
    return rows


def test_an_intact_chain_verifies():
    check = chain.verify_rows(_rows(50))
    assert check.checked == 50 and not check.problems and check.last_seq == 50


def test_an_altered_record_is_named_once():
    rows = _rows(20)
    seq, d, k, mid, ref, at, payload, prev, h = rows[6]
    rows[6] = (seq, d, k, mid, ref, at, payload.replace("同意", "反对"), prev, h)
    problems = chain.verify_rows(rows).problems
    assert [(p.seq, p.ref_id) for p in problems] == [(7, "b7")]
    assert "altered" in problems[0].reason


def _rows_v2(n: int) -> list[tuple]:
    rows, prev = [], chain.GENESIS
    for seq in range(1, n + 1):
        payload = chain.canonical_json({"n": seq, "description": f"电话 1391234{seq:04d}"})
        content = chain.payload_digest(payload)
        h = chain.record_hash_v2(prev, seq, "990001", "case_opened", "K1", f"k{seq}", "2026-01-01T00:00:00.000000Z",
                                 content)
        rows.append((seq, "990001", "case_opened", "K1", f"k{seq}", "2026-01-01T00:00:00.000000Z", payload, prev, h,
                     content, None))
        prev = h
    return rows


def test_format_2_records_verify_and_an_altered_unredacted_payload_is_named():
    rows = _rows_v2(10)
    assert not chain.verify_rows(rows).problems
    seq, d, k, mid, ref, at, payload, prev, h, content, _ = rows[2]
    rows[2] = (seq, d, k, mid, ref, at, payload.replace("电话", "手机"), prev, h, content, None)
    assert [(p.seq, "altered" in p.reason) for p in chain.verify_rows(rows).problems] == [(3, True)]


def test_a_redacted_format_2_record_still_verifies_but_a_changed_digest_does_not():
    # PIPL Art. 47: the erased person's text leaves the record; the original's digest keeps the chain whole.
    rows = _rows_v2(10)
    seq, d, k, mid, ref, at, payload, prev, h, content, _ = rows[4]
    rows[4] = (seq, d, k, mid, ref, at, '{"description":"电话 [已删除]","n":5}', prev, h, content,
               "2026-02-01T00:00:00.000000Z")
    assert not chain.verify_rows(rows).problems
    rows[4] = rows[4][:9] + ("0" * 64, rows[4][10])
    assert [p.seq for p in chain.verify_rows(rows).problems] == [5]


def test_format_1_and_format_2_records_chain_together():
    old = _rows(3)
    prev = old[-1][8]
    payload = chain.canonical_json({"n": 4})
    content = chain.payload_digest(payload)
    at = "2026-01-01T00:00:00.000000Z"
    h = chain.record_hash_v2(prev, 4, "990001", "ballot", "M1", "b4", at, content)
    check = chain.verify_rows([*old, (4, "990001", "ballot", "M1", "b4", at, payload, prev, h, content, None)])
    assert not check.problems and check.last_hash == h


def test_a_rehashed_record_breaks_the_next_link_and_a_removed_one_leaves_a_gap():
    rows = _rows(10)
    seq, d, k, mid, ref, at, payload, prev, _ = rows[3]
    forged = payload.replace("同意", "反对")
    rows[3] = (seq, d, k, mid, ref, at, forged, prev, chain.record_hash(prev, seq, d, k, mid, ref, at, forged))
    assert [p.seq for p in chain.verify_rows(rows).problems] == [5]
    gap = _rows(10)
    del gap[4]
    reasons = [p.reason for p in chain.verify_rows(gap).problems]
    assert any("missing" in r for r in reasons) and any("link" in r for r in reasons)


def test_canonical_json_is_stable_and_refuses_floats_of_unknown_types():
    assert chain.canonical_json({"b": Decimal("1.10"), "a": "x"}) == '{"a":"x","b":"1.10"}'
    with pytest.raises(TypeError):
        chain.canonical_json({"x": object()})
