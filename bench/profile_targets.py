"""Workloads to profile with py-spy (``bench/profiles/``): ``python -m bench.profile_targets ingest|league|tally|matching``.

Each runs one benchmark's service path on its own (the same data as its section), so a profile of the
process is a profile of that path; ``bench.profiling`` turns py-spy's raw output into a top-N table:

    py-spy record --idle -r 250 -f raw -o /tmp/ingest.txt -- python -m bench.profile_targets ingest
    python -m bench.profiling /tmp/ingest.txt --root _handler_batch > bench/profiles/evaluation_ingest.txt
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def ingest() -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from bench import evaluation_bench as b
    from redprop.messaging.tables import MessagingBase
    from redprop.services.evaluation import models as m
    from redprop.testing.databases import temporary_postgres_database

    events = b._events()
    with temporary_postgres_database(b.POSTGRES, prefix="redprop_bench_eval") as url:
        engine = create_engine(url)
        m.metadata.create_all(engine)
        MessagingBase.metadata.create_all(engine)
        with Session(engine) as s:
            for batch in b._batches(events, b.BATCH):
                b._handler_batch(s, batch)
        engine.dispose()


def league() -> None:
    from bench import evaluation_bench as b
    from redprop.testing.databases import temporary_postgres_database

    with temporary_postgres_database(b.POSTGRES, prefix="redprop_bench_eval") as url:
        b.bench_league(url)


def tally() -> None:
    from bench import mediation_bench as b

    with tempfile.TemporaryDirectory(prefix="redprop-profile-") as tmp:
        b.bench_tally(Path(tmp))


def matching() -> None:
    """The matching section's whole measurement: the instance, candidate generation and the solvers
    (profile it with ``--root generate`` for candidate generation, ``--root solve`` for the assignment)."""
    from bench import matching_bench as b

    b.measure()


if __name__ == "__main__":
    {"ingest": ingest, "league": league, "tally": tally, "matching": matching}[sys.argv[1]]()
