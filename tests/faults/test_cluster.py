"""A broker node dies under load and nothing is lost or done twice (issue 20).

Three RabbitMQ nodes of the test's own (``redprop.testing.cluster``; the machine's broker is never
touched), quorum queues, and registry + ticketing + mediation connected to all three addresses. During
2,000 submits and 500 ballots (one per owner of a 500-household complex, cast into one open consultation)
the node leading ticketing's command queue is stopped (and started again), then another node is killed
with kill -9 (and started again). What must hold: every submit answered with one ticket, a retry of it
gets the same ticket, ticketing holds exactly 2,000 tickets, each ``ticketing.created`` event arrives;
every ballot answered, a retry of it gets the same ballot, mediation's tally counts exactly 500 ballots
(500 persons, none superseded, the options as cast); and no container died. The longest time without an
answer is measured and printed, for submits and for ballots.

Slow (a cluster boots in about a minute here): marked ``cluster``, run by ``make fault-test``, not by
``make test``.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import eventlet
import pytest
from kombu import Connection, Queue

from redprop.config import Settings
from redprop.contracts.ticketing import TicketCreated
from redprop.errors import RedpropError, Unavailable
from redprop.messaging import wire
from redprop.messaging.client import RpcClient
from redprop.testing.cluster import RabbitCluster
from redprop.testing.pytest_plugin import TEST_DISTRICT, free_port
from redprop.testing.suite import Suite, wait_for
from redprop.testing.tickets import WORKER

pytestmark = [pytest.mark.integration, pytest.mark.cluster, pytest.mark.timeout(420)]

SUBMITS = 2000
CALLERS = 16
BALLOTS = 500
BALLOT_CALLERS = 4
BUILDINGS = 10  # of 50 households each, one owner each: the consultation's 500 voters
OPTIONS = [{"id": "agree", "label": "同意"}, {"id": "disagree", "label": "不同意"}, {"id": "abstain", "label": "弃权"}]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with RabbitCluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


def submit_body(request_id: str) -> dict:
    return {"resident_id": "P2", "category": "leak", "building_id": "B1", "description": "楼道顶棚漏水",
            "request_id": request_id}


def complex_records() -> list[dict]:
    """500 households of complex X1 (in buildings of their own, so a consultation over those buildings has
    exactly these voters), each with a floor area and one owner."""
    records: list[dict] = []
    for b in range(BUILDINGS):
        records.append({"kind": "building", "id": f"VB{b:02d}", "name": f"{b + 2}号楼", "complex_id": "X1",
                        "grid_id": "G1", "lat": 31.0, "lon": 121.0})
    for i in range(BALLOTS):
        records.append({"kind": "person", "id": f"VO{i:04d}", "name": f"业主{i}"})
        records.append({"kind": "household", "id": f"VH{i:04d}", "building_id": f"VB{i % BUILDINGS:02d}",
                        "unit": f"{i // BUILDINGS + 1}-{i:04d}", "area_m2": f"{60 + (i % 7) * 10}.50",
                        "owner_ids": [f"VO{i:04d}"]})
    return records


def ballot_body(consultation_id: str, i: int) -> dict:
    owner = f"VO{i:04d}"
    return {"actor": owner, "consultation_id": consultation_id, "household_id": f"VH{i:04d}", "owner_id": owner,
            "option": OPTIONS[i % 3]["id"], "request_id": f"cluster-ballot-{i:04d}"}


class Caller:
    """A well-behaved client: the same request (same request_id) again until answered, a new
    connection (to whichever node answers) whenever the old one broke."""

    def __init__(self, settings: Settings, answered_at: list[float], rpc_timeout: float = 5):
        self.settings = settings
        self.client: RpcClient | None = None
        self.answered_at = answered_at
        self.rpc_timeout = rpc_timeout

    def call(self, service: str, operation: str, body: dict, timeout: float = 120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.client is None:
                    self.client = RpcClient(self.settings, timeout=self.rpc_timeout)
                reply = self.client.call(service, operation, body)
                self.answered_at.append(time.monotonic())
                return reply
            except Unavailable:
                pass  # not answered in time, or nobody consuming right now
            except RedpropError:
                raise  # an answer the service meant
            except Exception:  # noqa: BLE001 - the connection broke: start again on another node
                self.close()
            eventlet.sleep(0.2)
        raise AssertionError(f"{service}.{operation} not answered within {timeout} s")

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


def test_a_node_stopped_and_another_killed_lose_and_duplicate_nothing(cluster, tmp_path, small_district):
    vhost = f"redprop_cluster_{uuid.uuid4().hex[:8]}"
    cluster.create_vhost(vhost)  # asked again while the fresh cluster answers 500 or not in time
    names = ["registry", "ticketing", "mediation"]
    settings = Settings(
        district=TEST_DISTRICT, amqp_uri=cluster.amqp_uri, data_dir=tmp_path / "data",
        services={n: {"database_url": f"sqlite:///{tmp_path / n}.sqlite3", "metrics_port": free_port(),
                      "max_workers": 8, **({"options": {"sweep_interval": 3600}} if n == "ticketing" else {})}
                  for n in names},
        messaging={"queue_type": "quorum", "retry_delay": 0.2, "outbox_poll_interval": 0.2}).with_vhost(vhost)
    # The test's own view of ticketing's events: a quorum queue too, so it outlives a node.
    watch = Queue(f"test-watch-{uuid.uuid4().hex[:6]}", exchange=wire.event_exchange("ticketing"),
                  routing_key=TicketCreated.event_type, durable=True,
                  queue_arguments={"x-queue-type": "quorum"})
    with Connection(settings.amqp_uri) as conn:
        watch(conn.default_channel).declare()

    suite = Suite(settings, names).start()
    answered_at: list[float] = []  # submits only: the faults are timed by them
    ballot_answered_at: list[float] = []
    try:
        loader = Caller(settings, [], rpc_timeout=60)
        report = loader.call("registry", "upsert", {"actor": "P-DATA", "records": small_district + complex_records(),
                                                    "request_id": "cluster-load"})
        assert report.applied and not report.errors, report.errors
        # A consultation over the 500 households, open for longer than the test runs.
        matter = loader.call("mediation", "open_matter", {
            "actor": "P-CW", "title": "电梯加装 lift retrofit", "topic": "parking", "complex_id": "X1",
            "parties": ["party_branch", "property_company", "self_management_committee", "building_leaders"],
            "request_id": "cluster-matter"}).matter
        consultation = loader.call("mediation", "open_consultation", {
            "actor": "P-CW", "matter_id": matter.id, "art278_item": 5, "question": "同意吗? Agree?",
            "approve_option": "agree", "options": OPTIONS,
            "closes_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(), "complex_id": "X1",
            "building_ids": [f"VB{b:02d}" for b in range(BUILDINGS)], "request_id": "cluster-consultation"}).consultation
        assert consultation.total_owners == BALLOTS
        loader.close()

        faults: list[str] = []
        down: list[tuple[float, float]] = []  # when a node was away, for ballots answered meanwhile
        # Submits (and the ballots paced by them) hold at 1,000 until the second fault is in place: a rejoin
        # can take longer than the rest of the load, and a kill after the load proves nothing.
        submit_limit = [1000]
        hold_began: list[float] = []

        def break_nodes():
            try:
                wait_for(lambda: len(answered_at) >= 300, timeout=120, interval=0.1, message="300 answers")
                leader = cluster.leader_of("rpc-ticketing", vhost)
                faults.append(f"stopped {leader.node} (leader of rpc-ticketing)")
                went = time.monotonic()
                leader.stop()
                wait_for(lambda: len(answered_at) >= 900, timeout=120, interval=0.1, message="answers without it")
                down.append((went, time.monotonic()))
                leader.start()
                wait_for(lambda: len(cluster.running_nodes()) == 3, timeout=90, interval=0.5, message="it rejoined")
                victim = next(n for n in cluster.nodes if n is not leader)
                faults.append(f"killed -9 {victim.node}")
                went = time.monotonic()
                victim.kill()
                submit_limit[0] = SUBMITS
                wait_for(lambda: len(answered_at) >= 1500, timeout=120, interval=0.1, message="answers after the kill")
                down.append((went, time.monotonic()))
                victim.start()
            finally:
                submit_limit[0] = SUBMITS  # a failed fault must not leave the callers waiting

        breaker = eventlet.spawn(break_nodes)
        todo = [f"cluster-{i:05d}" for i in range(SUBMITS)]
        tickets: dict[str, str] = {}

        def work(callers_share: list[str]):
            caller = Caller(settings, answered_at)
            try:
                for request_id in callers_share:
                    if len(answered_at) >= submit_limit[0] and not hold_began:
                        hold_began.append(time.monotonic())
                    wait_for(lambda: len(answered_at) < submit_limit[0], timeout=300, interval=0.1,
                             message="the second fault before the rest of the submits")
                    tickets[request_id] = caller.call("ticketing", "submit", submit_body(request_id)).ticket.id
            finally:
                caller.close()

        ballots: dict[int, str] = {}
        ballot_waits: list[float] = []

        def vote(callers_share: list[int]):
            caller = Caller(settings, ballot_answered_at)
            try:
                for i in callers_share:
                    # Paced by the submits, so ballots are in flight through both faults, not all up front.
                    wait_for(lambda i=i: len(answered_at) >= i * SUBMITS * 0.9 / BALLOTS, timeout=300, interval=0.1,
                             message=f"submits before ballot {i}")
                    sent = time.monotonic()
                    reply = caller.call("mediation", "cast_ballot", ballot_body(consultation.id, i))
                    ballot_waits.append(time.monotonic() - sent)
                    assert reply.supersedes is None  # each owner votes once
                    ballots[i] = reply.ballot.id
            finally:
                caller.close()

        started = time.monotonic()
        workers = [eventlet.spawn(work, todo[i::CALLERS]) for i in range(CALLERS)]
        voters = [eventlet.spawn(vote, list(range(BALLOTS))[i::BALLOT_CALLERS]) for i in range(BALLOT_CALLERS)]
        for gt in workers + voters:
            gt.wait()
        breaker.wait()
        elapsed = time.monotonic() - started

        # Every submit answered, each with its own ticket; a retry gets the same one back.
        assert len(tickets) == SUBMITS
        assert len(set(tickets.values())) == SUBMITS
        check = Caller(settings, [])
        for request_id in todo[::199]:
            assert check.call("ticketing", "submit", submit_body(request_id)).ticket.id == tickets[request_id]
        listing = check.call("ticketing", "list", {"limit": 1, "viewer": WORKER.model_dump()})
        assert listing.total == SUBMITS  # written once each: nothing lost, nothing twice

        # Every ballot answered, each its own; a retry gets the same ballot back, superseding nothing.
        assert len(ballots) == BALLOTS
        assert len(set(ballots.values())) == BALLOTS
        for i in range(0, BALLOTS, 49):
            again = check.call("mediation", "cast_ballot", ballot_body(consultation.id, i))
            assert again.ballot.id == ballots[i] and again.supersedes is None
        # Mediation counted each exactly once: nothing lost, nothing twice, the options as cast.
        result = check.call("mediation", "tally", {"consultation_id": consultation.id}).result
        assert (result.total_owners, result.participating_owners, result.superseded_ballots) == (BALLOTS, BALLOTS, 0)
        assert {o: int(v["persons"]) for o, v in result.options.items()} == {
            o["id"]: sum(1 for i in range(BALLOTS) if i % 3 == n) for n, o in enumerate(OPTIONS)}
        recorded = check.call("mediation", "ballots", {"consultation_id": consultation.id, "limit": 5000})
        assert recorded.total == BALLOTS
        assert sorted(b.id for b in recorded.items) == sorted(ballots.values())
        check.close()

        # Each ticket's created event arrives (at-least-once: duplicates allowed, none missing).
        seen: set[str] = set()

        def drain_events() -> bool:
            with Connection(settings.amqp_uri) as conn:
                bound = watch(conn.default_channel)
                while (message := bound.get(no_ack=True)) is not None:
                    seen.add(json.loads(message.body)["ticket"]["ticket_id"])
            return seen >= set(tickets.values())

        wait_for(drain_events, timeout=60, interval=0.5, message="every ticketing.created event")

        dead = [c.service_name for c in suite.runner.containers if c._died.ready()]
        assert dead == [], f"containers died: {dead}"
        # The hold (from the 1,000th submit until the kill) is the test's own pause, not the suite's.
        held = (hold_began[0], down[1][0]) if hold_began and len(down) == 2 else (0.0, 0.0)

        def without_hold(a: float, b: float) -> float:
            return (b - a) - max(0.0, min(b, held[1]) - max(a, held[0]))

        gaps = [without_hold(a, b) for a, b in zip(answered_at, answered_at[1:], strict=False)]
        ballot_times = sorted(ballot_answered_at)
        ballot_gaps = [without_hold(a, b) for a, b in zip(ballot_times, ballot_times[1:], strict=False)]
        print(f"\n{SUBMITS} submits and {BALLOTS} ballots in {elapsed:.1f} s across: {'; '.join(faults)}; "
              f"longest time without an answer: submits {max(gaps):.1f} s, ballots {max(ballot_gaps):.1f} s "
              f"(longest wait of one ballot for its answer {max(ballot_waits):.1f} s)")
        assert len(faults) == 2
        # Ballots went on while each node was away, not only before or after.
        during = [sum(1 for t in ballot_answered_at if a <= t <= b) for a, b in down]
        print(f"ballots answered while the stopped node was away: {during[0]}, while the killed one was: {during[1]}")
        assert all(n > 0 for n in during), during
    finally:
        suite.stop()
        for node in cluster.nodes:
            if not node.running:
                node.start()
