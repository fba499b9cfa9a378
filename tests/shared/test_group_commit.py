"""Group commit: jobs that arrive together share a transaction, and one bad job costs only itself.

The writer runs against real SQLite and PostgreSQL; jobs are queued from green threads, as workers do.
"""

from __future__ import annotations

from types import SimpleNamespace

import eventlet
import pytest
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from redprop.db import Database, new_metadata
from redprop.messaging.group_commit import GroupCommit, Write

pytestmark = pytest.mark.integration


class GroupBase(DeclarativeBase):
    metadata = new_metadata()


class Parent(GroupBase):
    __tablename__ = "parents"
    id: Mapped[str] = mapped_column(String(20), primary_key=True)


class Child(GroupBase):
    __tablename__ = "children"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    parent_id: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(40))


class GroupContainer(SimpleNamespace):
    def spawn_managed_thread(self, fn, identifier=None):
        return eventlet.spawn(fn)


@pytest.fixture
def group(make_settings, backend):
    settings = make_settings(["probe"], backend)
    container = GroupContainer(config=settings.nameko_config("probe"), service_name="probe", max_workers=4,
                               subextensions=[])
    db = Database(GroupBase.metadata, migrations="unused").bind(container, "db")
    container.dependencies = [db]
    db.setup()
    GroupBase.metadata.create_all(db.engine)
    provider = GroupCommit().bind(container, "group")
    provider.setup()
    yield provider, db
    provider.stop()
    db.stop()


def family(name: str, fail: Exception | None = None):
    """A job: a parent and two children (parents first), or ``fail`` raised while building."""

    def build(session, batch):
        if fail is not None:
            raise fail
        batch.setdefault("seen", []).append(name)
        return Write([(Parent.__table__, [{"id": name}]),
                      (Child.__table__, [{"parent_id": name, "note": "a"}, {"parent_id": name, "note": "b"}])],
                     result=(name, list(batch["seen"])))
    return build


def _run_all(provider, builds) -> list:
    """Queue every job before the writer looks (as workers arriving together), then collect the outcomes."""
    threads = [eventlet.spawn(provider.run, build) for build in builds]
    eventlet.sleep(0)  # all of them are now waiting in the queue
    provider.start()
    outcomes = []
    for thread in threads:
        try:
            outcomes.append(thread.wait())
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            outcomes.append(exc)
    return outcomes


def _rows(db):
    with db.engine.connect() as conn:
        parents = sorted(conn.execute(select(Parent.id)).scalars())
        children = sorted(conn.execute(select(Child.parent_id, Child.note)).all())
    return parents, children


def test_jobs_that_arrive_together_share_one_transaction(group):
    provider, db = group
    outcomes = _run_all(provider, [family(f"P{i}") for i in range(10)])
    assert provider.batches == 1 and provider.jobs == 10
    # Each job's result, in order; each build saw the jobs before it in the batch.
    assert outcomes == [(f"P{i}", [f"P{j}" for j in range(i + 1)]) for i in range(10)]
    parents, children = _rows(db)
    assert parents == sorted(f"P{i}" for i in range(10))
    assert len(children) == 20


def test_a_job_that_fails_to_build_fails_alone(group):
    provider, db = group
    outcomes = _run_all(provider, [family("P1"), family("P2", fail=ValueError("bad input")), family("P3")])
    assert isinstance(outcomes[1], ValueError)
    assert [o[0] for o in (outcomes[0], outcomes[2])] == ["P1", "P3"]
    assert _rows(db)[0] == ["P1", "P3"]


def test_rows_that_conflict_fail_only_their_job(group):
    provider, db = group
    _run_all(provider, [family("P1")])
    # The second P1 breaks the batch's INSERT; run alone, the others commit and it gets the error.
    outcomes = _run_all(provider, [family("P2"), family("P1"), family("P3")])
    assert outcomes[0][0] == "P2" and outcomes[2][0] == "P3"
    assert "P1" in str(outcomes[1]) or "UNIQUE" in str(outcomes[1]).upper()
    parents, children = _rows(db)
    assert parents == ["P1", "P2", "P3"]
    assert len(children) == 6  # nothing of the failed job's rows: not even its children


def test_jobs_queued_while_a_batch_commits_go_in_the_next(group):
    provider, db = group
    provider.start()
    first = [eventlet.spawn(provider.run, family(f"A{i}")) for i in range(3)]
    [t.wait() for t in first]
    later = [eventlet.spawn(provider.run, family(f"B{i}")) for i in range(3)]
    assert [t.wait()[0] for t in later] == ["B0", "B1", "B2"]
    assert provider.jobs == 6 and 2 <= provider.batches <= 6
    assert len(_rows(db)[0]) == 6


def test_the_writer_goes_on_after_a_batch_that_fails_entirely(group):
    provider, db = group

    def broken(session, batch):
        return Write([(Child.__table__, [{"parent_id": "X", "note": None}])], result="never")  # NOT NULL

    outcomes = _run_all(provider, [broken, broken, broken])
    assert all(isinstance(o, Exception) for o in outcomes)
    assert provider.run(family("P9"))[0] == "P9"  # the next job is written as usual
    assert _rows(db) == (["P9"], [("P9", "a"), ("P9", "b")])
