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
from redprop.privacy.masking import mask_contacts, mask_id_card, mask_phone
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


def may_see_particulars(authz, viewer: str | None, case: c.CaseInfo) -> bool:
    """PIPL Art. 6 (no more than the purpose needs): a case's particulars are for those who act on it (its
    mediators, a worker or officer covering its scope), a data officer, and its parties."""
    if viewer is None:
        return False
    if any(viewer in (p.id, p.representative_id) for p in case.parties):
        return True
    if any(m.person_id == viewer for m in case.mediators):
        return True
    return authz.holds(viewer, c.CASE_ROLES, within=case.scope_id) or authz.holds(viewer, ("data_officer",))


def _masked_address(address: str | None) -> str | None:
    return None if address is None else address[:6] + "****"


def shown_to(authz, viewer: str | None, case: c.CaseInfo) -> c.CaseInfo:
    """The case as ``viewer`` may read it: whole, or with the parties' particulars masked."""
    if may_see_particulars(authz, viewer, case):
        return case
    parties = [p.model_copy(update={"phone": mask_phone(p.phone), "identity": mask_id_card(p.identity),
                                    "address": _masked_address(p.address)}) for p in case.parties]
    return case.model_copy(update={"parties": parties, "description": mask_contacts(case.description)})
