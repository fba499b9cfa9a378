"""The tamper-evident record log: append-only, one hash chain per district.

Each record's hash covers the previous record's hash and the record's own fields, so altering, removing
or reordering any record breaks every hash after it. ``verify`` recomputes the chain from the first record
up to a target, streaming rows, and checks that the head the service keeps agrees. The hashed text is
stored verbatim (canonical JSON payload, fixed-format timestamp), so verification never depends on how a
database round-trips numbers or time zones.

Format 2 (records appended since migration 0004) hashes ``sha256:<the payload's SHA-256>`` in place of the
payload, and keeps that digest beside it. An unredacted payload must still match its digest; a payload
redacted on an erasure request (PIPL Art. 47, ``redact``) no longer does, and says when it was redacted:
the chain, its links and every other record still verify. Format-1 records (digest NULL) hash the payload
itself and cannot be redacted without breaking the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from redprop.db import upsert
from redprop.services.mediation.models import log_heads, log_records

GENESIS = "0" * 64
STREAM_CHUNK = 5000


def canonical_json(payload: Any) -> str:
    """One text per value: sorted keys, no spaces, UTF-8 kept, decimals and datetimes as strings."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain)


def _plain(value: Any) -> str:
    if isinstance(value, datetime):
        return stamp(value)
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot put {type(value).__name__} in a record")


def stamp(at: datetime) -> str:
    """A fixed-format UTC timestamp (the form that is hashed)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_hash(prev_hash: str, seq: int, district: str, kind: str, matter_id: str, ref_id: str,
                recorded_at: str, payload: str) -> str:
    # Ids and kinds cannot contain "|" (contract patterns), so the fields cannot run into each other.
    text = f"{prev_hash}|{seq}|{district}|{kind}|{matter_id}|{ref_id}|{recorded_at}|{payload}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def payload_digest(payload: str) -> str:
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record_hash_v2(prev_hash: str, seq: int, district: str, kind: str, matter_id: str, ref_id: str,
                   recorded_at: str, payload_sha256: str) -> str:
    """Format 2: the same fields, with the payload's digest standing for the payload."""
    return record_hash(prev_hash, seq, district, kind, matter_id, ref_id, recorded_at, f"sha256:{payload_sha256}")


@dataclass(frozen=True)
class Appended:
    seq: int
    hash: str
    recorded_at: str


def append(session: Session, district: str, kind: str, matter_id: str, ref_id: str, payload: dict,
           at: datetime) -> Appended:
    """Append a record in the caller's transaction (it exists if and only if the change does)."""
    _ensure_head(session, district)
    # The UPDATE takes the head's row lock until commit: concurrent appenders queue here.
    seq, prev = session.execute(
        update(log_heads).where(log_heads.c.district == district)
        .values(seq=log_heads.c.seq + 1).returning(log_heads.c.seq, log_heads.c.hash)).one()
    text = canonical_json(payload)
    recorded_at = stamp(at)
    content = payload_digest(text)
    digest = record_hash_v2(prev, seq, district, kind, matter_id, ref_id, recorded_at, content)
    session.execute(insert(log_records).values(
        district=district, seq=seq, kind=kind, matter_id=matter_id, ref_id=ref_id, recorded_at=recorded_at,
        payload=text, prev_hash=prev, hash=digest, payload_sha256=content))
    session.execute(update(log_heads).where(log_heads.c.district == district).values(hash=digest))
    return Appended(seq, digest, recorded_at)


def _ensure_head(session: Session, district: str) -> None:
    session.execute(upsert(session, log_heads, ["district"]).values(district=district, seq=0, hash=GENESIS))


def redact(session: Session, district: str, seq: int, payload: dict, at: datetime) -> bool:
    """Replace a format-2 record's payload with its redacted form (the digest of the original stays, so the
    chain verifies). False for a format-1 record, which is left as it is."""
    r = log_records.c
    done = session.execute(update(log_records).where(
        r.district == district, r.seq == seq, r.payload_sha256.is_not(None))
        .values(payload=canonical_json(payload), redacted_at=stamp(at)))
    return done.rowcount == 1


def head(session: Session, district: str) -> tuple[int, str]:
    row = session.execute(select(log_heads.c.seq, log_heads.c.hash).where(log_heads.c.district == district)).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


# -- verification --------------------------------------------------------------------------------

#: A stored record as verification reads it: seq, district, kind, matter, ref, at, payload, prev, hash, and
#: for format 2 the payload's digest and when it was redacted (a format-1 row may stop after the hash).
Row = tuple


@dataclass
class Problem:
    seq: int
    kind: str
    ref_id: str
    reason: str


@dataclass
class ChainCheck:
    checked: int
    last_seq: int
    last_hash: str
    problems: list[Problem]


def verify_rows(rows: Iterable[Row], max_problems: int = 100) -> ChainCheck:
    """Recompute the chain over rows in seq order starting at seq 1. Pure: the benchmark runs it too."""
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    problems: list[Problem] = []
    last_hash = GENESIS
    for seq, district, kind, matter_id, ref_id, recorded_at, payload, prev_hash, stored, *v2 in rows:
        content, redacted_at = (*v2, None, None)[:2]
        checked += 1
        if seq != expected_seq:
            problems.append(Problem(seq, kind, ref_id, f"records {expected_seq}..{seq - 1} are missing"))
        if prev_hash != expected_prev:
            problems.append(Problem(seq, kind, ref_id, "its link to the previous record is broken"))
        if content is None:
            actual = record_hash(prev_hash, seq, district, kind, matter_id, ref_id, recorded_at, payload)
        else:
            actual = record_hash_v2(prev_hash, seq, district, kind, matter_id, ref_id, recorded_at, content)
        if actual != stored or (content is not None and redacted_at is None and payload_digest(payload) != content):
            problems.append(Problem(seq, kind, ref_id, "its content does not match its hash (altered)"))
        # Continue from the stored hash so one altered record is named once, not every record after it.
        expected_prev, expected_seq, last_hash = stored, seq + 1, stored
        if len(problems) >= max_problems:
            break
    return ChainCheck(checked, expected_seq - 1, last_hash, problems)


def stream_rows(session: Session, district: str, up_to: int) -> Iterator[Row]:
    """The district's records 1..up_to, read in chunks by primary key (constant memory)."""
    r = log_records.c
    after = 0
    while after < up_to:
        chunk = session.execute(
            select(r.seq, r.district, r.kind, r.matter_id, r.ref_id, r.recorded_at, r.payload, r.prev_hash, r.hash,
                   r.payload_sha256, r.redacted_at)
            .where(r.district == district, r.seq > after, r.seq <= up_to)
            .order_by(r.seq).limit(STREAM_CHUNK)).all()
        if not chunk:
            return
        yield from (tuple(row) for row in chunk)
        after = chunk[-1][0]


def verify_up_to(session: Session, district: str, up_to: int) -> ChainCheck:
    check = verify_rows(stream_rows(session, district, up_to))
    if check.last_seq < up_to and not check.problems:
        check.problems.append(Problem(check.last_seq + 1, "?", "?", f"records {check.last_seq + 1}..{up_to} are missing"))
    head_seq, head_hash = head(session, district)
    if up_to == head_seq and check.last_hash != head_hash and not check.problems:
        check.problems.append(Problem(head_seq, "?", "?", "the log's head does not match its last record"))
    return check
