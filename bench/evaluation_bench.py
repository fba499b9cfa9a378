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
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, create_engine, select
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


def bench_ingest(url: str) -> dict:
    from redprop.services.evaluation import kpis
    from redprop.services.evaluation import models as m

    engine = create_engine(url)
    m.metadata.create_all(engine)
    plain = Table("plain_events", MetaData(), Column("id", Integer, primary_key=True, autoincrement=True),
                  Column("event_id", String(64)), Column("body", JSON))
    plain.metadata.create_all(engine)
    events = _events()
    bodies = [e.model_dump(mode="json") for e in events]
    with Session(engine) as s:
        started = time.perf_counter()
        for e, body in zip(events, bodies, strict=True):
            s.execute(plain.insert().values(event_id=e.event_id, body=body))
            s.commit()
        baseline = time.perf_counter() - started
        started = time.perf_counter()
        for e in events:
            kpis.ingest(s, DISTRICT, e)
            s.commit()
        service = time.perf_counter() - started
        replay = [e.model_copy(update={"event_id": "r-" + e.event_id}) for e in reversed(events)]
        started = time.perf_counter()
        for e in replay:
            kpis.ingest(s, DISTRICT, e)
            s.commit()
        replayed = time.perf_counter() - started
        recount = kpis.recount(s, DISTRICT, "company")
        incremental = {(k[0], k[1]): v[0] for k, v in kpis.totals(s, DISTRICT, "company", None, None).items()}
        assert recount == incremental and sum(v.tickets for v in recount.values()) == TICKETS
    engine.dispose()
    return {"events": len(events), "baseline_s": baseline, "service_s": service, "replay_s": replayed}


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


def run() -> str:
    from redprop.testing.databases import temporary_postgres_database

    with temporary_postgres_database(POSTGRES, prefix="redprop_bench_eval") as url:
        ingest = bench_ingest(url)
    with temporary_postgres_database(POSTGRES, prefix="redprop_bench_eval") as url:
        lg = bench_league(url)
    n = ingest["events"]
    rate = lambda s: n / s  # noqa: E731
    lines = [
        "## Evaluation: KPI ingestion and the league table",
        "",
        f"Single process, PostgreSQL (temporary database), the service's own tables and functions; "
        f"Python {sys.version.split()[0]}.",
        "",
        f"**KPI ingestion**, {n:,} ticket events ({TICKETS:,} tickets x 5 events), one transaction per event as "
        "the event handler commits (the inbox check and the broker are not included in either row).",
        "",
        "| what | time | events/s | ratio to baseline |",
        "|---|---|---|---|",
        f"| `kpis.ingest` (lock the ticket row, compare versions, move the totals by deltas) | "
        f"{ingest['service_s']:.2f} s | {rate(ingest['service_s']):,.0f} | "
        f"{ingest['service_s'] / ingest['baseline_s']:.2f}x |",
        f"| the same events replayed newest first with fresh ids (changes nothing) | {ingest['replay_s']:.2f} s | "
        f"{rate(ingest['replay_s']):,.0f} | {ingest['replay_s'] / ingest['baseline_s']:.2f}x |",
        f"| baseline: one plain INSERT of the event per transaction | {ingest['baseline_s']:.2f} s | "
        f"{rate(ingest['baseline_s']):,.0f} | 1.00x |",
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
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
