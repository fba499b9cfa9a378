"""Who sees a person's phone and ID card unmasked, and the access log of those who did.

Minimum necessary access (PIPL Art. 6): a data officer of the district, a community worker whose post
covers a community the person lives or serves in, and the person themselves see the numbers; everyone
else (and a reader who does not say who they are) sees them masked (``139****0001``). Every reply that
shows a number unmasked is written to the access log in the same transaction (PIPL Art. 51).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from redprop.contracts.registry import AccessEntry, AccessLogReply, AccessLogRequest, PersonRecord
from redprop.privacy.access import record_accesses
from redprop.services.registry import models as m
from redprop.services.registry import personal
from redprop.services.registry.queries import communities_within
from redprop.services.registry.resolver import GovernanceMap

#: Roles whose holders see every person's numbers in the district, and those who see their community's.
DISTRICT_WIDE = ("data_officer",)
COMMUNITY_WIDE = ("community_worker",)


def _active_posts(session: Session, district: str, person_id: str, roles: tuple[str, ...] | None, on: date):
    r = m.roles.c
    stmt = select(r.role, r.scope_id, r.organisation_id).where(
        r.district == district, r.person_id == person_id, r.term_start <= on,
        (r.term_end.is_(None)) | (r.term_end >= on))
    if roles is not None:
        stmt = stmt.where(r.role.in_(roles))
    return session.execute(stmt).all()


def _communities_of_place(gmap: GovernanceMap, place_id: str | None) -> set[str]:
    if place_id is None:
        return set()
    if place_id in gmap.regions:
        return communities_within(gmap, place_id)
    if place_id in gmap.complexes:
        return {gmap.complexes[place_id].community_id}
    if place_id in gmap.grids:
        return {gmap.grids[place_id].community_id}
    if place_id in gmap.buildings:
        cx = gmap.complexes.get(gmap.buildings[place_id].complex_id)
        return {cx.community_id} if cx else set()
    return set()


def _communities_of_person(session: Session, gmap: GovernanceMap, person_id: str) -> set[str]:
    """Where the person owns a home, and where their posts are."""
    h = m.households.c
    found: set[str] = set()
    for building_id, owners in session.execute(select(h.building_id, h.owner_ids).where(h.district == gmap.district)):
        if person_id in (owners or ()):
            found |= _communities_of_place(gmap, building_id)
    for post in _active_posts(session, gmap.district, person_id, None, date.today()):
        found |= _communities_of_place(gmap, post.scope_id)
    return found


class Viewer:
    """What one reader may see; asked once per reply."""

    def __init__(self, session: Session, gmap: GovernanceMap, viewer_id: str | None):
        self.session, self.gmap, self.id = session, gmap, viewer_id
        self.district_wide = False
        self.communities: set[str] = set()
        if viewer_id is None:
            return
        for post in _active_posts(session, gmap.district, viewer_id, DISTRICT_WIDE + COMMUNITY_WIDE, date.today()):
            if post.role in DISTRICT_WIDE:
                self.district_wide = True
            else:
                scope = post.scope_id
                if scope is None and post.organisation_id in gmap.organisations:
                    scope = gmap.organisations[post.organisation_id].scope_id
                self.communities |= _communities_of_place(gmap, scope)

    def may_see(self, person_id: str) -> bool:
        if self.id is None:
            return False
        if self.district_wide or person_id == self.id:
            return True
        return bool(self.communities) and bool(self.communities & _communities_of_person(self.session, self.gmap, person_id))


def disclose(session: Session, gmap: GovernanceMap, records: list, viewer_id: str | None, why: str) -> list:
    """The records as this viewer may see them: people masked unless allowed; unmasked reads logged."""
    people = [r for r in records if isinstance(r, PersonRecord) and personal.present_fields(r.model_dump())]
    if not people:
        return records
    viewer = Viewer(session, gmap, viewer_id)
    shown: dict[str, PersonRecord] = {}
    entries = []
    for rec in people:
        values = rec.model_dump()
        if viewer.may_see(rec.id):
            entries.append({"district": gmap.district, "who": viewer_id, "action": "read", "subject_id": rec.id,
                            "what": ",".join(personal.present_fields(values)), "why": why})
        else:
            shown[rec.id] = PersonRecord.model_validate(personal.masked(values))
    record_accesses(session, m.access_log, entries)
    return [shown.get(r.id, r) if isinstance(r, PersonRecord) else r for r in records]


def access_log(session: Session, district: str, request: AccessLogRequest) -> AccessLogReply:
    a = m.access_log.c
    conditions = [a.district == district]
    if request.subject_id is not None:
        conditions.append(a.subject_id == request.subject_id)
    if request.who is not None:
        conditions.append(a.who == request.who)
    if request.since is not None:
        conditions.append(a.at >= request.since)
    total = session.execute(select(func.count()).select_from(m.access_log).where(*conditions)).scalar_one()
    rows = session.execute(select(m.access_log).where(*conditions).order_by(a.at.desc(), a.id.desc())
                           .limit(request.limit).offset(request.offset))
    return AccessLogReply(district=district, items=entries_of(rows), total=total)


def entries_of(rows) -> list[AccessEntry]:
    return [AccessEntry(at=r.at, who=r.who, action=r.action, subject_id=r.subject_id, what=r.what, why=r.why)
            for r in rows]
