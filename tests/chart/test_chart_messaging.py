"""The chart's side of issue 20: the queue type per release, several broker nodes, RabbitMQ 4, the queue
length policies and the alerts that fire before them (docs/operations.md)."""

from __future__ import annotations

import base64
import json
import re

import helm_python
import pytest
import yaml
from kombu import Connection

from redprop.config import MessagingSettings
from redprop.messaging import wire
from tests.chart.chartlib import (
    CHART_DIR,
    DEFAULT_VALUES,
    EXAMPLES,
    MINIMAL,
    OPERATOR_APIS,
    ROOT,
    chart,
    example_values,
    merged,
    of_kind,
    render,
    render_example,
)

TOPOLOGY = {"rabbitmq": {"topology": {"enabled": True, "clusterReference": {"name": "redprop-rabbitmq"},
                                      "federation": {"cityUpstream": {"enabled": False}}}}}

#: Queue names as the shared library builds them (messaging/events.py: evt-<source>--<service>.<handler>).
EVENT_QUEUES = ["evt-ticketing--evaluation.on_ticket_event", "evt-registry--ticketing.on_household_changed",
                "evt-mediation--participation.on_consultation_closed"]
OTHER_QUEUES = ["rpc-ticketing", "rpc-registry", wire.retry_queue(EVENT_QUEUES[0], MessagingSettings()).name,
                "rpc.reply-client-abc", "evt-ticketing", "xevt-ticketing--evaluation.on_x"]
DEAD_LETTER_QUEUES = [wire.dead_letter_queue(s, MessagingSettings()).name for s in ("registry", "ticketing", "participation")]

#: Policy keys both queue types take on RabbitMQ 3.10 and 4.x (nothing of classic mirroring).
PORTABLE_POLICY_KEYS = {"max-length", "max-length-bytes", "overflow", "dead-letter-exchange",
                        "dead-letter-routing-key", "message-ttl", "expires", "delivery-limit",
                        "federation-upstream", "federation-upstream-set"}


def _settings(manifests) -> dict:
    (config_map,) = [m for m in of_kind(manifests, "ConfigMap") if "redprop.yaml" in m.doc.get("data", {})
                     and "helm.sh/hook" not in m.doc["metadata"].get("annotations", {})]
    return yaml.safe_load(config_map.doc["data"]["redprop.yaml"])


def _secret(manifests, name: str) -> dict[str, str]:
    (secret,) = [m for m in of_kind(manifests, "Secret") if m.name == name]
    return {k: base64.b64decode(v).decode() for k, v in secret.doc["data"].items()}


def _alerts(manifests) -> dict[str, dict]:
    (rule,) = of_kind(manifests, "PrometheusRule")
    return {r["alert"]: r for g in rule.doc["spec"]["groups"] for r in g["rules"]}


def _promql_regexes(expr: str) -> set[str]:
    return {m.encode().decode("unicode_escape") for m in re.findall(r'queue=~"([^"]+)"', expr)}


# -- the queue type --------------------------------------------------------------------------------

def test_the_queue_type_is_quorum_by_default_and_reaches_every_settings_file():
    assert DEFAULT_VALUES["rabbitmq"]["queueType"] == "quorum"
    manifests = render(merged(MINIMAL, {"config": {"messaging": {"rpc_timeout": 20}}}))
    files = [yaml.safe_load(m.doc["data"]["redprop.yaml"]) for m in of_kind(manifests, "ConfigMap")
             if "redprop.yaml" in m.doc.get("data", {})]
    assert len(files) == 2, "the services' ConfigMap and the migrations hook's"
    for settings in files:
        # Beside the other messaging settings, which stay as written.
        assert settings["messaging"] == {"rpc_timeout": 20, "queue_type": "quorum"}


def test_a_single_broker_release_can_keep_classic_queues():
    values = merged(MINIMAL, {"rabbitmq": {"queueType": "classic"}})
    assert _settings(render(values))["messaging"] == {"queue_type": "classic"}


def test_the_same_queue_type_in_config_messaging_is_accepted_another_is_refused():
    same = merged(MINIMAL, {"rabbitmq": {"queueType": "classic"}, "config": {"messaging": {"queue_type": "classic"}}})
    assert _settings(render(same))["messaging"]["queue_type"] == "classic"
    other = merged(MINIMAL, {"config": {"messaging": {"queue_type": "classic"}}})
    with pytest.raises(helm_python.HelmError) as caught:
        render(other)
    assert "config.messaging.queue_type (classic) differs from rabbitmq.queueType (quorum)" in str(caught.value)


@pytest.mark.parametrize("bad", ["mirrored", "stream", "", "Quorum"])
def test_an_unknown_queue_type_is_refused_naming_the_value(bad):
    with pytest.raises(helm_python.HelmValuesError) as caught:
        chart().validate_schema(merged(MINIMAL, {"rabbitmq": {"queueType": bad}}))
    assert "/rabbitmq/queueType" in str(caught.value)


@pytest.mark.parametrize("queue_type", ["quorum", "classic"])
def test_the_vhost_defaults_to_the_release_queue_type(queue_type):
    values = merged(MINIMAL, TOPOLOGY, {"rabbitmq": {"queueType": queue_type}})
    (vhost,) = of_kind(render(values, api_versions=OPERATOR_APIS), "Vhost")
    assert vhost.doc["spec"]["defaultQueueType"] == queue_type


# -- several broker nodes --------------------------------------------------------------------------

MULTI = [
    {"rabbitmq": {"host": "", "hosts": ["rmq-0.mq.svc", "rmq-1.mq.svc:5673", "rmq-2.mq.svc"]}},
    {"rabbitmq": {"host": "rmq-0.mq.svc, rmq-1.mq.svc:5673,rmq-2.mq.svc"}},
]


@pytest.mark.parametrize("layer", MULTI, ids=["hosts-list", "comma-separated-host"])
def test_several_nodes_become_a_failover_uri_the_client_library_reads(layer):
    values = merged(MINIMAL, {"rabbitmq": {"password": "p@ss/w:rd;x"}}, layer)
    uri = _secret(render(values, name="district-310101", namespace="redprop-310101"), "district-310101-redprop")["amqp-uri"]
    connection = Connection(uri)
    nodes = [Connection(alt) for alt in connection.alt]
    assert [(n.hostname, n.port) for n in nodes] == [("rmq-0.mq.svc", 5672), ("rmq-1.mq.svc", 5673),
                                                     ("rmq-2.mq.svc", 5672)]
    for node in nodes:
        assert (node.userid, node.password, node.virtual_host) == ("redprop-310101", "p@ss/w:rd;x", "redprop-310101")


def test_one_node_stays_one_plain_uri():
    uri = _secret(render(MINIMAL, name="district-310101", namespace="redprop-310101"), "district-310101-redprop")["amqp-uri"]
    assert uri == "amqp://redprop-310101:amqp-secret@rabbitmq.example.svc:5672/redprop-310101"
    tls = merged(MINIMAL, {"rabbitmq": {"tls": True, "port": 5671}})
    uri = _secret(render(tls, name="district-310101", namespace="redprop-310101"), "district-310101-redprop")["amqp-uri"]
    assert uri.startswith("amqps://") and uri.endswith("@rabbitmq.example.svc:5671/redprop-310101")


def test_the_federation_upstream_lists_every_node_comma_separated():
    values = merged(MINIMAL, TOPOLOGY, MULTI[0])
    data = _secret(render(values, name="district-310101", namespace="redprop-310101", api_versions=OPERATOR_APIS),
                   "district-310101-redprop-federation-upstream")
    uris = data["uri"].split(",")  # the Topology Operator's format for several upstream URIs
    assert [Connection(u).port for u in uris] == [5672, 5673, 5672]
    assert {Connection(u).virtual_host for u in uris} == {"redprop-310101"}


def test_host_and_hosts_together_are_refused():
    with pytest.raises(helm_python.HelmError) as caught:
        render(merged(MINIMAL, {"rabbitmq": {"hosts": ["rmq-0.mq.svc", "rmq-1.mq.svc"]}}))
    assert "rabbitmq.host and rabbitmq.hosts are both set" in str(caught.value)


@pytest.mark.parametrize("bad", [["rmq 0"], ["rmq-0:port"], ["rmq-0", "rmq-0"], [""]])
def test_malformed_hosts_are_refused_naming_the_value(bad):
    with pytest.raises(helm_python.HelmValuesError) as caught:
        chart().validate_schema(merged(MINIMAL, {"rabbitmq": {"host": "", "hosts": bad}}))
    assert "/rabbitmq/hosts" in str(caught.value)


def test_keda_with_several_nodes_is_refused_with_a_reason():
    values = merged(MINIMAL, MULTI[0], {"services": {"registry": {"keda": {"enabled": True}}}})
    with pytest.raises(helm_python.HelmError) as caught:
        render(values)
    assert "services.registry: keda.enabled reads one broker address" in str(caught.value)


# -- RabbitMQ 4 ------------------------------------------------------------------------------------

def test_the_chart_and_compose_pin_the_same_rabbitmq_4_image():
    image = DEFAULT_VALUES["rabbitmq"]["cluster"]["image"]
    assert re.fullmatch(r"rabbitmq:4\.\d+\.\d+-management", image), image
    (cluster,) = of_kind(render(merged(MINIMAL, {"rabbitmq": {"host": "", "cluster": {"create": True}}}),
                                api_versions=OPERATOR_APIS), "RabbitmqCluster")
    assert cluster.doc["spec"]["image"] == image
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text(encoding="utf-8"))
    assert compose["services"]["rabbitmq"]["image"] == image
    # docs/deploy.md and docs/operations.md say which version is pinned and which is tested.
    version = image.split(":")[1].split("-")[0]
    for doc in ("deploy.md", "operations.md"):
        text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
        assert version in text and "3.10.8" in text, doc


def test_no_topology_resource_uses_what_rabbitmq_4_removed(example):
    for m in render_example(example):
        if m.kind == "Policy":
            definition = m.doc["spec"]["definition"]
            assert set(definition) <= PORTABLE_POLICY_KEYS, (m, definition)
            assert not any(key.startswith("ha-") for key in definition), m
            assert m.doc["spec"].get("applyTo") in ("queues", "exchanges"), "3.10 knows these two (and all)"
        if m.kind == "Vhost":
            assert m.doc["spec"]["defaultQueueType"] in ("quorum", "classic")


# -- policies --------------------------------------------------------------------------------------

def _policies(values) -> dict[str, dict]:
    manifests = render(merged(MINIMAL, TOPOLOGY, values), name="district-310101", namespace="redprop-310101",
                       api_versions=OPERATOR_APIS)
    return {m.doc["spec"]["name"]: m.doc["spec"] for m in of_kind(manifests, "Policy")
            if m.doc["spec"]["applyTo"] == "queues"}


@pytest.mark.parametrize(("queue_type", "overflow"), [("quorum", "reject-publish"), ("classic", "reject-publish-dlx")])
def test_event_queues_get_a_length_limit_that_refuses_rather_than_drops(queue_type, overflow):
    policies = _policies({"rabbitmq": {"queueType": queue_type, "policies": {
        "eventQueues": {"maxLength": 1234, "maxLengthBytes": 56789}}}})
    assert set(policies) == {"redprop-event-queue-limits", "redprop-dead-letter-queue-limits"}
    events = policies["redprop-event-queue-limits"]
    assert events["vhost"] == "redprop-310101" and events["priority"] == 5
    assert events["definition"] == {"max-length": 1234, "max-length-bytes": 56789, "overflow": overflow}
    dead = policies["redprop-dead-letter-queue-limits"]
    assert dead["definition"]["overflow"] == "reject-publish", "a dead letter is never dropped"
    assert dead["definition"]["max-length"] == DEFAULT_VALUES["rabbitmq"]["policies"]["deadLetterQueues"]["maxLength"]


def test_the_policies_select_exactly_the_queues_they_are_for():
    policies = _policies({})
    events = re.compile(policies["redprop-event-queue-limits"]["pattern"])
    dead = re.compile(policies["redprop-dead-letter-queue-limits"]["pattern"])
    # RabbitMQ matches a policy's pattern anywhere in the name (re.search), hence the anchors.
    assert all(events.search(q) for q in EVENT_QUEUES)
    assert not any(events.search(q) for q in OTHER_QUEUES + DEAD_LETTER_QUEUES)
    assert all(dead.search(q) for q in DEAD_LETTER_QUEUES)
    assert not any(dead.search(q) for q in EVENT_QUEUES + OTHER_QUEUES + ["redprop.dlq.registry.x"])


def test_policies_can_be_turned_off_and_need_the_topology_operator():
    assert _policies({"rabbitmq": {"policies": {"enabled": False}}}) == {}
    without_topology = render(MINIMAL, api_versions=OPERATOR_APIS)
    assert of_kind(without_topology, "Policy") == []


def test_the_external_broker_commands_in_the_guide_match_the_chart_policies():
    """docs/operations.md gives the same policies as rabbitmqctl commands for a broker without the operator."""
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    commands = re.findall(r"rabbitmqctl set_policy -p \"\$VHOST\" --apply-to queues --priority (\d+) (\S+) \\\n\s+'([^']+)' '([^']+)'", text)
    policies = _policies({})
    assert {name for _, name, _, _ in commands} == set(policies)
    for priority, name, pattern, definition in commands:
        assert int(priority) == policies[name]["priority"]
        assert pattern == policies[name]["pattern"]
        assert json.loads(definition) == policies[name]["definition"]


# -- alerts and the dashboard ----------------------------------------------------------------------

def test_queue_alerts_fire_before_the_limit_on_the_queues_the_policies_limit():
    values = {"rabbitmq": {"policies": {"eventQueues": {"maxLength": 1000, "maxLengthBytes": 10_000}}},
              "metrics": {"prometheusRule": {"queueDepthRatio": 0.75}}}
    manifests = render(merged(MINIMAL, TOPOLOGY, values), name="district-310101", namespace="redprop-310101",
                       api_versions=OPERATOR_APIS)
    alerts = _alerts(manifests)
    near = alerts["RedpropEventQueueNearLengthLimit"]["expr"]
    assert "rabbitmq_queue_messages{" in near and "> 750" in near
    assert "rabbitmq_queue_messages_bytes{" in near and "> 7500" in near
    assert near.count('vhost="redprop-310101"') == 2
    (regex,) = _promql_regexes(near)
    assert all(re.fullmatch(regex, q) for q in EVENT_QUEUES)
    assert not any(re.fullmatch(regex, q) for q in OTHER_QUEUES + DEAD_LETTER_QUEUES)
    dead = alerts["RedpropDeadLetterQueueNearLengthLimit"]
    limit = DEFAULT_VALUES["rabbitmq"]["policies"]["deadLetterQueues"]["maxLength"]
    assert f"> {int(limit * 0.75)}" in dead["expr"] and dead["labels"]["severity"] == "critical"
    (regex,) = _promql_regexes(dead["expr"])
    assert all(re.fullmatch(regex, q) for q in DEAD_LETTER_QUEUES)
    assert not any(re.fullmatch(regex, q) for q in EVENT_QUEUES + OTHER_QUEUES)
    dead_lettered = alerts["RedpropMessagesDeadLettered"]["expr"]
    assert "delta(rabbitmq_queue_messages{" in dead_lettered and "[15m]" in dead_lettered
    assert dead_lettered.rstrip().endswith("> 0")


def test_the_quorum_alerts_follow_the_queue_type_and_the_cluster():
    quorum = _alerts(render(MINIMAL, api_versions=OPERATOR_APIS, namespace="redprop-310101"))
    assert "rabbitmq_raft_term_total" in quorum["RedpropQuorumQueueLeaderChanges"]["expr"]
    assert "RedpropRabbitmqNodeDown" not in quorum, "only the release that creates the cluster watches its nodes"
    classic = _alerts(render(merged(MINIMAL, {"rabbitmq": {"queueType": "classic"}}), api_versions=OPERATOR_APIS))
    assert "RedpropQuorumQueueLeaderChanges" not in classic
    owner = merged(MINIMAL, {"rabbitmq": {"host": "", "cluster": {"create": True, "replicas": 5}}})
    down = _alerts(render(owner, name="city", namespace="redprop-city", api_versions=OPERATOR_APIS))["RedpropRabbitmqNodeDown"]
    assert 'rabbitmq_cluster="city-redprop-rabbitmq"' in down["expr"] and "< 5" in down["expr"]
    assert "absent(rabbitmq_identity_info" in down["expr"], "every node down is also a node down"
    assert down["labels"]["severity"] == "critical"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_dashboard_shows_event_queue_depth_against_the_limit(path):
    manifests = render_example(path)
    (dashboard,) = [m for m in of_kind(manifests, "ConfigMap") if m.doc["metadata"]["labels"].get("grafana_dashboard") == "1"]
    (text,) = dashboard.doc["data"].values()
    board = json.loads(text)
    (panel,) = [p for p in board["panels"] if p["title"] == "Event queue depth vs length limit"]
    exprs = [t["expr"] for t in panel["targets"]]
    values = merged(DEFAULT_VALUES, example_values(path))
    limit = values["rabbitmq"]["policies"]["eventQueues"]["maxLength"]
    ratio = values["metrics"]["prometheusRule"]["queueDepthRatio"]
    assert f"vector({limit})" in exprs and f"vector({int(limit * ratio)})" in exprs
    (regex,) = {m.replace("\\\\", "\\") for e in exprs for m in re.findall(r'queue=~"([^"]+)"', e)}
    assert all(re.fullmatch(regex, q) for q in EVENT_QUEUES) and not any(re.fullmatch(regex, q) for q in OTHER_QUEUES)
    assert not re.search(r"__[A-Z_]+__", text), "placeholders left unreplaced"


def test_values_and_schema_agree_on_the_new_values():
    schema = json.loads((CHART_DIR / "values.schema.json").read_text(encoding="utf-8"))
    rabbit = schema["properties"]["rabbitmq"]["properties"]
    assert rabbit["queueType"]["enum"] == ["quorum", "classic"]
    assert set(rabbit["policies"]["properties"]) == set(DEFAULT_VALUES["rabbitmq"]["policies"])
    chart().validate_schema(merged(MINIMAL, {"rabbitmq": {"host": "", "hosts": ["a.example", "b.example:5673"]}}))
