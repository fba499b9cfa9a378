"""District-to-city event flow over RabbitMQ federation, on the machine's real broker.

The same topology the Helm chart declares through the Messaging Topology Operator
(charts/redprop/templates/rabbitmq-topology.yaml), made here through the management HTTP API:

* each district has its own vhost and user, with permissions on that vhost only;
* each district's vhost is a federation upstream declared in the city vhost;
* the city vhost has the event exchanges and one policy (``federation-upstream-set: all``) that federates
  them from every upstream, so adding a district needs no change on the city side.

Then an event a district service publishes to ``registry.events`` (the wire format of
redprop.messaging.wire: topic exchange ``<service>.events``, routing key ``<service>.<fact>``) reaches a
queue of a city service, and district A's credentials cannot open district B's vhost.

The way back (city to district): district A's vhost gets the city vhost as an upstream, with a user the
city issued that may only read the city's ``matching.events``, and a policy federating ``matching.events``
from it, as the chart declares them (the upstream's max-hops and the policy are taken from the chart's
rendering of examples/district-310101.yaml). Then the city's ``matching.city_proposals_made`` reaches
district A, while district B's events that reached the city (one hop already) do not travel on to it.

Needs RabbitMQ on 127.0.0.1:5672 with the management API on 15672 and the federation plugin
(scripts/ensure-services.sh rabbitmq). Every name is unique per run and deleted afterwards.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote

import amqp.exceptions
import pytest
import requests
from kombu import Connection, Exchange, Queue

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"
AMQP_PORT = 5672
API = f"http://{HOST}:15672/api"
ADMIN = ("guest", "guest")
WAIT = 30.0  # seconds, for anything the broker does asynchronously

EVENTS_EXCHANGE = "registry.events"  # redprop.messaging.wire.event_exchange("registry")
MATCHING_EXCHANGE = "matching.events"
FEDERATED = ["registry.events", "ticketing.events", "mediation.events", "evaluation.events", "matching.events"]
WAY_BACK_BUDGET = 25.0  # seconds, for everything one way-back test waits for


@dataclass
class Tenant:
    code: str
    vhost: str
    user: str
    password: str

    def uri(self, vhost: str | None = None) -> str:
        return f"amqp://{quote(self.user, safe='')}:{quote(self.password, safe='')}@{HOST}:{AMQP_PORT}/{quote(vhost or self.vhost, safe='')}"


class Management:
    def __init__(self):
        self.http = requests.Session()
        self.http.auth = ADMIN

    def _url(self, *parts: str) -> str:
        return API + "/" + "/".join(quote(p, safe="") for p in parts)

    def put(self, *parts: str, body: dict | None = None) -> None:
        reply = self.http.put(self._url(*parts), json=body or {}, timeout=10)
        assert reply.status_code in (201, 204), f"PUT {'/'.join(parts)}: {reply.status_code} {reply.text}"

    def get(self, *parts: str):
        reply = self.http.get(self._url(*parts), timeout=10)
        reply.raise_for_status()
        return reply.json()

    def delete(self, *parts: str) -> None:
        self.http.delete(self._url(*parts), timeout=10)  # best effort: cleanup


def wait_for(what: str, check, timeout: float = WAIT, *, deadline: float | None = None):
    deadline = min(deadline or float("inf"), time.monotonic() + timeout)
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last seen: {last!r})")


def federation_links(api, vhost: str) -> list[dict]:
    """The vhost's federation links; none yet while RabbitMQ answers 5xx (it does, briefly, while a
    link process is starting), so the caller's bounded wait polls again."""
    try:
        return api.get("federation-links", vhost)
    except requests.HTTPError as exc:
        if exc.response is not None and exc.response.status_code >= 500:
            return []
        raise


@pytest.fixture(scope="module")
def api():
    mgmt = Management()
    try:
        overview = mgmt.get("overview")
    except requests.RequestException as exc:
        pytest.fail(f"RabbitMQ management API not reachable at {API} ({exc}); run scripts/ensure-services.sh rabbitmq")
    plugins = {p for node in mgmt.get("nodes") for p in [a["name"] for a in node.get("applications", [])]}
    assert "rabbitmq_federation" in plugins, "enable the federation plugin (scripts/ensure-services.sh rabbitmq)"
    assert overview["rabbitmq_version"]
    return mgmt


@pytest.fixture(scope="module")
def city_and_districts(api):
    """Two district vhosts and a city vhost, each with its own user; federation as the chart declares it."""
    run = uuid.uuid4().hex[:8]
    tenants = {
        code: Tenant(code, f"redprop-fedtest-{run}-{code}", f"redprop-fedtest-{run}-{code}", secrets.token_urlsafe(16))
        for code in ("310101", "310104", "city")
    }
    city = tenants["city"]
    districts = [tenants["310101"], tenants["310104"]]
    try:
        for t in tenants.values():
            api.put("vhosts", t.vhost)
            api.put("users", t.user, body={"password": t.password, "tags": ""})
            api.put("permissions", t.vhost, t.user, body={"configure": ".*", "write": ".*", "read": ".*"})

        # City side (city release): its event exchanges and the policy federating them from all upstreams.
        with Connection(city.uri(), connect_timeout=5) as conn:
            channel = conn.channel()
            for name in FEDERATED:
                Exchange(name, type="topic", durable=True)(channel).declare()
        api.put("policies", city.vhost, "redprop-federate-districts", body={
            "pattern": "^(" + "|".join(name.replace(".", r"\.") for name in FEDERATED) + ")$",
            "definition": {"federation-upstream-set": "all"},
            "apply-to": "exchanges",
            "priority": 10,
        })

        # District side (each district release): its services' exchanges exist, and its vhost is an
        # upstream of the city.
        for d in districts:
            with Connection(d.uri(), connect_timeout=5) as conn:
                channel = conn.channel()
                for name in FEDERATED:
                    Exchange(name, type="topic", durable=True)(channel).declare()
            api.put("parameters", "federation-upstream", city.vhost, f"district-{d.code}", body={
                "value": {"uri": d.uri(), "ack-mode": "on-confirm", "max-hops": 1},
            })

        def links_running():
            links = federation_links(api, city.vhost)
            running = {(link["upstream"], link["exchange"]) for link in links if link.get("status") == "running"}
            wanted = {(f"district-{d.code}", exchange) for d in districts for exchange in (EVENTS_EXCHANGE, MATCHING_EXCHANGE)}
            return running if wanted <= running else None

        wait_for("the federation links of both districts to run", links_running)
        yield city, districts
    finally:
        for t in tenants.values():
            api.delete("vhosts", t.vhost)
            api.delete("users", t.user)


def _city_inbox(city: Tenant, channel, routing_key: str) -> Queue:
    queue = Queue(f"city.evaluation.{uuid.uuid4().hex[:8]}", exchange=Exchange(EVENTS_EXCHANGE, type="topic", durable=True),
                  routing_key=routing_key, durable=False, auto_delete=False)(channel)
    queue.declare()
    return queue


def _wait_for_upstream_binding(api: Management, upstream: Tenant, routing_key: str, exchange: str = EVENTS_EXCHANGE,
                               deadline: float | None = None) -> None:
    """Federation copies a downstream's binding to the upstream's exchange (a district's, or the city's on
    the way back) asynchronously."""
    def bound():
        bindings = api.get("exchanges", upstream.vhost, exchange, "bindings", "source")
        return [b for b in bindings if b["destination"].startswith("federation:") and b["routing_key"] == routing_key]
    wait_for(f"a downstream binding ({exchange}, {routing_key}) to reach {upstream.vhost}", bound, deadline=deadline)


def test_district_events_reach_the_city_service(api, city_and_districts):
    city, districts = city_and_districts
    routing_key = "registry.household_registered"
    with Connection(city.uri(), connect_timeout=5) as city_conn:
        inbox = _city_inbox(city, city_conn.channel(), routing_key)
        for d in districts:
            _wait_for_upstream_binding(api, d, routing_key)

        sent = {}
        for d in districts:
            event_id = str(uuid.uuid4())
            sent[event_id] = d.code
            with Connection(d.uri(), connect_timeout=5) as conn:
                producer = conn.Producer()
                producer.publish(
                    {"event_id": event_id, "district": d.code, "household_id": f"H-{d.code}-1", "floor_area": 86.5},
                    exchange=Exchange(EVENTS_EXCHANGE, type="topic", durable=True), routing_key=routing_key,
                    serializer="json", delivery_mode=2,
                    headers={"x-redprop-event-id": event_id, "x-redprop-event-type": routing_key,
                             "x-redprop-district": d.code},
                )

        received = {}

        def drain():
            while (message := inbox.get(no_ack=True)) is not None:
                body = json.loads(message.body)
                received[body["event_id"]] = (body, message.headers, message.delivery_info["routing_key"])
            return set(sent) <= set(received)

        wait_for("both districts' events in the city queue", drain)
        for event_id, code in sent.items():
            body, headers, key = received[event_id]
            assert body["district"] == code and headers["x-redprop-district"] == code
            assert key == routing_key
        assert set(received) == set(sent), "nothing else, and nothing twice"


def test_unrelated_routing_keys_stay_in_the_district(api, city_and_districts):
    city, districts = city_and_districts
    with Connection(city.uri(), connect_timeout=5) as city_conn:
        inbox = _city_inbox(city, city_conn.channel(), "registry.grid_changed")
        _wait_for_upstream_binding(api, districts[0], "registry.grid_changed")
        with Connection(districts[0].uri(), connect_timeout=5) as conn:
            conn.Producer().publish({"event_id": "x"}, exchange=Exchange(EVENTS_EXCHANGE, type="topic", durable=True),
                                    routing_key="registry.something_else", serializer="json")
            conn.Producer().publish({"event_id": "y"}, exchange=Exchange(EVENTS_EXCHANGE, type="topic", durable=True),
                                    routing_key="registry.grid_changed", serializer="json")

        def got():
            message = inbox.get(no_ack=True)
            return message and json.loads(message.body)

        assert wait_for("the bound event", got)["event_id"] == "y"
        time.sleep(0.5)
        assert inbox.get(no_ack=True) is None, "an event nobody in the city subscribed to crossed over"


@pytest.mark.parametrize("target", ["other district", "city"])
def test_a_districts_credentials_open_no_other_vhost(api, city_and_districts, target):
    city, (district_a, district_b) = city_and_districts
    vhost = district_b.vhost if target == "other district" else city.vhost
    with pytest.raises((amqp.exceptions.NotAllowed, amqp.exceptions.AccessRefused)) as refused:
        with Connection(district_a.uri(vhost), connect_timeout=5) as conn:
            conn.connect()
    assert "access to vhost" in str(refused.value) and "refused" in str(refused.value)
    # ...while its own vhost is open to it,
    with Connection(district_a.uri(), connect_timeout=5) as conn:
        conn.connect()
        assert conn.connected
    # ...and the broker lists permissions on that one vhost only.
    assert [p["vhost"] for p in api.get("users", district_a.user, "permissions")] == [district_a.vhost]


# -- the way back: the city's matching.events federated down into a district vhost -------------------

def _chart_way_back() -> tuple[dict, dict]:
    """The specs of the Federation (city upstream) and the Policy a district release declares for the way
    back, as the chart renders them for examples/district-310101.yaml."""
    from tests.chart.chartlib import EXAMPLES, of_kind, render_example

    manifests = render_example(next(p for p in EXAMPLES if p.stem == "district-310101"))
    (federation,) = [m for m in of_kind(manifests, "Federation") if m.name.endswith("-city-upstream")]
    (policy,) = [m for m in of_kind(manifests, "Policy") if m.doc["spec"]["name"] == "redprop-federate-city"]
    return federation.doc["spec"], policy.doc["spec"]


@pytest.fixture(scope="module")
def way_back(api, city_and_districts):
    """District A (310101) federates the city's matching.events into its own vhost, with a user the city
    issued to it; district B (310104) does not. Yields (city, district A, district B, the city's user)."""
    city, (district_a, district_b) = city_and_districts
    upstream, policy = _chart_way_back()
    assert upstream["maxHops"] == 1
    reader = Tenant("city-to-310101", district_a.vhost, f"{city.user}-to-310101", secrets.token_urlsafe(16))
    try:
        # The city's operator issues the user: it may read matching.events and run this district's link
        # queue and exchange in the city vhost ("federation: matching.events -> <node>:<district vhost>:
        # matching.events", the exchange with " B"), nothing else: not another district's link.
        link = rf"federation: matching\.events -> .*:{re.escape(district_a.vhost)}:matching\.events( B)?"
        api.put("users", reader.user, body={"password": reader.password, "tags": ""})
        api.put("permissions", city.vhost, reader.user, body={
            "configure": f"^{link}$", "write": f"^{link}$", "read": rf"^(matching\.events|{link})$",
        })
        # District A's release: the city vhost as an upstream of its own vhost, and the policy.
        api.put("parameters", "federation-upstream", district_a.vhost, upstream["name"], body={
            "value": {"uri": reader.uri(city.vhost), "ack-mode": upstream["ackMode"], "max-hops": upstream["maxHops"]},
        })
        api.put("policies", district_a.vhost, policy["name"], body={
            "pattern": policy["pattern"], "definition": policy["definition"],
            "apply-to": policy["applyTo"], "priority": policy["priority"],
        })

        def link_running():
            links = federation_links(api, district_a.vhost)
            return [link for link in links if (link["upstream"], link["exchange"]) == (upstream["name"], MATCHING_EXCHANGE)
                    and link.get("status") == "running"]

        wait_for("the city -> district A link to run", link_running, timeout=15)
        yield city, district_a, district_b, reader
    finally:
        api.delete("policies", district_a.vhost, policy["name"])
        api.delete("parameters", "federation-upstream", district_a.vhost, upstream["name"])
        api.delete("users", reader.user)


def _inbox(tenant: Tenant, channel, routing_key: str) -> Queue:
    """A service's queue on the tenant's own matching.events."""
    queue = Queue(f"{tenant.code}.matching.{uuid.uuid4().hex[:8]}",
                  exchange=Exchange(MATCHING_EXCHANGE, type="topic", durable=True),
                  routing_key=routing_key, durable=False, auto_delete=False)(channel)
    queue.declare()
    return queue


def _publish(tenant: Tenant, routing_key: str, event_id: str) -> None:
    with Connection(tenant.uri(), connect_timeout=5) as conn:
        conn.Producer().publish(
            {"event_id": event_id, "district": tenant.code},
            exchange=Exchange(MATCHING_EXCHANGE, type="topic", durable=True), routing_key=routing_key,
            serializer="json", delivery_mode=2,
            headers={"x-redprop-event-id": event_id, "x-redprop-event-type": routing_key, "x-redprop-district": tenant.code},
        )


class _Drain:
    """Messages taken from a queue so far, in order."""

    def __init__(self, queue: Queue):
        self.queue, self.messages = queue, []

    def ids(self) -> list[str]:
        return [json.loads(m.body)["event_id"] for m in self.messages]

    def until(self, event_id: str):
        def check():
            while (message := self.queue.get(no_ack=True)) is not None:
                self.messages.append(message)
            return event_id in self.ids()
        return check


def test_city_events_reach_a_district_over_the_way_back(api, way_back):
    city, district_a, district_b, _ = way_back
    deadline = time.monotonic() + WAY_BACK_BUDGET
    routing_key = "matching.city_proposals_made"
    with Connection(district_a.uri(), connect_timeout=5) as a_conn, \
            Connection(district_b.uri(), connect_timeout=5) as b_conn:
        a_inbox = _Drain(_inbox(district_a, a_conn.channel(), routing_key))
        b_inbox = _Drain(_inbox(district_b, b_conn.channel(), routing_key))
        _wait_for_upstream_binding(api, city, routing_key, MATCHING_EXCHANGE, deadline=deadline)

        event_id = str(uuid.uuid4())
        _publish(city, routing_key, event_id)
        wait_for("the city's proposals in district A's queue", a_inbox.until(event_id), deadline=deadline)
        (message,) = a_inbox.messages
        assert json.loads(message.body)["district"] == "city"
        assert message.headers["x-redprop-event-id"] == event_id
        assert message.delivery_info["routing_key"] == routing_key
        assert len(message.headers["x-received-from"]) == 1, "one hop: city -> district A"
        # District B declared no way back, so nothing reached it.
        time.sleep(0.3)
        b_inbox.until(event_id)()
        assert b_inbox.messages == []


def test_a_district_event_that_reached_the_city_does_not_travel_on(api, way_back):
    """District B's event reaches the city (one hop); max-hops 1 on the way back keeps it out of district A.
    District A's own event reaches the city too and does not come back. A sentinel the city publishes
    afterwards on the same key passes the same link queue, so once it arrives, anything the link would
    have carried has arrived before it."""
    city, district_a, district_b, _ = way_back
    deadline = time.monotonic() + WAY_BACK_BUDGET
    routing_key = "matching.remainder_changed"
    with Connection(city.uri(), connect_timeout=5) as city_conn, \
            Connection(district_a.uri(), connect_timeout=5) as a_conn:
        city_pool = _Drain(_inbox(city, city_conn.channel(), routing_key))  # the city matching's pool queue
        a_inbox = _Drain(_inbox(district_a, a_conn.channel(), routing_key))  # district A listens on the same key
        for district in (district_a, district_b):
            _wait_for_upstream_binding(api, district, routing_key, MATCHING_EXCHANGE, deadline=deadline)
        _wait_for_upstream_binding(api, city, routing_key, MATCHING_EXCHANGE, deadline=deadline)

        from_a, from_b, sentinel = (f"{name}-{uuid.uuid4()}" for name in ("a", "b", "city"))
        _publish(district_a, routing_key, from_a)
        _publish(district_b, routing_key, from_b)
        wait_for("both districts' events in the city", lambda: city_pool.until(from_a)() and city_pool.until(from_b)(),
                 deadline=deadline)
        for message in city_pool.messages:
            assert len(message.headers["x-received-from"]) == 1, "each reached the city in one hop"

        _publish(city, routing_key, sentinel)
        wait_for("the city's sentinel in district A", a_inbox.until(sentinel), deadline=deadline)
        time.sleep(0.3)
        a_inbox.until(sentinel)()
        assert a_inbox.ids() == [from_a, sentinel], \
            "district A got its own event once (locally) and the city's, not district B's nor its own back"


def test_the_citys_user_may_only_read_matching_events(api, way_back):
    city, _, _, reader = way_back
    assert [p["vhost"] for p in api.get("users", reader.user, "permissions")] == [city.vhost]
    with Connection(reader.uri(city.vhost), connect_timeout=5) as conn:
        channel = conn.channel()
        # It cannot publish city events (a channel error on publish)...
        with pytest.raises(amqp.exceptions.AccessRefused):
            conn.Producer(channel=channel).publish({"event_id": "forged"}, exchange=MATCHING_EXCHANGE,
                                                   routing_key="matching.city_proposals_made", serializer="json")
            channel.basic_qos(0, 1, False)  # a synchronous call surfaces the asynchronous refusal
    with Connection(reader.uri(city.vhost), connect_timeout=5) as conn:
        # ...nor touch another district's link queue in the city vhost...
        other_link = f"federation: matching.events -> rabbit@node:{city.vhost}-other:matching.events"
        with pytest.raises(amqp.exceptions.AccessRefused):
            conn.channel().queue_declare(other_link, durable=False, auto_delete=True)
    with Connection(reader.uri(city.vhost), connect_timeout=5) as conn:
        # ...nor read the city's other event exchanges.
        with pytest.raises(amqp.exceptions.AccessRefused):
            Queue(other_link, exchange=Exchange(EVENTS_EXCHANGE, type="topic", durable=True),
                  routing_key="#", durable=False, auto_delete=True)(conn.channel()).declare()
