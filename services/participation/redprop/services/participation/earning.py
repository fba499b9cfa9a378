"""Extension point ``participation.earning``: how many micro-points a fact earns, and for whom.

A fact is something the suite saw happen: a turn of service, a ticket the resident confirmed and rated,
and (for rule sets that want them) attending a deliberation meeting, voting in a consultation, a
donation fulfilled through matching. The rules answer with awards; the ledger writes each fact's awards
once (its ``source`` is unique). A district ships its own rules by subclassing :class:`EarningRules` and
registering it in ``redprop.participation.earning``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from redprop.plugins import ExtensionPoint

FACT_KINDS = ("turn", "ticket_rated", "meeting_attended", "voted", "donation_fulfilled")


@dataclass(frozen=True)
class Fact:
    kind: str
    person_id: str
    #: Unique per fact: an event id or a turn id.
    source: str
    at: datetime
    hours: float = 0.0
    role: str | None = None


@dataclass(frozen=True)
class Award:
    person_id: str
    points: int
    #: Shown with the entry: why the points were earned.
    rule: str


class EarningRules(ABC):
    name: ClassVar[str]

    def __init__(self, options=None):
        self.options = options

    @abstractmethod
    def awards(self, fact: Fact) -> list[Award]:
        """The points a fact earns (empty: none)."""


#: The standard rules' flat awards: fact kind -> (option naming the points, why, shown with the entry).
FLAT_AWARDS = {
    "ticket_rated": ("points_per_rated_ticket", "a ticket confirmed and rated"),
    "meeting_attended": ("points_per_meeting", "attended a deliberation meeting"),
    "voted": ("points_per_vote", "voted in an owners' consultation"),
    "donation_fulfilled": ("points_per_donation", "a donation delivered through matching"),
}


class StandardEarning(EarningRules):
    """Yumen's micro-points (微积分): an hour of a volunteer's or party member's turn, a ticket the
    resident confirmed and rated, attending a deliberation meeting, voting in a consultation and a donation
    delivered through matching. A unit's staff serve on the unit's time and earn nothing."""

    name = "standard"

    def awards(self, fact: Fact) -> list[Award]:
        if fact.kind == "turn" and fact.role in ("volunteer", "party_member"):
            points = int(fact.hours * self.options.points_per_hour)
            return [Award(fact.person_id, points, f"{fact.hours:g} h of service as {fact.role}")] if points else []
        if fact.kind in FLAT_AWARDS:
            option, why = FLAT_AWARDS[fact.kind]
            points = getattr(self.options, option)
            return [Award(fact.person_id, points, why)] if points else []
        return []


EARNING = ExtensionPoint(
    key="participation.earning",
    group="redprop.participation.earning",
    interface=EarningRules,
    default="standard",
    summary="How many micro-points turns, rated tickets, meetings, votes and donations earn",
    takes_options=True,
)
