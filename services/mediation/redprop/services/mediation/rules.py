"""Extension point ``mediation.voting_rule``: which consultations pass.

A rule sees only exact totals (areas as ``Decimal``, headcounts as ``int``) and answers with exact
``Fraction`` checks, so "exactly two thirds" is exactly two thirds. Three rules ship:

- ``simple_majority``: more than half of the households that answered approve.
- ``art278_ordinary``: Civil Code Art. 278, ordinary matters: participation >= 2/3 of the exclusive area
  and >= 2/3 of the owners; approval > 1/2 of the participating area and > 1/2 of the participating owners.
- ``art278_major``: Art. 278 major matters (raising the maintenance fund, rebuilding, changing the use of
  common parts or running a business on them): the same participation; approval >= 3/4 of both.

Headcount is one per household with at least one owner, as the registry's electorate counts it.
A consultation names its rule; a district adds rules by registering classes in the entry-point group.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from redprop.plugins import ExtensionPoint

TWO_THIRDS = Fraction(2, 3)
HALF = Fraction(1, 2)
THREE_QUARTERS = Fraction(3, 4)


def ratio(part: Decimal | int, whole: Decimal | int) -> Fraction:
    """part / whole exactly; 0 when the whole is 0 (nobody to count is not approval)."""
    whole_f = Fraction(whole)
    return Fraction(part) / whole_f if whole_f else Fraction(0)


@dataclass(frozen=True)
class Tally:
    """The counted effective ballots of a consultation."""

    total_area: Decimal
    total_owners: int
    participating_area: Decimal
    participating_owners: int
    approving_area: Decimal
    approving_owners: int

    @property
    def participation_by_area(self) -> Fraction:
        return ratio(self.participating_area, self.total_area)

    @property
    def participation_by_headcount(self) -> Fraction:
        return ratio(self.participating_owners, self.total_owners)

    @property
    def approval_by_area(self) -> Fraction:
        return ratio(self.approving_area, self.participating_area)

    @property
    def approval_by_headcount(self) -> Fraction:
        return ratio(self.approving_owners, self.participating_owners)


@dataclass(frozen=True)
class Check:
    name: str
    value: Fraction
    threshold: Fraction
    comparison: str  # ">" or ">="

    @property
    def passed(self) -> bool:
        return self.value > self.threshold if self.comparison == ">" else self.value >= self.threshold

    def describe(self) -> str:
        verdict = "met" if self.passed else "NOT met"
        return f"{self.name} {fraction_text(self.value)} {self.comparison} {fraction_text(self.threshold)}: {verdict}"


@dataclass(frozen=True)
class Decision:
    passed: bool
    checks: tuple[Check, ...]

    @property
    def decided_by(self) -> str:
        """The first failing check (the one that decided against), or ``all`` when every check holds."""
        for check in self.checks:
            if not check.passed:
                return check.name
        return "all"

    def explanation(self) -> str:
        return "; ".join(c.describe() for c in self.checks)


def fraction_text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


class VotingRule(ABC):
    """Interface: decide a consultation from its tally."""

    name: str = ""
    description: str = ""

    @abstractmethod
    def checks(self, tally: Tally) -> list[Check]:
        """Every condition the rule requires, in the order they are reported."""

    def decide(self, tally: Tally) -> Decision:
        checks = tuple(self.checks(tally))
        return Decision(passed=all(c.passed for c in checks), checks=checks)


class SimpleMajority(VotingRule):
    name = "simple_majority"
    description = "More than half of the responding households approve (no quorum)."

    def checks(self, tally: Tally) -> list[Check]:
        return [Check("approval_by_headcount", tally.approval_by_headcount, HALF, ">")]


class Art278Ordinary(VotingRule):
    name = "art278_ordinary"
    description = ("Civil Code Art. 278, ordinary matter: participation >= 2/3 of area and >= 2/3 of owners; "
                   "approval > 1/2 of participating area and > 1/2 of participating owners.")
    approval_threshold = HALF
    approval_comparison = ">"

    def checks(self, tally: Tally) -> list[Check]:
        return [
            Check("participation_by_area", tally.participation_by_area, TWO_THIRDS, ">="),
            Check("participation_by_headcount", tally.participation_by_headcount, TWO_THIRDS, ">="),
            Check("approval_by_area", tally.approval_by_area, self.approval_threshold, self.approval_comparison),
            Check("approval_by_headcount", tally.approval_by_headcount, self.approval_threshold,
                  self.approval_comparison),
        ]


class Art278Major(Art278Ordinary):
    name = "art278_major"
    description = ("Civil Code Art. 278, major matter (maintenance fund, rebuilding, use of common parts): "
                   "participation >= 2/3 of area and owners; approval >= 3/4 of participating area and owners.")
    approval_threshold = THREE_QUARTERS
    approval_comparison = ">="


VOTING_RULE = ExtensionPoint(
    key="mediation.voting_rule",
    group="redprop.mediation.voting_rules",
    interface=VotingRule,
    default=["simple_majority", "art278_ordinary", "art278_major"],
    summary="Rules a consultation may name to decide whether it passed",
    many=True,
)
