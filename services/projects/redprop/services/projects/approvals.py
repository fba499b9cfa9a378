"""Which draws are held for approval, who approves them, and the law a draw rests on.

The district sets the threshold (``options.approval_above``, yuan): a draw above it is held until both
levels approve: the community (a ``community_worker``) and the subdistrict (a ``subdistrict_officer``),
each covering the fund, and two different people (one person never approves twice).
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from redprop.errors import Conflict, PermissionDenied, ValidationFailed
from redprop.services.projects.models import approvals

LEVELS = ("community", "subdistrict")
LEVEL_ROLE = {"community": "community_worker", "subdistrict": "subdistrict_officer"}

#: Civil Code Art. 281 para. 2: in an emergency the owners' general meeting or committee may apply to use the
#: maintenance fund for the repair of the building's common parts (without the Art. 278 vote first).
ART_281 = "Civil Code Art. 281 para. 2 (emergency repair from the maintenance fund)"
#: Civil Code Art. 278 para. 1 (5): using the maintenance fund is for the owners to decide.
ART_278 = "Civil Code Art. 278 para. 1 (5) (owners' decision to use the maintenance fund)"


def rule_for(fund_kind: str, amount: int, threshold_fen: int, emergency: bool,
             decision_id: str | None) -> tuple[bool, str | None]:
    """(held for approval, legal basis) of a draw; refuses a maintenance-fund draw with no basis."""
    if fund_kind == "maintenance":
        if emergency:
            # Art. 281 para. 2: the expedited use, confirmed by the community and the subdistrict whatever the sum.
            return True, ART_281
        if decision_id is None:
            raise ValidationFailed.for_field(
                "decision_id", "the maintenance fund is used on the owners' decision (Civil Code Art. 278 para. 1 "
                "(5)): give the consultation that decided it, or emergency: true (Art. 281 para. 2)", "missing")
        return amount > threshold_fen, ART_278
    if emergency:
        raise ValidationFailed.for_field("emergency", "emergency use (Art. 281) applies to the maintenance fund only")
    return amount > threshold_fen, None


def given(session: Session, district: str, movement_id: str) -> list:
    a = approvals.c
    return session.execute(select(approvals).where(a.district == district, a.movement_id == movement_id)
                           .order_by(a.at)).all()


def awaiting(rows) -> list[str]:
    done = {r.level for r in rows}
    return [level for level in LEVELS if level not in done]


def record(session: Session, district: str, movement_id: str, level: str, person_id: str, note: str | None,
           now) -> list[str]:
    """Record one level's approval; returns the levels still awaited."""
    rows = given(session, district, movement_id)
    if any(r.level == level for r in rows):
        raise Conflict(f"the {level} level has already approved {movement_id}", {"field": "level"})
    if any(r.person_id == person_id for r in rows):
        raise PermissionDenied(f"{person_id} has already approved {movement_id} at another level; two different "
                               "people approve", {"field": "actor"})
    session.execute(insert(approvals).values(district=district, movement_id=movement_id, level=level,
                                             person_id=person_id, note=note, at=now))
    return [lvl for lvl in awaiting(rows) if lvl != level]
