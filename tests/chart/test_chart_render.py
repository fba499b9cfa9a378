"""Every example renders with Helm's engine, lints strictly, and every manifest is valid Kubernetes.

Built-in kinds are validated by kubernetes-validate (strict: unknown fields are errors) for the oldest
Kubernetes CI checks and the newest one kubernetes-validate knows. Custom resources (Prometheus
Operator, KEDA, RabbitMQ operators) are checked for their required fields here.
"""

from __future__ import annotations

import json
import re

import helm_python
import kubernetes_validate.utils as kv
import pytest

from tests.chart.chartlib import (
    CHART_DIR,
    DEFAULT_VALUES,
    EXAMPLES,
    KUBE_VERSIONS,
    MINIMAL,
    OPERATOR_APIS,
    _render_cached,
    enabled_services,
    example_values,
    release_of,
    render,
    render_example,
)

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _require(doc: dict, *paths: str) -> None:
    for path in paths:
        node = doc
        for part in path.split("."):
            assert isinstance(node, dict) and part in node, f"{doc['kind']} {doc['metadata']['name']}: missing {path}"
            node = node[part]
        assert node not in (None, "", [], {}), f"{doc['kind']} {doc['metadata']['name']}: empty {path}"


def _cluster_ref(doc: dict) -> None:
    _require(doc, "spec.rabbitmqClusterReference.name")


def _check_service_monitor(doc):
    _require(doc, "spec.selector.matchLabels", "spec.endpoints")
    for endpoint in doc["spec"]["endpoints"]:
        assert endpoint.get("port") or endpoint.get("targetPort"), endpoint


def _check_prometheus_rule(doc):
    _require(doc, "spec.groups")
    for group in doc["spec"]["groups"]:
        assert group.get("name") and group.get("rules"), group
        for rule in group["rules"]:
            assert ("alert" in rule) != ("record" in rule), rule
            assert isinstance(rule.get("expr"), str) and rule["expr"].strip(), rule
            assert re.fullmatch(r"[0-9]+(ms|s|m|h|d)", rule.get("for", "0s")), rule


def _check_scaled_object(doc):
    _require(doc, "spec.scaleTargetRef.name", "spec.triggers")
    for trigger in doc["spec"]["triggers"]:
        assert trigger.get("type") and isinstance(trigger.get("metadata"), dict), trigger
        assert all(isinstance(v, str) for v in trigger["metadata"].values()), "KEDA trigger metadata must be strings"


def _check_rabbitmq_cluster(doc):
    spec = doc["spec"]
    assert isinstance(spec.get("replicas"), int) and spec["replicas"] >= 1
    assert ":" in spec["image"] and not spec["image"].endswith(":latest")


def _check_vhost(doc):
    _require(doc, "spec.name")
    _cluster_ref(doc)


def _check_user(doc):
    _require(doc, "spec.importCredentialsSecret.name")
    _cluster_ref(doc)


def _check_permission(doc):
    _require(doc, "spec.vhost", "spec.permissions")
    assert bool(doc["spec"].get("user")) != bool(doc["spec"].get("userReference")), "user or userReference, not both"
    assert set(doc["spec"]["permissions"]) == {"configure", "write", "read"}
    _cluster_ref(doc)


def _check_federation(doc):
    _require(doc, "spec.name", "spec.vhost", "spec.uriSecret.name")
    assert doc["spec"].get("ackMode", "on-confirm") in ("on-confirm", "on-publish", "no-ack")
    _cluster_ref(doc)


def _check_exchange(doc):
    _require(doc, "spec.name", "spec.vhost", "spec.type")
    _cluster_ref(doc)


def _check_policy(doc):
    _require(doc, "spec.name", "spec.pattern", "spec.definition")
    assert doc["spec"].get("applyTo", "queues") in ("queues", "exchanges", "all", "classic_queues", "quorum_queues", "streams")
    re.compile(doc["spec"]["pattern"])
    _cluster_ref(doc)


CRD_CHECKS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): _check_service_monitor,
    ("monitoring.coreos.com/v1", "PrometheusRule"): _check_prometheus_rule,
    ("keda.sh/v1alpha1", "ScaledObject"): _check_scaled_object,
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): _check_rabbitmq_cluster,
    ("rabbitmq.com/v1beta1", "Vhost"): _check_vhost,
    ("rabbitmq.com/v1beta1", "User"): _check_user,
    ("rabbitmq.com/v1beta1", "Permission"): _check_permission,
    ("rabbitmq.com/v1beta1", "Federation"): _check_federation,
    ("rabbitmq.com/v1beta1", "Exchange"): _check_exchange,
    ("rabbitmq.com/v1beta1", "Policy"): _check_policy,
}


def _builtin(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    return group == "" or "." not in group or group.endswith(".k8s.io")


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_example_manifests_are_valid(example, kube_version):
    manifests = render_example(example, kube_version=kube_version)
    assert manifests, "nothing rendered"
    for m in manifests:
        api_version = m.doc["apiVersion"]
        if _builtin(api_version):
            try:
                kv.validate(m.doc, kube_version, strict=True)
            except kv.ValidationError as exc:
                pytest.fail(f"{m!r} is invalid for Kubernetes {kube_version}: {exc.message} at {list(exc.path)}")
        else:
            check = CRD_CHECKS.get((api_version, m.kind))
            assert check, f"{m!r}: no check for custom resource {api_version} {m.kind}"
            check(m.doc)
        assert DNS_LABEL.match(m.name) and len(m.name) <= 63, f"{m!r}: not a valid DNS label"
        assert m.doc["metadata"]["namespace"] == release_of(example)[1] or m.kind == "ConfigMap"


def test_example_names_are_unique(example):
    seen = set()
    for m in render_example(example):
        key = (m.kind, m.doc["metadata"]["namespace"], m.name)
        assert key not in seen, f"two {m.kind} named {m.name}"
        seen.add(key)


def test_rendering_is_deterministic(example):
    name, namespace = release_of(example)
    values = json.dumps(example_values(example), sort_keys=True)
    args = (values, name, namespace, KUBE_VERSIONS[0], OPERATOR_APIS, False)
    # Twice through the engine itself (bypassing the test's render cache): same bytes both times.
    assert _render_cached.__wrapped__(*args) == _render_cached.__wrapped__(*args)


def test_three_district_city_is_complete():
    kinds = {}
    for path in EXAMPLES:
        kinds[path.stem] = {m.kind for m in render_example(path)}
    assert set(kinds) == {"city", "district-310101", "district-310104", "district-310105"}
    for stem, present in kinds.items():
        assert {"Deployment", "Service", "ConfigMap", "Job", "Pod", "PodDisruptionBudget", "NetworkPolicy",
                "ServiceAccount", "ServiceMonitor", "PrometheusRule", "Vhost", "User", "Permission"} <= present, stem
    assert "Federation" in kinds["district-310101"] and "Policy" in kinds["city"]
    assert "RabbitmqCluster" in kinds["city"]
    assert "HorizontalPodAutoscaler" in kinds["district-310104"]
    assert "ScaledObject" in kinds["district-310105"]


def test_districts_run_every_service_and_the_city_its_city_wide_ones():
    """The layout docs/deploy.md describes: each district runs every service the chart knows (its gateway
    included); the city runs the league tables (evaluation), cross-district matching and the registry both
    call over RPC."""
    for path in EXAMPLES:
        enabled = set(enabled_services(example_values(path)))
        deployed = {m.doc["metadata"]["labels"]["app.kubernetes.io/component"]
                    for m in render_example(path) if m.kind == "Deployment"}
        assert deployed == enabled, path.stem
        if path.stem == "city":
            assert enabled == {"registry", "evaluation", "matching"}
        else:
            assert set(DEFAULT_VALUES["services"]) <= enabled, path.stem


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_examples_lint_strictly_without_warnings(example, kube_version):
    report = helm_python.lint(CHART_DIR, example_values(example), strict=True, kube_version=f"v{kube_version}")
    assert report["errors"] == []
    findings = [m for m in report["messages"] if m["severity"] >= 2]
    assert findings == [], findings
    # The only information-level finding allowed is the missing icon (the project has none yet).
    assert {m["error"] for m in report["messages"]} <= {"icon is recommended"}


def test_chart_metadata():
    chart = helm_python.Chart.load(CHART_DIR)
    meta = chart.metadata
    assert meta["apiVersion"] == "v2" and meta["name"] == "redprop" and meta["type"] == "application"
    assert re.fullmatch(r"\d+\.\d+\.\d+", meta["version"]) and meta["appVersion"]
    assert chart.schema is not None


@pytest.mark.parametrize("missing, message", [
    ({}, "district.code is required"),
    ({"district": {"code": "310101"}}, "rabbitmq.host is required"),
    ({"district": {"code": "310101"}, "rabbitmq": {"host": "h"}}, "rabbitmq.password is required"),
    ({"district": {"code": "310101"}, "rabbitmq": {"host": "h", "password": "p"}}, "postgresql.host is required"),
])
def test_missing_required_values_fail_with_their_name(missing, message):
    with pytest.raises(helm_python.HelmError, match=re.escape(message)):
        render(missing)


def test_minimal_district_renders_external_broker_and_database_only():
    kinds = {m.kind for m in render(MINIMAL)}
    assert kinds == {"ConfigMap", "Secret", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy",
                     "ServiceAccount", "Job", "Pod", "PersistentVolumeClaim"}  # the claim: the gateway's photos
