"""A burst of intake: submits that arrive together are written together (group commit), and stay right.

Real broker and PostgreSQL: the submits are sent at once, so the service's workers hand them to its
writer together.
"""

from __future__ import annotations

import urllib.request

import pytest

from redprop.contracts.ticketing import TicketReply
from redprop.messaging.group_commit import GroupCommit
from redprop.services.ticketing import duplicates
from tests.ticketing.conftest import get_ticket, list_tickets, rid, start_ticketing

BURST = 12


@pytest.fixture
def pg_suite(run_suite, small_district):
    return start_ticketing(run_suite, small_district, backend="postgresql")


def _burst(suite, bodies: list[dict]) -> list:
    pending = [suite.rpc.call_async("ticketing", "submit", body) for body in bodies]
    outcomes = []
    for p in pending:
        try:
            outcomes.append(p.result(30))
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            outcomes.append(exc)
    return outcomes


def _body(i: int, **fields) -> dict:
    return {"resident_id": "P2" if i % 2 else "P3", "category": "lift", "building_id": "B1" if i % 3 else "B2",
            "description": f"{i}号电梯门关不上，按钮失灵", "request_id": rid("burst"), **fields}


def _group(suite) -> GroupCommit:
    return next(d for d in suite.container("ticketing").dependencies if isinstance(d, GroupCommit))


def test_a_burst_goes_through_the_shared_writer_and_every_ticket_is_whole(pg_suite):
    replies = _burst(pg_suite, [_body(i) for i in range(BURST)])
    assert all(isinstance(r, TicketReply) for r in replies), replies
    assert _group(pg_suite).jobs == BURST  # all went through the shared writer (grouping: test_group_commit)
    port = pg_suite.settings.metrics_port("ticketing")
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert f'redprop_group_commit_batch_size_sum{{service="ticketing"}} {float(BURST)}' in metrics
    ids = {r.ticket.id for r in replies}
    assert len(ids) == BURST
    for reply in replies:  # each as if it had been alone: stored, dispatched, its history written
        stored = get_ticket(pg_suite, reply.ticket.id)
        assert stored.status == "dispatched" and [h.action for h in stored.history] == ["submitted", "dispatched"]
        assert stored == reply.ticket


def test_the_same_request_twice_in_one_burst_makes_one_ticket(pg_suite):
    twice = _body(1)
    replies = _burst(pg_suite, [_body(0), twice, dict(twice), _body(2)])
    assert all(isinstance(r, TicketReply) for r in replies), replies
    assert replies[1] == replies[2]  # the second delivery got the first one's stored reply
    assert len({r.ticket.id for r in replies}) == 3
    assert list_tickets(pg_suite, limit=100).total == 3


def test_similar_tickets_in_one_burst_point_at_the_first(pg_suite):
    same = "3号楼电梯门关不上，按钮失灵"
    replies = _burst(pg_suite, [_body(i, building_id="B1", description=same) for i in range(6)])
    originals = [r for r in replies if r.possible_duplicate_of is None]
    assert len(originals) == 1  # whether they shared a transaction or not
    assert all(r.possible_duplicate_of in {x.ticket.id for x in replies} for r in replies if r is not originals[0])


def test_one_bad_ticket_in_a_burst_fails_alone(pg_suite, monkeypatch):
    real = duplicates.likely_original

    def fails_on_one(session, **kw):
        if "坏" in kw["description"]:
            raise RuntimeError("the duplicate check broke on this one")
        return real(session, **kw)

    monkeypatch.setattr("redprop.services.ticketing.service.likely_original", fails_on_one)
    bodies = [_body(i) for i in range(5)]
    bodies[2]["description"] = "坏的请求"
    replies = _burst(pg_suite, bodies)
    assert [isinstance(r, TicketReply) for r in replies] == [True, True, False, True, True]
    assert list_tickets(pg_suite, limit=100).total == 4
