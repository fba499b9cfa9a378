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

Needs RabbitMQ on 127.0.0.1:5672 with the management API on 15672 and the federation plugin
(scripts/ensure-services.sh rabbitmq). Every name is unique per run and deleted afterwards.
"""

from __future__ import annotations

import json
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
FEDERATED = ["registry.events", "ticketing.events", "mediation.events", "evaluation.events", "matching.events"]


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


def wait_for(what: str, check, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last seen: {last!r})")


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

        # District side (each district release): its exchange exists, and its vhost is an upstream of the city.
        for d in districts:
            with Connection(d.uri(), connect_timeout=5) as conn:
                Exchange(EVENTS_EXCHANGE, type="topic", durable=True)(conn.channel()).declare()
            api.put("parameters", "federation-upstream", city.vhost, f"district-{d.code}", body={
                "value": {"uri": d.uri(), "ack-mode": "on-confirm", "max-hops": 1},
            })

        def links_running():
            links = api.get("federation-links", city.vhost)
            running = {(link["upstream"], link["exchange"]) for link in links if link.get("status") == "running"}
            return running if {(f"district-{d.code}", EVENTS_EXCHANGE) for d in districts} <= running else None

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


def _wait_for_upstream_binding(api: Management, district: Tenant, routing_key: str) -> None:
    """Federation copies the city's binding to the district's upstream queue asynchronously."""
    def bound():
        bindings = api.get("exchanges", district.vhost, EVENTS_EXCHANGE, "bindings", "source")
        return [b for b in bindings if b["destination"].startswith("federation:") and b["routing_key"] == routing_key]
    wait_for(f"the city's binding to reach {district.vhost}", bound)


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
