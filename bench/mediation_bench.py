"""Mediation benchmarks: tallying a consultation of 10,000 households, and verifying a log of 1,000,000 records.

``run()`` returns a Markdown section; ``python -m bench.mediation_bench`` prints it. Everything runs in
this process against a temporary SQLite database built with the service's own tables, and times the
service's own functions (``consultations.tally``, ``chain.verify_up_to``), each next to a baseline
measured in the same run on the same data:

- tally: the service reads the snapshot and the effective ballots and counts them exactly
  (``Decimal`` areas, ``Fraction`` checks) under Art. 278. Baseline: one SQL ``SUM``/``COUNT`` over the
  same join, which is what the database alone needs to produce the four totals.
- verify: the service streams the chain from the first record, recomputes every hash and checks every
  link and the head. Baseline: reading the same rows and hashing the same bytes with raw ``hashlib``,
  with no checks at all (the floor for any streaming verification).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

HOUSEHOLDS = 10_000
LOG_RECORDS = int(os.environ.get("REDPROP_BENCH_LOG_RECORDS", "1000000"))
DISTRICT = "990001"


def _timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _engine(path: Path):
    from redprop.db.engine import build_engine
    from redprop.services.mediation import models as m

    engine = build_engine(f"sqlite:///{path}")
    m.metadata.create_all(engine)
    return engine


def bench_tally(workdir: Path) -> dict:
    from sqlalchemy import func, insert, select
    from sqlalchemy.orm import Session

    from redprop.services.mediation import consultations
    from redprop.services.mediation import models as m
    from redprop.services.mediation.rules import Art278Ordinary

    rng = random.Random(278)
    engine = _engine(workdir / "tally.sqlite3")
    now = datetime.now(UTC)
    voters, ballots = [], []
    seq = 0
    for n in range(HOUSEHOLDS):
        hid = f"H{n:05d}"
        voters.append({"district": DISTRICT, "consultation_id": "C1", "household_id": hid, "building_id": f"B{n // 25}",
                       "unit": str(n), "area_m2": Decimal(rng.randint(4500, 14000)) / 100, "owner_ids": [f"O{n}"],
                       # As open_consultation snapshots them now: one voting person per household, register area.
                       "person_id": hid, "area_source": "register"})
        if rng.random() < 0.85:  # 85 % turnout; 5 % of voters change their mind once
            for _ in range(2 if rng.random() < 0.05 else 1):
                seq += 1
                ballots.append({"district": DISTRICT, "id": f"b{seq}", "consultation_id": "C1", "seq": seq,
                                "household_id": hid, "person_id": hid, "owner_id": f"O{n}",
                                "option": rng.choice(("agree", "agree", "agree", "disagree", "abstain")),
                                "channel": "paper" if rng.random() < 0.1 else "online", "entered_by": None,
                                "cast_at": now, "superseded_by": None, "record_seq": seq})
    last: dict[str, dict] = {}
    for b in ballots:
        if b["household_id"] in last:
            last[b["household_id"]]["superseded_by"] = b["id"]
        last[b["household_id"]] = b
    with Session(engine) as s:
        s.execute(insert(m.consultations).values(
            district=DISTRICT, id="C1", matter_id="M1", question="q", options=[{"id": o, "label": o} for o in
                                                                               ("agree", "disagree", "abstain")],
            approve_option="agree", rule="art278_ordinary", opens_at=now - timedelta(days=7), closes_at=now,
            state="open", electorate_households=HOUSEHOLDS, total_area_m2=sum(v["area_m2"] for v in voters),
            total_owners=HOUSEHOLDS, electorate_digest="0" * 64, ballot_count=len(ballots)))
        s.execute(insert(m.voters), voters)
        s.execute(insert(m.ballots), ballots)
        s.commit()
    rule = Art278Ordinary()
    with Session(engine) as s:
        row = consultations.load(s, DISTRICT, "C1")
        service_s, result = _timed(lambda: consultations.tally(s, DISTRICT, row, rule), 7)
        v, b = m.voters, m.ballots
        aggregate = (select(func.sum(v.c.area_m2), func.count(), func.sum(b.c.option == "agree"))
                     .select_from(v.join(b, (b.c.district == v.c.district) & (b.c.consultation_id == v.c.consultation_id)
                                         & (b.c.household_id == v.c.household_id)))
                     .where(v.c.district == DISTRICT, v.c.consultation_id == "C1", b.c.superseded_by.is_(None)))
        sql_s, sql_row = _timed(lambda: s.execute(aggregate).one(), 7)
        # The floor of any exact count in Python (SQLite sums NUMERIC as floats): the same rows, fetched.
        read_voters = select(v.c.household_id, v.c.area_m2, v.c.person_id, v.c.area_source).where(
            v.c.district == DISTRICT, v.c.consultation_id == "C1")
        read_ballots = select(b.c.household_id, b.c.person_id, b.c.option, b.c.channel).where(
            b.c.district == DISTRICT, b.c.consultation_id == "C1", b.c.superseded_by.is_(None))
        read_s, _ = _timed(lambda: (s.execute(read_voters).all(), s.execute(read_ballots).all()), 7)
    engine.dispose()
    assert Decimal(str(sql_row[0])).quantize(Decimal("0.01")) == result.participating_area_m2  # same data, same answer
    return {"service_s": service_s, "sql_s": sql_s, "read_s": read_s, "ballots": len(ballots), "result": result}


def _build_log(engine, n: int) -> float:
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from redprop.services.mediation import chain
    from redprop.services.mediation import models as m

    started = time.perf_counter()
    prev = chain.GENESIS
    at = chain.stamp(datetime.now(UTC))
    with Session(engine) as s:
        batch = []
        for seq in range(1, n + 1):
            payload = chain.canonical_json({"id": f"b{seq}", "consultation_id": "C1", "household_id": f"H{seq % 10000:05d}",
                                            "owner_id": f"O{seq}", "option": "agree", "channel": "online",
                                            "entered_by": None, "seq": seq, "cast_at": at})
            digest = chain.record_hash(prev, seq, DISTRICT, "ballot", "M1", f"b{seq}", at, payload)
            batch.append({"district": DISTRICT, "seq": seq, "kind": "ballot", "matter_id": "M1", "ref_id": f"b{seq}",
                          "recorded_at": at, "payload": payload, "prev_hash": prev, "hash": digest})
            prev = digest
            if len(batch) == 50_000:
                s.execute(insert(m.log_records), batch)
                batch = []
        if batch:
            s.execute(insert(m.log_records), batch)
        s.execute(insert(m.log_heads).values(district=DISTRICT, seq=n, hash=prev))
        s.commit()
    return time.perf_counter() - started


def bench_verify(workdir: Path) -> dict:
    import hashlib

    from sqlalchemy.orm import Session

    from redprop.services.mediation import chain

    engine = _engine(workdir / "log.sqlite3")
    build_s = _build_log(engine, LOG_RECORDS)
    size_mb = (workdir / "log.sqlite3").stat().st_size / 1e6
    with Session(engine) as s:
        verify_s, check = _timed(lambda: chain.verify_up_to(s, DISTRICT, LOG_RECORDS), 2)

        def raw() -> int:
            n = 0
            for row in chain.stream_rows(s, DISTRICT, LOG_RECORDS):
                hashlib.sha256(f"{row[7]}|{row[0]}|{row[1]}|{row[2]}|{row[3]}|{row[4]}|{row[5]}|{row[6]}".encode())
                n += 1
            return n

        raw_s, raw_n = _timed(raw, 2)
    engine.dispose()
    assert check.checked == LOG_RECORDS and not check.problems, check.problems[:3]
    assert raw_n == LOG_RECORDS
    return {"verify_s": verify_s, "raw_s": raw_s, "build_s": build_s, "size_mb": size_mb}


def run() -> str:
    from redprop.services.mediation.chain import STREAM_CHUNK

    with tempfile.TemporaryDirectory(prefix="redprop-mediation-bench-") as tmp:
        workdir = Path(tmp)
        t = bench_tally(workdir)
        v = bench_verify(workdir)
    r = t["result"]
    lines = [
        "## Mediation: tallying a consultation and verifying the record log",
        "",
        f"Single process, SQLite (temporary file), the service's own tables and functions; medians of 7 (tally) "
        f"and 2 (verify) runs; Python {sys.version.split()[0]}.",
        "",
        f"**Tally, {HOUSEHOLDS:,} households** ({t['ballots']:,} ballots, of which {r.superseded_ballots:,} superseded; "
        f"Art. 278 ordinary rule; participation {r.participation_by_area.percent} % by area, "
        f"{r.participation_by_headcount.percent} % by headcount; {'passed' if r.passed else 'failed'}).",
        "",
        "| what | time | ratio to baseline | ratio to reading the rows |",
        "|---|---|---|---|",
        f"| `consultations.tally` (read snapshot + effective ballots, exact Decimal/Fraction count, rule) "
        f"| {t['service_s'] * 1000:.1f} ms | {t['service_s'] / t['sql_s']:.1f}x | {t['service_s'] / t['read_s']:.1f}x |",
        f"| baseline: one SQL SUM/COUNT over the same join | {t['sql_s'] * 1000:.1f} ms | 1.0x | "
        f"{t['sql_s'] / t['read_s']:.1f}x |",
        f"| reading the same voter and effective ballot rows (no count) | {t['read_s'] * 1000:.1f} ms | "
        f"{t['read_s'] / t['sql_s']:.1f}x | 1.0x |",
        "",
        "The snapshot is what `open_consultation` stores today (a voting person and an area source per part); "
        "only an old snapshot's parts bring their owner lists. SQLite sums NUMERIC as floating point, so an "
        "exact count cannot be left to it: the service must fetch the rows, and reading them is its floor "
        "(profile: `bench/profiles/mediation_tally.txt`).",
        "",
        f"**Verify, {LOG_RECORDS:,} records** (one district's chain, {v['size_mb']:.0f} MB of SQLite; read in "
        f"chunks of {STREAM_CHUNK:,} by primary key, constant memory; building the log took {v['build_s']:.1f} s).",
        "",
        "| what | time | records/s | ratio to baseline |",
        "|---|---|---|---|",
        f"| `chain.verify_up_to` (recompute every hash, check links, gaps and the head) | {v['verify_s']:.2f} s "
        f"| {LOG_RECORDS / v['verify_s']:,.0f} | {v['verify_s'] / v['raw_s']:.2f}x |",
        f"| baseline: read the same rows, raw `hashlib.sha256` over the same bytes, no checks | {v['raw_s']:.2f} s "
        f"| {LOG_RECORDS / v['raw_s']:,.0f} | 1.00x |",
        "",
    ]
    if LOG_RECORDS != 1_000_000:
        lines.append(f"(REDPROP_BENCH_LOG_RECORDS={LOG_RECORDS:,}: scale linearly for a million; the verification "
                     "streams, so time grows linearly and memory does not.)\n")
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
