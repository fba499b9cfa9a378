"""Evaluation benchmarks: KPI ingestion from ticket events, and a district league table.

``run()`` returns a Markdown section; ``python -m bench.evaluation_bench`` prints it. Both run in this
process against a temporary PostgreSQL database built with the service's own tables, and time the
service's own functions next to a baseline measured in the same run:

- ingestion: ``kpis.ingest`` for each event of 1,000 tickets' lifecycles (created, accepted, resolved,
  rated, closed), one transaction per event as the event handler commits, then every event again with a
  fresh id (a replay: versions make it change nothing). Baseline: one plain ``INSERT`` of the event's
  JSON per event and transaction (what any durable consumer does at least).
- league table: 500 companies x 8 quarters of KPI totals and signed committee scorecards (4,000
  company-quarters), ranked with the trend by ``league.table``. Baseline: reading the same rows.
- recomputation: the ratings of 4,000 companies from 10,000,000 ticket events. The per-ticket state rows
  (``kpi_tickets``, 5 events per ticket on average) are generated set-based in PostgreSQL; in a fresh
  process, ``kpis.recount`` rebuilds every company's quarterly totals and ``scoring.score`` rates each
  company for the year; time and peak RSS (``ru_maxrss``). Baseline: one SQL ``GROUP BY`` over the same
  rows in another fresh process. A 1,000,000-event run comes first; the full size runs only if the 1M
  run predicts it fits 90 s (else 2,500,000, and the section says so). ``REDPROP_BENCH_EVAL_EVENTS``
  changes the full size.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, create_engine, func, select
from sqlalchemy.orm import Session

DISTRICT = "990001"
TICKETS = int(os.environ.get("REDPROP_BENCH_EVAL_TICKETS", "1000"))
COMPANIES, QUARTERS = 500, 8
POSTGRES = os.environ.get("REDPROP_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def _events():
    from redprop.contracts import ticketing as t

    actor = t.Actor(kind="system", id="ticketing")
    t0 = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
    out = []
    for n in range(TICKETS):
        sub = t0 + timedelta(minutes=n)
        handler = t.Handler(kind="property_company", id=f"CO{n % 50:03d}", name=f"物业{n % 50}")
        base = dict(ticket_id=f"T{n:07d}", category="leak", sla_class="utilities", level="grid", handler=handler,
                    property_company_id=handler.id, complex_id=f"X{n % 200:04d}", submitted_at=sub,
                    response_due_at=sub + timedelta(hours=2), resolution_due_at=sub + timedelta(hours=24))
        responded = dict(responded_at=sub + timedelta(minutes=30), responded_on_time=True)
        resolved = dict(resolved_at=sub + timedelta(hours=3), resolved_on_time=True, **responded)
        def f(base=base, **kw):
            return t.TicketFacts(**{**base, **kw})

        out += [t.TicketCreated(district=DISTRICT, occurred_at=sub, actor=actor, ticket=f(status="dispatched")),
                t.TicketAccepted(district=DISTRICT, occurred_at=sub + timedelta(minutes=30), actor=actor,
                                 ticket=f(status="in_progress", **responded)),
                t.TicketResolved(district=DISTRICT, occurred_at=sub + timedelta(hours=3), actor=actor, cost=0,
                                 funding_source="company", ticket=f(status="resolved", **resolved)),
                t.TicketRated(district=DISTRICT, occurred_at=sub + timedelta(hours=4), actor=actor,
                              ticket=f(status="closed", rating=4 + n % 2, **resolved)),
                t.TicketClosed(district=DISTRICT, occurred_at=sub + timedelta(hours=4, microseconds=1), actor=actor,
                               ticket=f(status="closed", rating=4 + n % 2, **resolved))]
    return out


#: Events per transaction in the batched rows: what one batch holds when the queue is busy (the prefetch,
#: ``max_workers``, 10 by default).
BATCH = int(os.environ.get("REDPROP_BENCH_EVAL_BATCH", "10"))


def _handler_batch(s: Session, events, handler: str = "evaluation.on_ticket_event") -> None:
    """What ``BatchEventHandler`` runs for one batch, in its order: one inbox look-up, the KPIs, one
    multi-row inbox insert, one COMMIT."""
    from sqlalchemy import insert

    from redprop.messaging.tables import ProcessedEvent
    from redprop.services.evaluation import kpis

    ids = [e.event_id for e in events]
    done = set(s.execute(select(ProcessedEvent.event_id).where(
        ProcessedEvent.handler == handler, ProcessedEvent.event_id.in_(ids))).scalars())
    s.commit()  # the look-up runs on its own session in the handler
    fresh = [e for e in events if e.event_id not in done]
    if not fresh:
        return  # every message is acknowledged; nothing is written
    kpis.ingest_many(s, DISTRICT, fresh)
    now = datetime.now(UTC)
    s.execute(insert(ProcessedEvent.__table__), [{"handler": handler, "event_id": e.event_id, "processed_at": now}
                                                 for e in fresh])
    s.commit()


def _batches(items, size: int):
    return [items[k:k + size] for k in range(0, len(items), size)]


def bench_ingest(url: str) -> dict:
    from redprop.messaging.tables import MessagingBase
    from redprop.services.evaluation import kpis
    from redprop.services.evaluation import models as m

    engine = create_engine(url)
    m.metadata.create_all(engine)
    MessagingBase.metadata.create_all(engine)
    plain = Table("plain_events", MetaData(), Column("id", Integer, primary_key=True, autoincrement=True),
                  Column("event_id", String(64)), Column("body", JSON))
    plain.metadata.create_all(engine)
    events = _events()
    bodies = [{"event_id": e.event_id, "body": e.model_dump(mode="json")} for e in events]
    out = {"events": len(events)}

    def timed(name, fn):
        started = time.perf_counter()
        fn()
        out[name] = time.perf_counter() - started

    with Session(engine) as s:
        def plain_each():
            for row in bodies:
                s.execute(plain.insert(), row)
                s.commit()

        def plain_batched():
            for rows in _batches(bodies, BATCH):
                s.execute(plain.insert(), rows)
                s.commit()

        timed("baseline_s", plain_each)
        timed("baseline_batched_s", plain_batched)
        # Tickets 0..N/2 one event per transaction, the rest in batches: both start from empty rows.
        half = len(events) // 2
        timed("single_s", lambda: [_handler_batch(s, [e]) for e in events[:half]])
        timed("service_s", lambda: [_handler_batch(s, b) for b in _batches(events[half:], BATCH)])
        out["single_s"] *= len(events) / half
        out["service_s"] *= len(events) / (len(events) - half)
        replay = [e.model_copy(update={"event_id": "r-" + e.event_id}) for e in reversed(events)]
        timed("replay_s", lambda: [_handler_batch(s, b) for b in _batches(replay, BATCH)])
        timed("redelivered_s", lambda: [_handler_batch(s, b) for b in _batches(events, BATCH)])
        recount = kpis.recount(s, DISTRICT, "company")
        incremental = {(k[0], k[1]): v[0] for k, v in kpis.totals(s, DISTRICT, "company", None, None).items()}
        assert recount == incremental and sum(v.tickets for v in recount.values()) == TICKETS
        seen = s.execute(select(func.sum(m.kpi_tickets.c.events_seen))).scalar_one()
        assert seen == 2 * len(events), seen  # each event once, each replayed one once; redeliveries none
    engine.dispose()
    return out


def bench_league(url: str) -> dict:
    from redprop.services.evaluation import league, periods
    from redprop.services.evaluation import models as m
    from redprop.services.evaluation.counts import COUNTERS
    from redprop.services.evaluation.rubrics import RedPropertyRubric

    engine = create_engine(url)
    m.metadata.create_all(engine)
    quarters = periods.last_n("2026Q4", QUARTERS)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    totals, cards, versions, names = [], [], [], []
    for k in range(COMPANIES):
        company = f"PC{k:04d}"
        names.append({"district": DISTRICT, "id": company, "kind": "company", "name": f"物业公司{k}"})
        for q, period in enumerate(quarters):
            tickets = 20 + (k * 7 + q * 3) % 40
            counts = dict(zip(COUNTERS, (tickets, tickets - 1, tickets - 2 - k % 5, tickets - 3, tickets - 4 - q % 3,
                                         tickets // 2, tickets // 2 - k % 4, (tickets // 2) * 4, k % 3), strict=True))
            totals.append({"district": DISTRICT, "scope": "company", "scope_id": company, "period": period,
                           "last_event_at": now, **counts})
            card = f"sc-{k}-{q}"
            cards.append({"district": DISTRICT, "id": card, "complex_id": f"X{k}", "company_id": company,
                          "committee_id": f"OC{k}", "period": period, "members": 5, "current_version": 1,
                          "effective_version": 1, "created_at": now})
            versions.append({"district": DISTRICT, "scorecard_id": card, "version": 1, "total": "0",
                             "submitted_by": "P1", "submitted_at": now, "scores": {
                                 "daily_cleaning_greening": str(5 + (k + q) % 6),
                                 "daily_security_facilities": str(6 + (k * q) % 5),
                                 "social_residents_trust": str(4 + (k + 2 * q) % 5)}})
    with engine.begin() as conn:
        conn.execute(m.kpi_totals.insert(), totals)
        conn.execute(m.scorecards.insert(), cards)
        conn.execute(m.scorecard_versions.insert(), versions)
        conn.execute(m.names.insert(), names)
    runs, reads = [], []
    with Session(engine) as s:
        for _ in range(3):
            started = time.perf_counter()
            table = league.table(s, DISTRICT, RedPropertyRubric(), quarters, {}, limit=COMPANIES)
            runs.append(time.perf_counter() - started)
            started = time.perf_counter()
            s.execute(select(m.kpi_totals)).all()
            s.execute(select(m.scorecards, m.scorecard_versions.c.scores).join(
                m.scorecard_versions, m.scorecard_versions.c.scorecard_id == m.scorecards.c.id)).all()
            reads.append(time.perf_counter() - started)
    assert len(table.rows) == COMPANIES and table.rows[0].rank == 1
    engine.dispose()
    return {"league_s": statistics.median(runs), "read_s": statistics.median(reads), "top": table.rows[0]}

# -- recomputing the ratings from stored ticket state ------------------------------------------------------

RATED_COMPANIES = 4000
COMPLEXES = 12000  # three complexes per company; complex k is served by company k mod 4000
YEAR_QUARTERS = ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
#: Events per ticket in the generated lifecycles: 3..7, 5 on average (created ... closed, some reopened).
EVENTS_PER_TICKET = 5
TARGET_EVENTS = int(os.environ.get("REDPROP_BENCH_EVAL_EVENTS", "10000000"))
PROBE_EVENTS = 1_000_000
#: Above this predicted time for the full size, measure 2.5M events instead (and say so).
BUDGET_S = 90.0
ASSESSED = {"org_party_branch": "9", "org_party_activity": "8", "team_staffing": "7", "team_grid_cooperation": "7",
            "daily_transparency": "4", "social_reputation": "5"}

# One row per ticket, as kpis.ingest leaves it: the latest facts and the ticket's contribution. The facts
# vary with g so every counter and rate is exercised; 1 in 50 tickets is cancelled (counts nowhere).
_GENERATE = """
INSERT INTO kpi_tickets (district, ticket_id, period, complex_id, company_id, company_reopens, company_at,
    version_reopens, version_at, status, rating, tickets, responded, responded_on_time, resolved,
    resolved_on_time, rated, satisfied, rating_sum, reopened, events_seen, last_event_at)
SELECT :district, 'T' || lpad(g::text, 9, '0'), (ARRAY['2026Q1','2026Q2','2026Q3','2026Q4'])[1 + g % 4],
    'X' || (g % :complexes), 'PC' || lpad(((g % :complexes) % :companies)::text, 4, '0'),
    (g % 25 = 0)::int, ts, (g % 25 = 0)::int, ts,
    CASE WHEN g % 50 = 0 THEN 'cancelled' WHEN rated THEN 'closed' WHEN resolved THEN 'resolved'
         ELSE 'in_progress' END,
    CASE WHEN rated AND g % 50 <> 0 THEN rating END,
    (g % 50 <> 0)::int, (g % 50 <> 0)::int, (g % 50 <> 0 AND g % 7 <> 0)::int,
    (g % 50 <> 0 AND resolved)::int, (g % 50 <> 0 AND resolved AND g % 11 <> 0)::int,
    (g % 50 <> 0 AND rated)::int, (g % 50 <> 0 AND rated AND rating >= 4)::int,
    CASE WHEN g % 50 <> 0 AND rated THEN rating ELSE 0 END, (g % 50 <> 0 AND g % 25 = 0)::int,
    3 + g % 5, ts
FROM (SELECT g, g % 10 <> 3 AS resolved, g % 10 <> 3 AND g % 3 <> 0 AS rated, 1 + (g * 7) % 5 AS rating,
             timestamptz '2026-01-01 00:00+08' + (g % 360) * interval '1 day' AS ts
      FROM generate_series(1, :tickets) AS g) AS facts
"""
_CARDS = """
INSERT INTO scorecards (district, id, complex_id, company_id, committee_id, period, members, current_version,
    effective_version, created_at)
SELECT :district, 'sc-' || k || '-' || q, 'X' || k, 'PC' || lpad((k % :companies)::text, 4, '0'), 'OC' || k,
       '2026Q' || q, 5, 1, 1, now()
FROM generate_series(0, :companies - 1) AS k, generate_series(1, 4) AS q;
INSERT INTO scorecard_versions (district, scorecard_id, version, scores, total, submitted_by, submitted_at)
SELECT :district, 'sc-' || k || '-' || q, 1,
       json_build_object('daily_cleaning_greening', (5 + (k + q) % 6)::text,
                         'daily_security_facilities', (6 + (k * q) % 5)::text,
                         'social_residents_trust', (4 + (k + 2 * q) % 5)::text), '0', 'P1', now()
FROM generate_series(0, :companies - 1) AS k, generate_series(1, 4) AS q;
"""
_GROUP_BY = """
SELECT company_id, period, sum(tickets), sum(responded), sum(responded_on_time), sum(resolved),
       sum(resolved_on_time), sum(rated), sum(satisfied), sum(rating_sum), sum(reopened)
FROM kpi_tickets WHERE district = :district AND company_id IS NOT NULL GROUP BY company_id, period
"""


def _generate(url: str, tickets: int) -> dict:
    from sqlalchemy import text

    from redprop.services.evaluation import models as m

    engine = create_engine(url)
    m.metadata.create_all(engine)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text(_GENERATE), {"district": DISTRICT, "tickets": tickets, "complexes": COMPLEXES,
                                       "companies": RATED_COMPANIES})
        for statement in _CARDS.split(";"):
            if statement.strip():
                conn.execute(text(statement), {"district": DISTRICT, "companies": RATED_COMPANIES})
    generate_s = time.perf_counter() - started
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE kpi_tickets"))
        events = conn.execute(text("SELECT sum(events_seen) FROM kpi_tickets")).scalar_one()
        size = conn.execute(text("SELECT pg_total_relation_size('kpi_tickets')")).scalar_one()
    engine.dispose()
    return {"generate_s": generate_s, "events": int(events), "table_mb": size / 1e6}


def _in_child(function: str, url: str) -> dict:
    """Run ``function(url)`` in a fresh interpreter: its peak RSS is its own, not this process's."""
    import json
    import subprocess
    from pathlib import Path

    code = (f"import json; from bench.evaluation_bench import {function} as f; "
            f"print('RESULT' + json.dumps(f({url!r})))")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent,
                          capture_output=True, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT"))
    return json.loads(line[len("RESULT"):])


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def child_recompute(url: str) -> dict:
    """The service's own recomputation: ``kpis.recount`` rebuilds every company's totals from the ticket
    rows, then each company is scored for the year with the rubric (scorecards, KPIs, a fixed assessment)."""
    from decimal import Decimal

    from redprop.services.evaluation import kpis, scorecards
    from redprop.services.evaluation.counts import KpiCounts
    from redprop.services.evaluation.rubrics import RedPropertyRubric
    from redprop.services.evaluation.scoring import Evidence, score

    engine = create_engine(url)
    rubric, assessed = RedPropertyRubric(), {k: Decimal(v) for k, v in ASSESSED.items()}
    with Session(engine) as s:
        s.execute(select(1)).all()  # connected before the clock starts, as in the baseline
        idle = _rss_mb()
        started = time.perf_counter()
        totals = kpis.recount(s, DISTRICT, "company")
        recount_s = time.perf_counter() - started
        cards = scorecards.evidence(s, DISTRICT, None, YEAR_QUARTERS)
        stars: dict[str, int] = {}
        for company in sorted({cid for cid, _ in totals}):
            rows, year = [], KpiCounts()
            for period in YEAR_QUARTERS:
                counts = totals.get((company, period), KpiCounts())
                year = year + counts
                rows.append(kpis.kpi_row("company", company, period, counts))
            evidence = Evidence(periods=YEAR_QUARTERS, kpi=year, kpi_rows=rows,
                                scorecards=[c for p in YEAR_QUARTERS for c in cards.get((company, p), [])])
            explanation = score(rubric, evidence, assessed, assessor="bench")
            stars[str(explanation.stars)] = stars.get(str(explanation.stars), 0) + 1
        total_s = time.perf_counter() - started
    engine.dispose()
    check = {f"{cid}|{p}": list(v.as_dict().values()) for (cid, p), v in sorted(totals.items())}
    return {"recount_s": recount_s, "total_s": total_s, "idle_mb": idle, "peak_mb": _rss_mb(),
            "companies": sum(stars.values()), "stars": stars, "check": check}


def child_group_by(url: str) -> dict:
    """Baseline: the same sums by one plain SQL GROUP BY, fetched into Python."""
    from sqlalchemy import text

    engine = create_engine(url)
    with Session(engine) as s:
        s.execute(select(1)).all()
        idle = _rss_mb()
        started = time.perf_counter()
        rows = s.execute(text(_GROUP_BY), {"district": DISTRICT}).all()
        total_s = time.perf_counter() - started
    engine.dispose()
    check = {f"{r[0]}|{r[1]}": [int(x) for x in r[2:]] for r in sorted(rows, key=lambda r: (r[0], r[1]))}
    return {"total_s": total_s, "idle_mb": idle, "peak_mb": _rss_mb(), "check": check}


def bench_recompute_at(events: int) -> dict:
    from redprop.testing.databases import temporary_postgres_database

    tickets = events // EVENTS_PER_TICKET
    with temporary_postgres_database(POSTGRES, prefix="redprop_bench_eval") as url:
        out = _generate(url, tickets)
        service = _in_child("child_recompute", url)
        baseline = _in_child("child_group_by", url)
    assert service.pop("check") == baseline.pop("check"), "recount and GROUP BY disagree"
    assert service["companies"] == RATED_COMPANIES
    return {**out, "tickets": tickets, "service": service, "baseline": baseline}


def bench_recompute() -> tuple[list[dict], str]:
    """Measure at 1M events; go to the full size only if it is predicted to fit the budget."""
    probe = bench_recompute_at(PROBE_EVENTS)
    per_event = (probe["generate_s"] + probe["service"]["total_s"] + probe["baseline"]["total_s"]) / probe["events"]
    predicted = per_event * TARGET_EVENTS
    if TARGET_EVENTS <= PROBE_EVENTS:
        return [probe], ""
    if predicted <= BUDGET_S:
        return [probe, bench_recompute_at(TARGET_EVENTS)], ""
    note = (f"{TARGET_EVENTS:,} events were predicted to take {predicted:.0f} s (linear from the 1M run), over "
            f"the {BUDGET_S:.0f} s budget, so the second size is 2,500,000 events.")
    return [probe, bench_recompute_at(2_500_000)], note


def recompute_section(results: list[dict], note: str) -> list[str]:
    lines = [
        f"**Recomputing the ratings of {RATED_COMPANIES:,} companies from ticket events.** The service keeps "
        f"one state row per ticket (`kpi_tickets`, what `kpis.ingest` leaves); the rows are generated in "
        f"PostgreSQL with `INSERT ... SELECT generate_series` ({EVENTS_PER_TICKET} events per ticket on average, "
        f"`sum(events_seen)` = the events; {len(YEAR_QUARTERS)} quarters, {COMPLEXES:,} complexes, one signed "
        "scorecard per company and quarter). Timed in a fresh process each: the service's path, "
        "`kpis.recount` (the database sums the ticket rows per company and quarter) and then the year's "
        "`scoring.score` of every company with the red_property rubric; the baseline is one plain SQL "
        "`GROUP BY` over the same rows, fetched. Both give the same sums (checked). Peak memory is the "
        "process's `ru_maxrss` (idle: after imports and connecting).",
        "",
        "| events (tickets) | generate | service: recount | service: recount + 4,000 ratings | "
        "baseline GROUP BY | ratio | peak RSS service (idle) | peak RSS baseline (idle) | table size |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s, b = r["service"], r["baseline"]
        lines.append(
            f"| {r['events']:,} ({r['tickets']:,}) | {r['generate_s']:.1f} s | {s['recount_s']:.1f} s | "
            f"{s['total_s']:.1f} s | {b['total_s']:.2f} s | {s['total_s'] / b['total_s']:.1f}x | "
            f"{s['peak_mb']:,.0f} MB ({s['idle_mb']:.0f}) | {b['peak_mb']:,.0f} MB ({b['idle_mb']:.0f}) | "
            f"{r['table_mb']:,.0f} MB |")
    if len(results) > 1:
        a, z = results[0], results[-1]
        k = z["events"] / a["events"]
        above = [r["service"]["peak_mb"] - r["service"]["idle_mb"] for r in (a, z)]
        lines += ["", f"Scaling x{k:g} in events: service time x{z['service']['total_s'] / a['service']['total_s']:.1f}, "
                      f"baseline x{z['baseline']['total_s'] / a['baseline']['total_s']:.1f}, service peak memory above "
                      f"idle {above[0]:.0f} MB -> {above[1]:.0f} MB."]
    lines += ["", "`kpis.recount` leaves the sums to the database (one GROUP BY), so the ticket rows never enter "
                  "the process and its memory stays flat as the tickets grow; the service's time over the baseline "
                  "is the ratings."]
    stars = results[-1]["service"]["stars"]
    lines += ["", "Stars of the last run: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(stars.items())) + "."]
    if note:
        lines += ["", note]
    lines.append("")
    return lines



def run() -> str:
    from redprop.testing.databases import temporary_postgres_database

    with temporary_postgres_database(POSTGRES, prefix="redprop_bench_eval") as url:
        ingest = bench_ingest(url)
    with temporary_postgres_database(POSTGRES, prefix="redprop_bench_eval") as url:
        lg = bench_league(url)
    recompute, note = bench_recompute()
    n = ingest["events"]
    rate = lambda s: n / s  # noqa: E731
    lines = [
        "## Evaluation: KPI ingestion, the league table, recomputing ratings",
        "",
        f"Single process, PostgreSQL (temporary database), the service's own tables and functions; "
        f"Python {sys.version.split()[0]}.",
        "",
        f"**KPI ingestion**, {n:,} ticket events ({TICKETS:,} tickets x 5 events), the statements the event "
        "handler (`messaging/batches.py`) runs: the inbox look-up, `kpis.ingest_many` (lock the ticket rows, "
        "compare versions, move the totals by deltas), the inbox insert, the COMMIT; the broker is in neither "
        f"row. Batched: {BATCH} events per transaction, what one batch holds when the queue is busy (the "
        "prefetch, `max_workers`); one at a time: a batch of one, what a quiet queue gives. Half the tickets "
        "go each way (times scaled to all events).",
        "",
        "| what | time | events/s | ratio to plain INSERT per event | ratio to plain INSERT batched alike |",
        "|---|---|---|---|---|",
        *[f"| {label} | {ingest[key]:.2f} s | {rate(ingest[key]):,.0f} | {ingest[key] / ingest['baseline_s']:.2f}x | "
          f"{ingest[key] / ingest['baseline_batched_s']:.2f}x |" for label, key in (
              (f"**handler, batches of {BATCH}** (one inbox look-up, a fixed handful of statements, one COMMIT "
               "per batch)", "service_s"),
              ("handler, one event per transaction (a batch of one)", "single_s"),
              (f"the same events replayed newest first with fresh ids, batches of {BATCH} (changes nothing)",
               "replay_s"),
              (f"the same events redelivered (same ids), batches of {BATCH}: the inbox drops them", "redelivered_s"),
              ("baseline: one plain INSERT of the event per transaction", "baseline_s"),
              (f"baseline: plain INSERTs of {BATCH} events per transaction", "baseline_batched_s"))],
        "",
        f"Target (issue 21): the handler at most 2x a plain INSERT per event. Batches of {BATCH}: "
        f"{ingest['service_s'] / ingest['baseline_s']:.2f}x, met: "
        f"{'**yes**' if ingest['service_s'] / ingest['baseline_s'] <= 2 else '**no**'}. Against plain INSERTs "
        f"batched alike it is {ingest['service_s'] / ingest['baseline_batched_s']:.1f}x, and a batch of one (a quiet "
        f"queue) {ingest['single_s'] / ingest['baseline_s']:.1f}x a plain INSERT: a batch costs a fixed handful of "
        "round trips and one COMMIT, the baseline one INSERT and one COMMIT (`bench/profiles/evaluation_ingest.txt`: "
        "three quarters of the time is waiting for PostgreSQL).",
        "",
        f"**League table**, {COMPANIES} companies x {QUARTERS} quarters ({COMPANIES * QUARTERS:,} company-quarters, "
        "each with KPI totals and a signed scorecard), red_property rubric, ranked with the trend; median of 3.",
        "",
        "| what | time | ratio to baseline |",
        "|---|---|---|",
        f"| `league.table` (read, score every company-quarter exactly, rank, trend, movers) | "
        f"{lg['league_s'] * 1000:.0f} ms | {lg['league_s'] / lg['read_s']:.1f}x |",
        f"| baseline: reading the same KPI and scorecard rows | {lg['read_s'] * 1000:.0f} ms | 1.0x |",
        "",
        *recompute_section(recompute, note),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
