"""Reconnect, don't exit: services ride out a broker restart and a database restart (issue 13).

The broker and the database restarted here belong to the test session (``private_rabbit``,
``private_postgres`` from redprop.testing); the machine's shared servers are never touched. Each case is
run with a graceful stop and with kill -9 of the server. What must hold: no container dies, ``/readyz``
says 503 during the outage and 200 after, every request is answered and written once, every event is
processed once after the database returns, and nothing is dead-lettered.
"""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid

import eventlet
import pytest
from nameko.containers import ServiceContainer
from nameko.testing.services import dummy, entrypoint_hook
from sqlalchemy import select

from redprop.config import Settings
from redprop.db.engine import build_engine
from redprop.errors import RedpropError, Unavailable
from redprop.messaging.client import RpcClient, ServiceRpc
from redprop.messaging.management import RabbitManagement
from redprop.messaging.tables import ProcessedEvent
from redprop.testing import events as broker
from redprop.testing.pytest_plugin import TEST_DISTRICT, free_port
from redprop.testing.suite import Suite, wait_for
from redprop.testing.tickets import WORKER

pytestmark = pytest.mark.integration

#: Generous for a node that restarts in about 15 s on a busy machine; each test stays under a minute.
BACK_WITHIN_S = 40


def readiness(settings: Settings, service: str) -> int:
    url = f"http://127.0.0.1:{settings.metrics_port(service)}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_ready(settings, service: str, expected: int, timeout: float = BACK_WITHIN_S) -> None:
    wait_for(lambda: readiness(settings, service) == expected, timeout=timeout, interval=0.5,
             message=f"{service} /readyz to answer {expected}")


def call_until_answered(settings, service: str, operation: str, body: dict, timeout: float = 50):
    """What a well-behaved client does: retry the same request (same request_id) until answered."""
    deadline = eventlet.Timeout(timeout)
    try:
        while True:
            client = None
            try:
                client = RpcClient(settings, timeout=5)
                return client.call(service, operation, body)
            except Unavailable:
                pass  # not answered in time, or nobody consuming yet
            except RedpropError:
                raise  # a real answer: an error the service meant
            except Exception:  # noqa: BLE001 - the broker is away: the client cannot even publish
                pass
            finally:
                if client is not None:
                    try:
                        client.close()
                    except Exception:  # noqa: BLE001
                        pass
            eventlet.sleep(0.5)
    finally:
        deadline.cancel()


def assert_alive(suite: Suite) -> None:
    dead = [c.service_name for c in suite.runner.containers if c._died.ready()]
    assert dead == [], f"containers died: {dead}"
    assert not suite.runner._ending.ready()  # the runner saw no container end


def submit_body(request_id: str) -> dict:
    return {"resident_id": "P2", "category": "leak", "building_id": "B1", "description": "楼道顶棚漏水",
            "request_id": request_id}


# -- the broker goes away: an RPC service --------------------------------------------------------------


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_ticketing_answers_every_submit_once_across_a_broker_restart(how, private_rabbit, private_amqp_uri,
                                                                       tmp_path, small_district):
    names = ["registry", "ticketing"]
    settings = Settings(
        district=TEST_DISTRICT, amqp_uri=private_amqp_uri, data_dir=tmp_path / "data",
        services={n: {"database_url": f"sqlite:///{tmp_path / n}.sqlite3", "metrics_port": free_port(),
                      "max_workers": 4, **({"options": {"sweep_interval": 3600}} if n == "ticketing" else {})}
                  for n in names},
        messaging={"retry_delay": 0.2, "outbox_poll_interval": 0.2, "max_delivery_attempts": 3})
    suite = Suite(settings, names).start()
    try:
        call_until_answered(settings, "registry", "upsert", {"actor": "P-DATA", "records": small_district, "request_id": "reconnect-load"})
        first = call_until_answered(settings, "ticketing", "submit", submit_body(f"reconnect-{how}-before"))
        wait_ready(settings, "ticketing", 200)

        # Submits in flight as the broker goes, and more sent while it is away.
        in_flight = [eventlet.spawn(call_until_answered, settings, "ticketing", "submit", submit_body(f"reconnect-{how}-{i}"))
                     for i in range(4)]
        eventlet.sleep(0.05)
        getattr(private_rabbit, how)()
        wait_ready(settings, "ticketing", 503, timeout=15)
        during = [eventlet.spawn(call_until_answered, settings, "ticketing", "submit", submit_body(f"reconnect-{how}-d{i}"))
                  for i in range(2)]
        eventlet.sleep(1)
        assert_alive(suite)
        private_rabbit.start()
        wait_ready(settings, "ticketing", 200)
        wait_ready(settings, "registry", 200)

        replies = [gt.wait() for gt in in_flight + during]
        ids = [r.ticket.id for r in replies]
        assert len(set(ids)) == 6 and first.ticket.id not in ids
        # A retry of an answered submit gets the same ticket back: written once, answered as before.
        assert call_until_answered(settings, "ticketing", "submit", submit_body(f"reconnect-{how}-0")).ticket.id == ids[0]
        listing = call_until_answered(settings, "ticketing", "list", {"limit": 50, "viewer": WORKER.model_dump()})
        assert listing.total == 7
        assert sorted(t.id for t in listing.tickets) == sorted([first.ticket.id, *ids])
        assert_alive(suite)
    finally:
        suite.stop()


class _Asker:
    """A worker that calls another service (as every permit check calls the registry)."""

    name = "asker"
    registry = ServiceRpc("registry")

    @dummy
    def ask(self):
        return self.registry.resolve({"building_id": "B1"})


def test_a_worker_whose_call_cannot_reach_the_broker_answers_unavailable_not_internal_error(
        private_rabbit, private_amqp_uri, tmp_path):
    """On a cluster, a node just restarted refuses connections ("vhost is down", 541) for a moment; kombu
    retries and gives up. What the worker's own caller gets must be ``unavailable`` (retry the same
    request), never ``internal_error`` (a bug to report), as the cluster fault test once showed."""
    settings = Settings(district=TEST_DISTRICT, amqp_uri=private_amqp_uri, data_dir=tmp_path / "data",
                        services={"asker": {"metrics_port": free_port()}})
    asker = ServiceContainer(_Asker, settings.nameko_config("asker"))
    asker.start()
    try:
        private_rabbit.stop()
        with entrypoint_hook(asker, "ask") as ask, pytest.raises(Unavailable) as refused:
            ask()
        assert refused.value.code == "unavailable"
        assert refused.value.details == {"operation": "registry.resolve"}
        assert "broker" in refused.value.message
    finally:
        private_rabbit.start()
        asker.kill()


def test_a_node_that_refuses_the_vhost_is_passed_over_for_the_next_address(
        private_rabbit, rabbit_management, broker_uri, tmp_path, small_district):
    """A node that is up but whose vhost is down there answers every connection with 541. The suite, given
    both addresses, must serve through the other one: consumers, the services' own calls and a client
    (on a cluster this left the suite silent while two nodes were healthy; redprop.messaging.failover)."""
    vhost = f"redprop_fault_{uuid.uuid4().hex[:10]}"
    refusing = RabbitManagement(private_rabbit.amqp_uri, port=private_rabbit.management_port)
    refusing.create_vhost(vhost)
    rabbit_management.create_vhost(vhost)  # the healthy "node": the machine's broker
    try:
        # The vhost's supervisor stopped on that node only, as when it fails to start there.
        private_rabbit._ctl("eval", f'rabbit_vhost_sup_sup:stop_and_delete_vhost(<<"{vhost}">>).')
        assert refusing.vhost_state(vhost) == {private_rabbit.node: "stopped"}
        uri = ";".join(Settings(amqp_uri=u).with_vhost(vhost).amqp_uri
                       for u in (private_rabbit.amqp_uri, broker_uri))
        names = ["registry"]
        settings = Settings(
            district=TEST_DISTRICT, amqp_uri=uri, data_dir=tmp_path / "data",
            services={n: {"database_url": f"sqlite:///{tmp_path / n}.sqlite3", "metrics_port": free_port()}
                      for n in names})
        suite = Suite(settings, names).start()
        try:
            wait_ready(settings, "registry", 200)
            client = RpcClient(settings, timeout=10)
            try:
                report = client.call("registry", "upsert", {"actor": "P-DATA", "records": small_district,
                                                            "request_id": "refused-vhost"})
                assert report.applied and not report.errors
                assert client.call("registry", "resolve", {"building_id": "B1"}).building.id == "B1"
            finally:
                client.close()
            assert_alive(suite)
        finally:
            suite.stop()
    finally:
        refusing.delete_vhost(vhost)
        rabbit_management.delete_vhost(vhost)


# -- the database goes away: an event consumer ---------------------------------------------------------


def inbox(database_url: str) -> list[str]:
    engine = build_engine(database_url)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(select(ProcessedEvent.event_id))]
    finally:
        engine.dispose()


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_evaluation_processes_events_once_after_its_database_returns(how, make_settings, private_postgres,
                                                                     small_district):
    database_url = private_postgres()
    names = ["registry", "ticketing", "evaluation"]
    settings = make_settings(names, services={"evaluation": {"database_url": database_url},
                                              "ticketing": {"options": {"sweep_interval": 3600}}})
    published = broker.bind(settings, "ticketing")
    suite = Suite(settings, names).start()
    try:
        suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id="reconnect-load")
        suite.rpc.ticketing.submit(**submit_body(f"reconnect-{how}-before"))
        wait_for(lambda: len(inbox(database_url)) == 2, timeout=20, message="the first events processed")
        wait_ready(settings, "evaluation", 200)

        getattr(private_postgres.cluster, how)()
        for i in range(3):  # ticketing's own database is up: its events go out while evaluation's is away
            suite.rpc.ticketing.submit(**submit_body(f"reconnect-{how}-{i}"))
        wait_ready(settings, "evaluation", 503, timeout=15)
        eventlet.sleep(2)  # the events are delivered, fail on the database, and go back to the queue
        assert_alive(suite)
        private_postgres.cluster.start()
        wait_ready(settings, "evaluation", 200)

        event_ids = [body["event_id"] for _key, body in broker.drain(settings, published)]
        assert len(event_ids) == 8  # created and dispatched, for each of 4 tickets
        wait_for(lambda: len(inbox(database_url)) == 8, timeout=BACK_WITHIN_S,
                 message="the events published during the outage processed")
        eventlet.sleep(1)  # nothing more arrives: each was processed once
        assert sorted(inbox(database_url)) == sorted(event_ids)
        assert broker.dead_letters(settings, "evaluation") == []
        assert_alive(suite)
    finally:
        suite.stop()
