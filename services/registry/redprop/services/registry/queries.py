"""Read queries of the registry (everything but ``resolve``, which lives in resolver.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from redprop.contracts.registry import (
    DEVELOPER_PERSON,
    CommunitySummary,
    CrossAppointment,
    CrossAppointmentsReply,
    ElectorateReply,
    ListReply,
    ListRequest,
    Post,
    SummaryReply,
    Voter,
)
from redprop.errors import NotFound, ValidationFailed
from redprop.privacy.cipher import FieldCipher
from redprop.services.registry import models as m
from redprop.services.registry.resolver import GovernanceMap
from redprop.services.registry.writer import record_from_row


def get_record(session: Session, district: str, kind: str, id_: str, cipher: FieldCipher):
    table = m.TABLES[kind]
    row = session.execute(select(table).where(table.c.district == district, table.c.id == id_)).first()
    if row is None:
        raise NotFound.entity(kind, id_, "id")
    return record_from_row(kind, row, cipher)


def _place_kind(gmap: GovernanceMap, id_: str) -> str:
    for kind, table in (("region", gmap.regions), ("complex", gmap.complexes), ("grid", gmap.grids),
                        ("building", gmap.buildings)):
        if id_ in table:
            return kind
    raise NotFound(f"no region, complex, grid or building {id_!r}", {"entity": "place", "id": id_, "field": "within"})


def communities_within(gmap: GovernanceMap, region_id: str) -> set[str]:
    children = defaultdict(list)
    for r in gmap.regions.values():
        children[r.parent_id].append(r.id)
    found, stack = set(), [region_id]
    while stack:
        rid = stack.pop()
        if gmap.regions[rid].level == "community":
            found.add(rid)
        stack.extend(children.get(rid, ()))
    return found


def places_within(gmap: GovernanceMap, within: str) -> set[str]:
    """Every region, complex, grid and building inside ``within`` (itself included)."""
    kind = _place_kind(gmap, within)
    if kind == "building":
        return {within}
    if kind == "grid":
        return {within} | {b.id for b in gmap.buildings.values() if b.grid_id == within}
    if kind == "complex":
        return ({within} | {b.id for b in gmap.buildings.values() if b.complex_id == within}
                | {g.id for g in gmap.grids.values() if g.complex_id == within})
    communities = communities_within(gmap, within)
    children = defaultdict(list)
    for r in gmap.regions.values():
        children[r.parent_id].append(r.id)
    regions, stack = set(), [within]
    while stack:
        rid = stack.pop()
        regions.add(rid)
        stack.extend(children.get(rid, ()))
    complexes = {c.id for c in gmap.complexes.values() if c.community_id in communities}
    return (regions | complexes | {g.id for g in gmap.grids.values() if g.community_id in communities}
            | {b.id for b in gmap.buildings.values() if b.complex_id in complexes})


def list_records(session: Session, gmap: GovernanceMap, request: ListRequest, cipher: FieldCipher) -> ListReply:
    kind, district = request.kind, gmap.district
    table = m.TABLES[kind]
    conditions = [table.c.district == district]
    if request.org_kind is not None:
        if kind != "organisation":
            raise ValidationFailed.for_field("org_kind", "only for kind organisation")
        conditions.append(table.c.org_kind == request.org_kind)
    if request.role is not None:
        if kind != "role":
            raise ValidationFailed.for_field("role", "only for kind role")
        conditions.append(table.c.role == request.role)
    if request.active_on is not None and kind != "role":
        raise ValidationFailed.for_field("active_on", "only for kind role")
    if request.owner_id is not None:
        if kind != "household":
            raise ValidationFailed.for_field("owner_id", "only for kind household")
        # owner_ids is a JSON list (no portable containment operator): matched here, as disclosure does.
        owned = [row.id for row in session.execute(select(table.c.id, table.c.owner_ids).where(table.c.district == district))
                 if request.owner_id in (row.owner_ids or ())]
        conditions.append(table.c.id.in_(owned))
    if kind == "role":
        day = request.active_on or date.today()
        conditions.append(table.c.term_start <= day)
        conditions.append((table.c.term_end.is_(None)) | (table.c.term_end >= day))
    stmt = select(table)
    if request.within is not None:
        place_kind = _place_kind(gmap, request.within)
        if kind == "region":
            conditions.append(table.c.id.in_(places_within(gmap, request.within) & set(gmap.regions)))
        elif kind == "complex":
            ids = places_within(gmap, request.within) & set(gmap.complexes)
            conditions.append(table.c.id.in_(ids))
        elif kind == "grid":
            conditions.append(table.c.id.in_(places_within(gmap, request.within) & set(gmap.grids)))
        elif kind == "building":
            conditions.append(table.c.id.in_(places_within(gmap, request.within) & set(gmap.buildings)))
        elif kind == "household":
            b = m.buildings
            stmt = stmt.join(b, (b.c.district == table.c.district) & (b.c.id == table.c.building_id))
            if place_kind == "building":
                conditions.append(table.c.building_id == request.within)
            elif place_kind == "grid":
                conditions.append(b.c.grid_id == request.within)
            elif place_kind == "complex":
                conditions.append(b.c.complex_id == request.within)
            else:
                cx = m.complexes
                stmt = stmt.join(cx, (cx.c.district == b.c.district) & (cx.c.id == b.c.complex_id))
                conditions.append(cx.c.community_id.in_(communities_within(gmap, request.within)))
        elif kind in ("organisation", "role"):
            conditions.append(table.c.scope_id.in_(places_within(gmap, request.within)))
        elif kind == "report":
            conditions.append(table.c.community_id.in_(places_within(gmap, request.within) & set(gmap.regions)))
        else:
            raise ValidationFailed.for_field("within", f"cannot list {kind} records within a place")
    total = session.execute(select(func.count()).select_from(stmt.where(*conditions).subquery())).scalar_one()
    rows = session.execute(stmt.where(*conditions).order_by(table.c.id).limit(request.limit).offset(request.offset))
    return ListReply(items=[record_from_row(kind, r, cipher) for r in rows], total=total)


#: How the electorate counts, said in every reply (and so in every tally built on it).
COUNTED_AS = ("Areas per the SPC interpretation on building differentiated ownership Art. 8 (register, else "
              "survey, else sales contract; the total is their sum). Heads per Art. 9: one exclusive part one "
              "person, co-owners of a part one person, one owner of several parts one person, the developer's "
              "unsold or undelivered parts together one person.")


def voting_persons(parts: list[tuple[str, list[str], bool]]) -> dict[str, str | None]:
    """Interpretation Art. 9: household id -> its voting person.

    ``parts`` are (household, owners, developer_unsold). The developer's unsold or undelivered parts are
    the one person ``developer``. Other parts that share an owner, directly or through co-owners, are one
    person: A owning flat 1 alone and flat 2 with B counts once, or A would have two heads by adding a
    co-owner. A person is named by the smallest owner id among them, so the key is stable. A part with no
    owner on record has no person (its area still counts, Art. 8: the total is the sum of all parts).
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for _, owners, developer in parts:
        if developer or not owners:
            continue
        root = find(owners[0])
        for other in owners[1:]:
            other_root = find(other)
            if other_root != root:
                low, high = sorted((root, other_root))
                parent[high] = low
                root = low
    persons: dict[str, str | None] = {}
    for household, owners, developer in parts:
        persons[household] = DEVELOPER_PERSON if developer else (find(owners[0]) if owners else None)
    return persons


def electorate(session: Session, district: str, complex_id: str | None, building_ids: list[str] | None,
               gmap: GovernanceMap) -> ElectorateReply:
    h, b = m.households, m.buildings
    stmt = select(h.c.id, h.c.building_id, h.c.unit, h.c.area_m2, h.c.area_source, h.c.owner_ids,
                  h.c.developer_unsold).where(h.c.district == district)
    if complex_id is not None:
        if complex_id not in gmap.complexes:
            raise NotFound.entity("complex", complex_id, "complex_id")
        stmt = stmt.join(b, (b.c.district == h.c.district) & (b.c.id == h.c.building_id)).where(b.c.complex_id == complex_id)
    else:
        for n, bid in enumerate(building_ids):
            if bid not in gmap.buildings:
                raise NotFound.entity("building", bid, f"building_ids.{n}")
        stmt = stmt.where(h.c.building_id.in_(building_ids))
    rows = session.execute(stmt.order_by(h.c.id)).all()
    persons = voting_persons([(r.id, list(r.owner_ids), bool(r.developer_unsold)) for r in rows])
    voters = [Voter(household_id=r.id, building_id=r.building_id, unit=r.unit,
                    area_m2=Decimal(r.area_m2).quantize(Decimal("0.01")), area_source=r.area_source,
                    owner_ids=list(r.owner_ids), developer_unsold=bool(r.developer_unsold), person_id=persons[r.id])
              for r in rows]
    by_source: dict[str, Decimal] = {}
    for v in voters:
        by_source[v.area_source] = by_source.get(v.area_source, Decimal("0.00")) + v.area_m2
    return ElectorateReply(
        district=district, households=voters,
        total_area_m2=sum((v.area_m2 for v in voters), Decimal("0.00")),
        total_owners=len({v.person_id for v in voters if v.person_id is not None}),
        households_with_owners=sum(1 for v in voters if v.person_id is not None),
        area_by_source=by_source, counted_as=COUNTED_AS,
    )


def cross_appointments(session: Session, district: str, on: date, limit: int, offset: int) -> CrossAppointmentsReply:
    r, o = m.roles, m.organisations
    rows = session.execute(
        select(r, o.c.name.label("org_name")).outerjoin(o, (o.c.district == r.c.district) & (o.c.id == r.c.organisation_id))
        .where(r.c.district == district, r.c.term_start <= on, (r.c.term_end.is_(None)) | (r.c.term_end >= on))
        .order_by(r.c.person_id, r.c.id)
    ).all()
    posts_by_person: dict[str, list] = defaultdict(list)
    for row in rows:
        posts_by_person[row.person_id].append(row)
    multi = {pid: posts for pid, posts in posts_by_person.items()
             if len({p.organisation_id for p in posts if p.organisation_id}) >= 2}
    ids = sorted(multi)
    people = {p.id: p for p in session.execute(select(m.people).where(
        m.people.c.district == district, m.people.c.id.in_(ids[offset:offset + limit])))}
    result = []
    for pid in ids[offset:offset + limit]:
        person = people.get(pid)
        posts = multi[pid]
        result.append(CrossAppointment(
            person_id=pid, name=person.name if person else pid, party_member=bool(person and person.party_member),
            organisations=sorted({p.organisation_id for p in posts if p.organisation_id}),
            posts=[Post(role_id=p.id, role=p.role, organisation_id=p.organisation_id, organisation_name=p.org_name,
                        scope_id=p.scope_id, term_start=p.term_start, term_end=p.term_end) for p in posts],
        ))
    return CrossAppointmentsReply(people=result, total=len(ids))


def summary(session: Session, gmap: GovernanceMap) -> SummaryReply:
    district = gmap.district
    counts = {kind: session.execute(select(func.count()).select_from(t).where(t.c.district == district)).scalar_one()
              for kind, t in m.TABLES.items()}
    h, b = m.households, m.buildings
    per_complex = {row.complex_id: (row.n, row.residents or 0) for row in session.execute(
        select(b.c.complex_id, func.count(h.c.id).label("n"), func.sum(h.c.residents).label("residents"))
        .join(h, (h.c.district == b.c.district) & (h.c.building_id == b.c.id))
        .where(b.c.district == district).group_by(b.c.complex_id))}
    communities = []
    for c in sorted((r for r in gmap.regions.values() if r.level == "community"), key=lambda r: r.id):
        cxs = [cx.id for cx in gmap.complexes.values() if cx.community_id == c.id]
        parent = gmap.regions.get(c.parent_id)
        communities.append(CommunitySummary(
            id=c.id, name=c.name, parent_name=parent.name if parent else "",
            complexes=len(cxs),
            grids=sum(1 for g in gmap.grids.values() if g.community_id == c.id),
            buildings=sum(1 for bd in gmap.buildings.values() if bd.complex_id in set(cxs)),
            households=sum(per_complex.get(cx, (0, 0))[0] for cx in cxs),
            residents=sum(per_complex.get(cx, (0, 0))[1] for cx in cxs),
        ))
    return SummaryReply(district=district, counts=counts, communities=communities, structure_version=gmap.version)
