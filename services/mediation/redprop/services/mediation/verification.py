"""``verify``: the hash chain up to a record, plus the stored rows behind the records checked against them."""

from __future__ import annotations

import json
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from redprop.contracts import mediation as c
from redprop.errors import NotFound
from redprop.services.mediation import chain, records
from redprop.services.mediation import models as m
from redprop.services.mediation.consultations import electorate_digest

CHUNK = 500


def verify(db: Session, district: str, request: c.VerifyRequest) -> c.VerifyReply:
    r = m.log_records
    cols = (r.c.seq, r.c.kind, r.c.ref_id, r.c.payload)
    if request.seq is not None:
        targets = db.execute(select(*cols).where(r.c.district == district, r.c.seq == request.seq)).all()
        if not targets:
            raise NotFound.entity("record", str(request.seq), "seq")
    else:
        targets = db.execute(select(*cols).where(r.c.district == district, r.c.matter_id == request.matter_id)
                             .order_by(r.c.seq)).all()
        if not targets:
            raise NotFound.entity("matter", request.matter_id, "matter_id")
    up_to = max(t.seq for t in targets)
    check = chain.verify_up_to(db, district, up_to)
    failures = [c.VerifyFailure(seq=p.seq, kind=p.kind, ref_id=p.ref_id, reason=p.reason) for p in check.problems]
    cross_failures, cross_checked = cross_check_all(db, district, targets)
    failures += cross_failures
    failures.sort(key=lambda f: f.seq)
    return c.VerifyReply(district=district, ok=not failures, checked=check.checked, cross_checked=cross_checked,
                         up_to_seq=up_to, head_hash=check.last_hash, failures=failures)


def cross_check_all(db: Session, district: str, targets) -> tuple[list[c.VerifyFailure], int]:
    by_kind = defaultdict(list)
    for t in targets:
        if t.kind in records.CROSS_CHECKED:
            by_kind[t.kind].append(t)
    failures: list[c.VerifyFailure] = []
    checked = 0
    for kind, items in by_kind.items():
        table, build = records.CROSS_CHECKED[kind]
        for start in range(0, len(items), CHUNK):
            chunk = items[start:start + CHUNK]
            rows = {row.id: row for row in db.execute(select(table).where(
                table.c.district == district, table.c.id.in_([t.ref_id for t in chunk])))}
            for t in chunk:
                checked += 1
                reason = _compare(rows.get(t.ref_id), build, kind, t.ref_id, t.payload)
                if reason is None and kind == "consultation_opened":
                    reason = _check_electorate(db, district, t.ref_id, json.loads(t.payload)["electorate_digest"])
                if reason is not None:
                    failures.append(c.VerifyFailure(seq=t.seq, kind=kind, ref_id=t.ref_id, reason=reason))
    return failures, checked


def _compare(row, build, kind: str, ref_id: str, logged: str) -> str | None:
    if row is None:
        return f"the stored {kind} {ref_id!r} is missing"
    try:
        current = chain.canonical_json(build(row._mapping))
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        return f"the stored {kind} {ref_id!r} cannot be read as logged: {exc}"
    if current != logged:
        return f"the stored {kind} {ref_id!r} differs from its record (altered after it was logged)"
    return None


def _check_electorate(db: Session, district: str, consultation_id: str, logged_digest: str) -> str | None:
    v = m.voters
    rows = db.execute(select(v).where(v.c.district == district, v.c.consultation_id == consultation_id)).all()
    if electorate_digest([row._mapping for row in rows]) != logged_digest:
        return f"the electorate snapshot of consultation {consultation_id!r} differs from its record"
    return None


def records_of(db: Session, district: str, request: c.RecordsRequest) -> c.RecordsReply:
    r = m.log_records
    conditions = [r.c.district == district, r.c.matter_id == request.matter_id]
    if request.kind is not None:
        conditions.append(r.c.kind == request.kind)
    total = db.execute(select(func.count()).select_from(r).where(*conditions)).scalar_one()
    if total == 0 and request.kind is None:
        raise NotFound.entity("matter", request.matter_id, "matter_id")
    rows = db.execute(select(r).where(*conditions).order_by(r.c.seq).limit(request.limit).offset(request.offset)).all()
    return c.RecordsReply(matter_id=request.matter_id, total=total, items=[
        c.LogRecord(district=x.district, seq=x.seq, kind=x.kind, matter_id=x.matter_id, ref_id=x.ref_id,
                    recorded_at=x.recorded_at.replace("Z", "+00:00"), payload=json.loads(x.payload),
                    prev_hash=x.prev_hash, hash=x.hash, payload_sha256=x.payload_sha256,
                    redacted_at=x.redacted_at.replace("Z", "+00:00") if x.redacted_at else None) for x in rows])
