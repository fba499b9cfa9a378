"""A broker node dies under load and nothing is lost or done twice (issue 20).

Three RabbitMQ nodes of the test's own (``redprop.testing.cluster``; the machine's broker is never
touched), quorum queues, and registry + ticketing connected to all three addresses. During 2,000 submits
the node leading ticketing's command queue is stopped (and started again), then another node is killed
with kill -9 (and started again). What must hold: every submit answered with one ticket, a retry of it
gets the same ticket, ticketing holds exactly 2,000 tickets, each ``ticketing.created`` event arrives,
and no container died. The longest time without an answer is measured and printed.

Slow (a cluster boots in about a minute here): marked ``cluster``, run by ``make fault-test``, not by
``make test``.
"""

from __future__ import annotations

import json
import time
import uuid

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


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with RabbitCluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


def submit_body(request_id: str) -> dict:
    return {"resident_id": "P2", "category": "leak", "building_id": "B1", "description": "楼道顶棚漏水",
            "request_id": request_id}


class Caller:
    """A well-behaved client: the same request (same request_id) again until answered, a new
    connection (to whichever node answers) whenever the old one broke."""

    def __init__(self, settings: Settings, answered_at: list[float]):
        self.settings = settings
        self.client: RpcClient | None = None
        self.answered_at = answered_at

    def call(self, service: str, operation: str, body: dict, timeout: float = 120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.client is None:
                    self.client = RpcClient(self.settings, timeout=5)
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
    management = cluster.live_management()
    vhost = f"redprop_cluster_{uuid.uuid4().hex[:8]}"
    management.create_vhost(vhost)
    names = ["registry", "ticketing"]
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
    answered_at: list[float] = []
    try:
        loader = Caller(settings, answered_at)
        loader.call("registry", "upsert", {"actor": "P-DATA", "records": small_district, "request_id": "cluster-load"})
        loader.close()

        faults: list[str] = []

        def break_nodes():
            wait_for(lambda: len(answered_at) >= 300, timeout=120, interval=0.1, message="300 answers")
            leader = cluster.leader_of("rpc-ticketing", vhost)
            faults.append(f"stopped {leader.node} (leader of rpc-ticketing)")
            leader.stop()
            wait_for(lambda: len(answered_at) >= 900, timeout=120, interval=0.1, message="answers without it")
            leader.start()
            wait_for(lambda: len(cluster.running_nodes()) == 3, timeout=90, interval=0.5, message="it rejoined")
            victim = next(n for n in cluster.nodes if n is not leader)
            faults.append(f"killed -9 {victim.node}")
            victim.kill()
            wait_for(lambda: len(answered_at) >= 1500, timeout=120, interval=0.1, message="answers after the kill")
            victim.start()

        breaker = eventlet.spawn(break_nodes)
        todo = [f"cluster-{i:05d}" for i in range(SUBMITS)]
        tickets: dict[str, str] = {}

        def work(callers_share: list[str]):
            caller = Caller(settings, answered_at)
            try:
                for request_id in callers_share:
                    tickets[request_id] = caller.call("ticketing", "submit", submit_body(request_id)).ticket.id
            finally:
                caller.close()

        started = time.monotonic()
        workers = [eventlet.spawn(work, todo[i::CALLERS]) for i in range(CALLERS)]
        for gt in workers:
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
        gaps = [b - a for a, b in zip(answered_at, answered_at[1:], strict=False)]
        print(f"\n{SUBMITS} submits in {elapsed:.1f} s across: {'; '.join(faults)}; "
              f"longest time without an answer {max(gaps):.1f} s")
        assert len(faults) == 2
    finally:
        suite.stop()
        for node in cluster.nodes:
            if not node.running:
                node.start()
