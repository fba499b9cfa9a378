"""Projects benchmark: 1,000 concurrent draws on one fund, beside a plain conditional UPDATE.

``run()`` returns a Markdown section; ``python -m bench.projects_bench`` prints it. Against a temporary
PostgreSQL database built with the service's own tables, 1,000 draws of 100 yuan each are started at once on
32 threads (each its own connection and transaction) on a fund holding 600 draws' worth: ``funds.draw``
(the service's conditional UPDATE, its ledger movement, the refusal with the balance) is timed beside a
baseline of the plain ``UPDATE funds SET balance = balance - x WHERE balance >= x`` on a one-row table,
on the same threads in the same run. Both must end with exactly 600 paid, 400 refused, balance 0 and never
below it. ``REDPROP_BENCH_PROJ_DRAWS`` changes the number of draws.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from types import SimpleNamespace

from sqlalchemy import BigInteger, Column, MetaData, String, Table, create_engine, select, text
from sqlalchemy.orm import Session

DISTRICT = "990001"
DRAWS = int(os.environ.get("REDPROP_BENCH_PROJ_DRAWS", "1000"))
PAYABLE = DRAWS * 3 // 5
AMOUNT = 10_000  # fen: 100 yuan
THREADS = 32
POSTGRES = os.environ.get("REDPROP_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def _service(engine) -> tuple[float, int, int, int]:
    from redprop.errors import Conflict
    from redprop.services.projects import funds
    from redprop.services.projects import models as m

    now = datetime.now(UTC)
    with Session(engine) as s:
        s.execute(m.funds.insert().values(district=DISTRICT, id="F1", kind="emergency_repair", name="应急维修资金",
                                          scope_id="X1", complex_id="X1", balance=0, allocated=0, drawn=0, held=0,
                                          created_at=now))
        funds.allocate(s, DISTRICT, "F1", 2026, PAYABLE * AMOUNT, "bench", "DO1", now)
        s.commit()
    fund = SimpleNamespace(id="F1")

    def one(n: int) -> bool:
        with Session(engine) as s:
            try:
                funds.draw(s, DISTRICT, fund, AMOUNT, held=False, serves=None, purpose=f"repair {n}", actor="CW1",
                           year=2026, now=datetime.now(UTC))
                s.commit()
                return True
            except Conflict:
                s.rollback()
                return False

    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        paid = sum(pool.map(one, range(DRAWS)))
    elapsed = time.perf_counter() - started
    with Session(engine) as s:
        balance = s.execute(select(m.funds.c.balance).where(m.funds.c.id == "F1")).scalar_one()
        lowest = s.execute(select(m.movements.c.balance_after).where(m.movements.c.fund_id == "F1")
                           .order_by(m.movements.c.balance_after).limit(1)).scalar_one()
    return elapsed, paid, balance, lowest


def _plain(engine) -> tuple[float, int, int]:
    table = Table("plain_funds", MetaData(), Column("id", String(8), primary_key=True),
                  Column("balance", BigInteger, nullable=False))
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert().values(id="F1", balance=PAYABLE * AMOUNT))
    sql = text("UPDATE plain_funds SET balance = balance - :x WHERE id = 'F1' AND balance >= :x")

    def one(_n: int) -> bool:
        with engine.begin() as conn:
            return conn.execute(sql, {"x": AMOUNT}).rowcount == 1

    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        paid = sum(pool.map(one, range(DRAWS)))
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        balance = conn.execute(select(table.c.balance)).scalar_one()
    return elapsed, paid, balance


def run() -> str:
    from redprop.services.projects import models as m
    from redprop.testing.databases import temporary_postgres_database

    with temporary_postgres_database(POSTGRES, prefix="redprop_bench_proj") as url:
        engine = create_engine(url, pool_size=THREADS, max_overflow=0)
        m.metadata.create_all(engine)
        base_s, base_paid, base_balance = _plain(engine)
        service_s, paid, balance, lowest = _service(engine)
        engine.dispose()
    assert (paid, balance) == (PAYABLE, 0) and lowest >= 0, (paid, balance, lowest)
    assert (base_paid, base_balance) == (PAYABLE, 0), (base_paid, base_balance)
    return "\n".join([
        "## Projects: concurrent draws on one fund",
        "",
        f"PostgreSQL (temporary database), the service's own tables and `funds.draw`; {DRAWS:,} draws of "
        f"{AMOUNT // 100} yuan started at once on {THREADS} threads (one connection and transaction each) on a "
        f"fund holding {PAYABLE:,} draws' worth; Python {sys.version.split()[0]}.",
        "",
        "| what | time | draws/s | ratio to baseline | paid / refused | balance after (lowest seen) |",
        "|---|---|---|---|---|---|",
        f"| `funds.draw` (conditional UPDATE, ledger movement, refusal naming the balance) | {service_s:.2f} s | "
        f"{DRAWS / service_s:,.0f} | {service_s / base_s:.2f}x | {paid} / {DRAWS - paid} | {balance} ({lowest}) |",
        f"| baseline: `UPDATE funds SET balance = balance - x WHERE balance >= x` | {base_s:.2f} s | "
        f"{DRAWS / base_s:,.0f} | 1.00x | {base_paid} / {DRAWS - base_paid} | {base_balance} |",
        "",
        "No overdraft: both end at exactly 0 with every draw beyond the balance refused.",
    ])


if __name__ == "__main__":
    print(run())
