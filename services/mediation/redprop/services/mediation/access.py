"""Who may act on one case, matter or consultation: the permit said which posts; this says where.

A case's own mediators may always act on it; anyone else needs a post covering the case's grid or
community. A matter or consultation is acted on by someone whose post covers its complex (for a
consultation over buildings only, the first building's).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from redprop.contracts import mediation as c
from redprop.errors import PermissionDenied
from redprop.services.mediation import models as m


def _refuse(actor: str, what: str, roles, place: str) -> PermissionDenied:
    return PermissionDenied(f"{actor} holds no post ({', '.join(sorted(set(roles)))}) covering {place}, "
                            f"where {what} is", {"field": "actor", "check": "record", "place": place})


def require_on_case(db: Session, authz, actor: str, case_row) -> None:
    mediator = db.execute(select(m.case_mediators.c.person_id).where(
        m.case_mediators.c.district == case_row.district, m.case_mediators.c.case_id == case_row.id,
        m.case_mediators.c.person_id == actor)).first()
    if mediator is None and not authz.holds(actor, c.CASE_ROLES, within=case_row.scope_id):
        raise _refuse(actor, f"case {case_row.id}", c.CASE_ROLES, case_row.scope_id)


def require_on_matter(authz, actor: str, matter_row, roles=c.MATTER_ROLES) -> None:
    if matter_row.complex_id and not authz.holds(actor, roles, within=matter_row.complex_id):
        raise _refuse(actor, f"matter {matter_row.id}", roles, matter_row.complex_id)


def consultation_place(db: Session, row, matter_row) -> str | None:
    if matter_row.complex_id:
        return matter_row.complex_id
    voter = db.execute(select(m.voters.c.building_id).where(
        m.voters.c.district == row.district, m.voters.c.consultation_id == row.id).limit(1)).first()
    return voter.building_id if voter is not None else None


def require_on_consultation(db: Session, authz, actor: str, row, matter_row) -> None:
    place = consultation_place(db, row, matter_row)
    if place is not None and not authz.holds(actor, c.CONSULTATION_ROLES, within=place):
        raise _refuse(actor, f"consultation {row.id}", c.CONSULTATION_ROLES, place)
