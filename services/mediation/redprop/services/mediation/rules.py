"""Extension point ``mediation.voting_rule``: which consultations pass.

A rule sees only exact totals (areas as ``Decimal``, headcounts as ``int``) and answers with exact
``Fraction`` checks, so "exactly two thirds" is exactly two thirds. Three rules ship:

- ``simple_majority``: more than half of the households that answered approve.
- ``art278_ordinary``: Civil Code Art. 278, ordinary matters: participation >= 2/3 of the exclusive area
  and >= 2/3 of the owners; approval > 1/2 of the participating area and > 1/2 of the participating owners.
- ``art278_major``: Art. 278 major matters (raising the maintenance fund, rebuilding, changing the use of
  common parts or running a business on them): the same participation; approval >= 3/4 of both.

Headcount is one per voting person as the registry's electorate counts it (SPC interpretation on building
differentiated ownership, Art. 9), area the sum of the parts (Art. 8).

The matter decides the rule (Civil Code Art. 278 as amended in 2021): a consultation names its Art. 278
item, 1-9; items 6-8 (raising the maintenance fund, rebuilding, changing the use of common parts or running
a business on them) take ``art278_major``, the others ``art278_ordinary`` (item 5, using the fund, included).
A consultation may name another rule only if it asks at least what the item's rule asks
(``weaker_than``); a district's stricter local requirements are ``mediation.local_rules`` plugins, which
can only add checks. A district adds rules by registering classes in the entry-point groups.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, replace
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


# -- Civil Code Art. 278: the matters and the rule each one takes -----------------------------------

#: Art. 278 para. 1, the matters owners decide together.
ART278_ITEMS: dict[int, str] = {
    1: "rules of procedure of the owners' assembly",
    2: "the management statute",
    3: "electing or replacing the owners' committee or its members",
    4: "hiring or dismissing the property company or another manager",
    5: "using the building's and its facilities' maintenance fund",
    6: "raising and replenishing the maintenance fund",
    7: "rebuilding or reconstructing the building and its facilities",
    8: "changing the use of common parts or running a business on them",
    9: "other major matters of common ownership and common management",
}
#: Art. 278 para. 2: items 6-8 need 3/4 of the participating area and of the participating owners.
MAJOR_ITEMS = frozenset({6, 7, 8})


def statutory_rule(item: int) -> str:
    """The rule Art. 278 para. 2 sets for an item: ``art278_major`` for items 6-8, else ``art278_ordinary``."""
    if item not in ART278_ITEMS:
        raise ValueError(f"Civil Code Art. 278 lists matters 1-9, not {item}")
    return Art278Major.name if item in MAJOR_ITEMS else Art278Ordinary.name


_PROBE = Tally(Decimal("0"), 0, Decimal("0"), 0, Decimal("0"), 0)


def _at_least(candidate: Check, required: Check) -> bool:
    if candidate.threshold != required.threshold:
        return candidate.threshold > required.threshold
    return candidate.comparison == required.comparison or candidate.comparison == ">"


def weaker_than(candidate: VotingRule, required: VotingRule) -> list[str]:
    """The checks of ``required`` that ``candidate`` does not ask for at least as strictly (empty: it is not
    weaker). Thresholds are constants of a rule, so the checks of an empty tally show them."""
    have = {c.name: c for c in candidate.checks(_PROBE)}
    return [c.name for c in required.checks(_PROBE) if c.name not in have or not _at_least(have[c.name], c)]


class LocalRule(ABC):
    """Interface: a district's own stricter requirements for some Art. 278 items (a local regulation).

    A local rule only adds checks to the statutory ones, so it can never let through what the Civil Code
    refuses; ``items`` says which matters it applies to."""

    name: str = ""
    description: str = ""
    items: frozenset[int] = frozenset(ART278_ITEMS)

    @abstractmethod
    def checks(self, tally: Tally) -> list[Check]:
        """The additional conditions, in the order they are reported."""


class WithLocalRules(VotingRule):
    """A consultation's rule with the district's local rules for its item added after it."""

    def __init__(self, rule: VotingRule, local: Iterable[LocalRule], item: int | None):
        self.rule = rule
        self.local = [r for r in local if item is not None and item in r.items]
        self.name = rule.name
        self.description = " ".join([rule.description, *(f"Local rule {r.name}: {r.description}" for r in self.local)])

    def checks(self, tally: Tally) -> list[Check]:
        out = list(self.rule.checks(tally))
        for local in self.local:
            out.extend(replace(c, name=f"{local.name}.{c.name}") for c in local.checks(tally))
        return out


LOCAL_RULES = ExtensionPoint(
    key="mediation.local_rules",
    group="redprop.mediation.local_rules",
    interface=LocalRule,
    default=[],
    summary="A district's stricter requirements for Art. 278 matters, added to the statutory rule",
    many=True,
)
