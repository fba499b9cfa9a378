"""What matters in the rendered manifests: labels, probes, resources, non-root, pinned images, hooks,
the settings the services will read, monitoring gates, and the district isolation of the topology."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import unquote, urlsplit

import helm_python
import kubernetes_validate.utils as kv
import pytest
import yaml
from kombu import Connection
from sqlalchemy.engine import make_url

from redprop.config import DEFAULT_METRICS_PORTS, load_settings
from redprop.services.gateway.options import GatewayOptions
from tests.chart.chartlib import (
    DEFAULT_VALUES,
    EXAMPLES,
    KUBE_VERSIONS,
    MINIMAL,
    OPERATOR_APIS,
    WORKLOAD_KINDS,
    component,
    effective_services,
    enabled_services,
    example_values,
    loadable_settings,
    merged,
    of_kind,
    only,
    pod_spec,
    release_of,
    render,
    render_example,
    render_files,
)

STANDARD_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                   "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of", "helm.sh/chart")


def _containers(m):
    spec = pod_spec(m)
    return spec.get("initContainers", []) + spec["containers"]


def _env(container) -> dict:
    return {e["name"]: e for e in container.get("env", [])}


def _deployments_by_service(manifests):
    return {component(m): m for m in of_kind(manifests, "Deployment")}


PARKING = {"enabled": True, "metricsPort": 9120, "image": {"repository": "huangpu/redprop-parking", "tag": "1.2.0"}}

#: Releases besides the examples, each with another set of services: the expectations below are derived
#: from the values, so they hold for any of them.
VARIANTS = {
    "defaults": MINIMAL,
    "registry-only": merged(MINIMAL, only("registry")),
    "gateway-only": merged(MINIMAL, only("gateway")),
    "city-services": merged(MINIMAL, {"role": "city"}, only("registry", "evaluation", "matching")),
    "none": merged(MINIMAL, only()),
    "plugin-without-database": merged(MINIMAL, only("ticketing", "gateway"), {"pluginServices": {
        "parking": merged(PARKING, {"database": False}), "bikes": merged(PARKING, {"metricsPort": 9121})}}),
    "existing-secret": merged(MINIMAL, {"existingSecret": "huangpu-credentials"}, only("registry", "gateway")),
}


@pytest.fixture(params=[*EXAMPLES, *VARIANTS], ids=[*(p.stem for p in EXAMPLES), *VARIANTS])
def release(request):
    """(values, manifests) of each example and each variant, rendered for a cluster with the operators."""
    if request.param in VARIANTS:
        values = VARIANTS[request.param]
        return values, render(values, name="district-310101", namespace="redprop-310101", api_versions=OPERATOR_APIS)
    return example_values(request.param), render_example(request.param)


# -- labels --------------------------------------------------------------------------------------

def test_every_resource_and_pod_has_the_standard_labels(example):
    name, _ = release_of(example)
    code = example_values(example)["district"]["code"]
    for m in render_example(example):
        labels = m.doc["metadata"].get("labels", {})
        for key in STANDARD_LABELS:
            assert labels.get(key), f"{m!r} lacks label {key}"
        assert labels["app.kubernetes.io/instance"] == name
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["redprop.io/district"] == code
        if m.kind in ("Deployment", "Job"):
            pod_labels = m.doc["spec"]["template"]["metadata"]["labels"]
            for key in STANDARD_LABELS:
                assert pod_labels.get(key), f"pods of {m!r} lack label {key}"
        if m.kind == "Deployment":
            selector = m.doc["spec"]["selector"]["matchLabels"]
            assert selector.items() <= m.doc["spec"]["template"]["metadata"]["labels"].items()
            assert "app.kubernetes.io/version" not in selector, "selectors must survive upgrades"


# -- workloads: images, security, resources, probes ---------------------------------------------

def test_every_container_is_pinned_non_root_read_only_and_bounded(example):
    workloads = [m for m in render_example(example) if m.kind in WORKLOAD_KINDS]
    assert workloads
    for m in workloads:
        spec = pod_spec(m)
        assert spec["securityContext"]["runAsNonRoot"] is True, m
        assert spec["securityContext"]["runAsUser"] != 0, m
        assert spec.get("automountServiceAccountToken") is False, m
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for c in _containers(m):
            image = c["image"]
            assert "@sha256:" in image or re.search(r":[A-Za-z0-9_][A-Za-z0-9_.-]*$", image.rsplit("/", 1)[-1]), \
                f"{m!r}: image {image} has no tag"
            assert not image.endswith(":latest"), f"{m!r}: image {image} uses latest"
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True, m
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"], m
            res = c["resources"]
            assert res["requests"]["cpu"] and res["requests"]["memory"] and res["limits"]["memory"], m
            mounts = {v["mountPath"]: v["name"] for v in c["volumeMounts"]}
            assert mounts.get("/tmp") in tmp_volumes, f"{m!r}: /tmp must be a writable emptyDir"


def test_deployments_run_their_service_with_meaningful_probes(release):
    values, manifests = release
    expected = enabled_services(values)
    services = {component(m): m for m in of_kind(manifests, "Service")}
    deployments = _deployments_by_service(manifests)
    assert set(deployments) == set(services)
    for svc_name, m in deployments.items():
        (c,) = pod_spec(m)["containers"]
        assert c["command"] == ["redprop"] and c["args"] == ["run", svc_name]
        (port,) = [p for p in c["ports"] if p["name"] == "metrics"]
        if svc_name in DEFAULT_METRICS_PORTS:
            assert port["containerPort"] == DEFAULT_METRICS_PORTS[svc_name]
        assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
        assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
        # /readyz opens a broker connection (2 s timeout) and pings the database: give it time.
        assert c["readinessProbe"]["timeoutSeconds"] > 2
        env = _env(c)
        assert env["REDPROP_CONFIG"]["value"] == "/etc/redprop/redprop.yaml"
        assert env["REDPROP_AMQP_URI"]["valueFrom"]["secretKeyRef"]["key"] == "amqp-uri"
        db_env = f"REDPROP_SERVICES__{svc_name.upper()}__DATABASE_URL"
        if expected[svc_name]["database"]:
            assert env[db_env]["valueFrom"]["secretKeyRef"]["key"] == f"{svc_name}-database-url"
        else:
            assert db_env not in env, f"{svc_name} has no database, so no database URL either"
        other_dbs = [k for k in env if k.endswith("__DATABASE_URL") and k != db_env]
        assert other_dbs == [], "a service gets only its own database credentials"
        svc_ports = {p["name"]: p for p in services[svc_name].doc["spec"]["ports"]}
        assert list(svc_ports)[0] == "metrics", "helm test and the ServiceMonitor use the first port"
        assert svc_ports["metrics"]["port"] == port["containerPort"] and svc_ports["metrics"]["targetPort"] == "metrics"
        # An HTTP API (the gateway's httpPort) is a container port and a Service port named http.
        http = [p for p in c["ports"] if p["name"] == "http"]
        if expected[svc_name].get("httpPort"):
            assert [p["containerPort"] for p in http] == [expected[svc_name]["httpPort"]]
            assert svc_ports["http"]["port"] == expected[svc_name]["httpPort"] and svc_ports["http"]["targetPort"] == "http"
        else:
            assert http == [] and "http" not in svc_ports
        assert services[svc_name].doc["spec"]["selector"] == m.doc["spec"]["selector"]["matchLabels"]


def test_every_service_in_the_values_has_a_workload_iff_enabled(release):
    values, manifests = release
    expected = enabled_services(values)
    assert set(_deployments_by_service(manifests)) == set(expected)
    assert {component(m) for m in of_kind(manifests, "Service")} == set(expected)
    assert {component(m) for m in of_kind(manifests, "PodDisruptionBudget")} == \
        {name for name, svc in expected.items() if svc["pdb"]["enabled"]}
    assert {component(m) for m in of_kind(manifests, "HorizontalPodAutoscaler")} == \
        {name for name, svc in expected.items() if svc["autoscaling"]["enabled"]}
    assert {component(m) for m in of_kind(manifests, "ScaledObject")} == \
        {name for name, svc in expected.items() if svc["keda"]["enabled"]}
    for name, deployment in _deployments_by_service(manifests).items():
        svc = expected[name]
        if svc["autoscaling"]["enabled"] or svc["keda"]["enabled"]:
            assert "replicas" not in deployment.doc["spec"]
        else:
            assert deployment.doc["spec"]["replicas"] == svc["replicaCount"]
        (c,) = pod_spec(deployment)["containers"]
        assert [p["containerPort"] for p in c["ports"] if p["name"] == "metrics"] == [svc["metricsPort"]]
    # The settings file lists every service, enabled or not, with the flag the values give it.
    (config_map,) = [m for m in of_kind(manifests, "ConfigMap") if "redprop.yaml" in m.doc.get("data", {})
                     and "helm.sh/hook" not in m.doc["metadata"].get("annotations", {})]
    listed = yaml.safe_load(config_map.doc["data"]["redprop.yaml"])["services"]
    assert {name: s["enabled"] for name, s in listed.items()} == \
        {name: s["enabled"] for name, s in effective_services(values).items()}


def test_each_service_has_a_disruption_budget_selecting_its_pods(example):
    manifests = render_example(example)
    deployments = _deployments_by_service(manifests)
    pdbs = {m.doc["metadata"]["labels"]["app.kubernetes.io/component"]: m for m in of_kind(manifests, "PodDisruptionBudget")}
    assert set(pdbs) == set(deployments)
    for name, pdb in pdbs.items():
        assert pdb.doc["spec"]["selector"]["matchLabels"] == deployments[name].doc["spec"]["selector"]["matchLabels"]
        assert ("minAvailable" in pdb.doc["spec"]) != ("maxUnavailable" in pdb.doc["spec"])


def test_pdb_can_be_turned_off_per_service_even_though_defaults_turn_it_on():
    values = merged(MINIMAL, {"services": {"registry": {"pdb": {"enabled": False}}}})
    pdbs = {component(m) for m in of_kind(render(values), "PodDisruptionBudget")}
    assert pdbs == set(enabled_services(values)) - {"registry"} and pdbs


def test_autoscaling_replaces_fixed_replicas():
    values = merged(MINIMAL, {"services": {"registry": {"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 4}}}})
    manifests = render(values)
    deployment = _deployments_by_service(manifests)["registry"]
    (hpa,) = of_kind(manifests, "HorizontalPodAutoscaler")
    assert "replicas" not in deployment.doc["spec"]
    assert hpa.doc["spec"]["scaleTargetRef"]["name"] == deployment.name
    assert (hpa.doc["spec"]["minReplicas"], hpa.doc["spec"]["maxReplicas"]) == (2, 4)


def test_keda_scales_on_the_rpc_queue_with_the_pods_broker_uri():
    values = merged(MINIMAL, {"services": {"registry": {"keda": {"enabled": True, "queueLength": 30}}}})
    manifests = render(values)
    deployment = _deployments_by_service(manifests)["registry"]
    (scaled,) = of_kind(manifests, "ScaledObject")
    assert of_kind(manifests, "HorizontalPodAutoscaler") == []
    assert "replicas" not in deployment.doc["spec"]
    assert scaled.doc["spec"]["scaleTargetRef"]["name"] == deployment.name
    (trigger,) = scaled.doc["spec"]["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"]["queueName"] == "rpc-registry" and trigger["metadata"]["value"] == "30"
    env = _env(pod_spec(deployment)["containers"][0])
    assert trigger["metadata"]["hostFromEnv"] in env


def test_keda_and_hpa_together_are_refused_with_a_reason():
    values = merged(MINIMAL, {"services": {"registry": {"keda": {"enabled": True}, "autoscaling": {"enabled": True}}}})
    with pytest.raises(Exception, match="keda.enabled and autoscaling.enabled are both true"):
        render(values)


def test_enabling_a_service_adds_its_workload_with_its_default_port():
    base = merged(MINIMAL, only("registry"))
    assert set(_deployments_by_service(render(base))) == {"registry"}
    values = merged(base, {"services": {"ticketing": {"enabled": True, "replicaCount": 3}}})
    deployments = _deployments_by_service(render(values))
    assert set(deployments) == {"registry", "ticketing"}
    assert deployments["ticketing"].doc["spec"]["replicas"] == 3
    assert deployments["registry"].doc["spec"]["replicas"] == 1
    port = pod_spec(deployments["ticketing"])["containers"][0]["ports"][0]["containerPort"]
    assert port == DEFAULT_METRICS_PORTS["ticketing"]


def test_keda_is_refused_for_a_service_without_an_rpc_queue():
    values = merged(MINIMAL, {"services": {"gateway": {"keda": {"enabled": True}}}})
    with pytest.raises(Exception, match="gateway consumes no RPC queue"):
        render(values)


# -- per-service options and the gateway's HTTP API ------------------------------------------------

def _settings_file(manifests) -> dict:
    (config_map,) = [m for m in of_kind(manifests, "ConfigMap") if "redprop.yaml" in m.doc.get("data", {})
                     and "helm.sh/hook" not in m.doc["metadata"].get("annotations", {})]
    return yaml.safe_load(config_map.doc["data"]["redprop.yaml"])


def test_per_service_options_are_written_verbatim_to_the_settings_file():
    ticketing = {"sweep_interval": 30, "auto_dispatch": False, "disabled_categories": ["pest"],
                 "extra_holidays": ["2026-10-09"], "sla": {"emergency": {"response_hours": 0.5, "resolution_hours": 2,
                                                                         "basis": "calendar"}}}
    values = merged(MINIMAL, {"services": {"ticketing": {"options": ticketing},
                                           "evaluation": {"enabled": False, "options": {"scorecard_grace_days": 20}}},
                              "pluginServices": {"parking": merged(PARKING, {"options": {"zones": ["A", "B"]}})}})
    manifests = render(values)
    services = _settings_file(manifests)["services"]
    assert services["ticketing"]["options"] == ticketing
    assert services["evaluation"] == {"enabled": False, "max_workers": 10, "metrics_port": 9104,
                                      "options": {"scorecard_grace_days": 20}}
    assert services["parking"]["options"] == {"zones": ["A", "B"]}
    assert "options" not in services["registry"], "no options, no key"
    # The migrations read the same file, and a change of options rolls the pods.
    (hook_config,) = [m for m in of_kind(manifests, "ConfigMap") if "helm.sh/hook" in m.doc["metadata"].get("annotations", {})]
    assert yaml.safe_load(hook_config.doc["data"]["redprop.yaml"]) == _settings_file(manifests)
    changed = merged(values, {"services": {"ticketing": {"options": {"sweep_interval": 45}}}})
    checksum = lambda vs: _deployments_by_service(render(vs))["ticketing"].doc["spec"]["template"]["metadata"][  # noqa: E731
        "annotations"]["checksum/config"]
    assert checksum(values) != checksum(changed)


def test_the_gateway_serves_its_http_api_on_http_port():
    values = merged(MINIMAL, {"services": {"gateway": {"httpPort": 8443, "options": {"open311": {"contact": "x"}}}}})
    manifests = render(values)
    gateway = _deployments_by_service(manifests)["gateway"]
    (c,) = pod_spec(gateway)["containers"]
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"metrics": DEFAULT_METRICS_PORTS["gateway"], "http": 8443}
    # Its own database: people's accounts, sessions and API keys.
    assert _env(c)["REDPROP_SERVICES__GATEWAY__DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "gateway-database-url"
    (service,) = [s for s in of_kind(manifests, "Service") if component(s) == "gateway"]
    assert {p["name"]: p["port"] for p in service.doc["spec"]["ports"]} == {"metrics": DEFAULT_METRICS_PORTS["gateway"], "http": 8443}
    assert _settings_file(manifests)["services"]["gateway"]["options"] == {
        "http_port": 8443, "open311": {"contact": "x"}, "photos": {"path": "/var/lib/redprop/photos"}}
    # ... which the migration Job migrates with the others.
    assert any("REDPROP_SERVICES__GATEWAY__DATABASE_URL" in _env(pod_spec(job)["containers"][0])
               for job in of_kind(manifests, "Job"))
    # Only the HTTP port is open beyond the release and the monitoring; networkPolicy.httpFrom narrows it.
    peers = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
    (policy,) = of_kind(render(merged(values, {"networkPolicy": {"httpFrom": peers}})), "NetworkPolicy")
    (rule,) = [r for r in policy.doc["spec"]["ingress"] if {p["port"] for p in r["ports"]} == {8443}]
    assert rule["from"] == peers


@pytest.mark.parametrize("gateway, message", [
    ({"httpPort": 8080, "options": {"http_port": 9000}}, "options.http_port (9000) differs from httpPort (8080)"),
    ({"httpPort": 9106}, "httpPort and metricsPort are both 9106"),
])
def test_gateway_port_conflicts_are_refused(gateway, message):
    with pytest.raises(Exception, match=re.escape(message)):
        render(merged(MINIMAL, {"services": {"gateway": gateway}}))


def test_the_same_http_port_in_options_is_accepted():
    manifests = render(merged(MINIMAL, {"services": {"gateway": {"options": {"http_port": 8080}}}}))
    assert _settings_file(manifests)["services"]["gateway"]["options"] == {
        "http_port": 8080, "photos": {"path": "/var/lib/redprop/photos"}}


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_the_gateway_ingress_is_off_by_default_and_valid_when_on(kube_version):
    assert of_kind(render(MINIMAL, kube_version=kube_version), "Ingress") == []
    ingress_values = {"enabled": True, "className": "nginx", "host": "api.huangpu.example.gov.cn",
                      "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
                      "tls": [{"hosts": ["api.huangpu.example.gov.cn"], "secretName": "api-tls"}]}
    values = merged(MINIMAL, {"services": {"gateway": {"ingress": ingress_values}}})
    manifests = render(values, kube_version=kube_version)
    (ingress,) = of_kind(manifests, "Ingress")
    kv.validate(ingress.doc, kube_version, strict=True)
    spec = ingress.doc["spec"]
    assert spec["ingressClassName"] == "nginx" and spec["tls"] == ingress_values["tls"]
    assert ingress.doc["metadata"]["annotations"] == ingress_values["annotations"]
    (rule,) = spec["rules"]
    assert rule["host"] == "api.huangpu.example.gov.cn"
    (path,) = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/", "Prefix")
    (service,) = [s for s in of_kind(manifests, "Service") if component(s) == "gateway"]
    assert path["backend"]["service"] == {"name": service.name, "port": {"name": "http"}}
    assert "http" in {p["name"] for p in service.doc["spec"]["ports"]}
    # No gateway, no Ingress.
    assert of_kind(render(merged(values, {"services": {"gateway": {"enabled": False}}})), "Ingress") == []


def test_duplicate_metrics_ports_are_refused():
    values = merged(MINIMAL, {"services": {"ticketing": {"enabled": True, "metricsPort": 9101}}})
    with pytest.raises(Exception, match="both use metricsPort 9101"):
        render(values)


# -- configuration: what the services will actually read -----------------------------------------

def _secret_env(manifests, existing: bool) -> dict[str, str]:
    if existing:
        return {}
    (secret,) = [m for m in of_kind(manifests, "Secret") if "-rabbitmq-" not in m.name
                 and "federation" not in m.name and "helm.sh/hook" not in m.doc["metadata"].get("annotations", {})]
    return {k: base64.b64decode(v).decode() for k, v in secret.doc["data"].items()}


def test_the_services_accept_the_rendered_settings(release, tmp_path, monkeypatch):
    """Feed the ConfigMap and the Secret to redprop's own settings loader, as a pod would."""
    values, manifests = release
    expected = enabled_services(values)
    (config_map,) = [m for m in of_kind(manifests, "ConfigMap") if "redprop.yaml" in m.doc.get("data", {})
                     and "helm.sh/hook" not in m.doc["metadata"].get("annotations", {})]
    config_file = tmp_path / "redprop.yaml"
    rendered = yaml.safe_load(config_map.doc["data"]["redprop.yaml"])
    config_file.write_text(yaml.safe_dump(loadable_settings(rendered), allow_unicode=True), encoding="utf-8")
    secret = _secret_env(manifests, bool(values.get("existingSecret")))
    for var in [k for k in __import__("os").environ if k.startswith("REDPROP_")]:
        monkeypatch.delenv(var)
    for name, deployment in _deployments_by_service(manifests).items():
        env = _env(pod_spec(deployment)["containers"][0])
        for var, entry in env.items():
            if "valueFrom" in entry:
                key = entry["valueFrom"]["secretKeyRef"]["key"]
                fallback = ("amqp://u:p@broker:5672/v" if key == "amqp-uri"
                            else f"postgresql://u:p@db:5432/{name}")
                monkeypatch.setenv(var, secret.get(key, fallback))
            elif var.startswith("REDPROP_"):
                monkeypatch.setenv(var, entry["value"])
        monkeypatch.setenv("REDPROP_CONFIG", str(config_file))
        settings = load_settings()
        assert settings.district == values["district"]["code"]
        if "queue_type" in type(settings.messaging).model_fields:
            assert settings.messaging.queue_type == merged(DEFAULT_VALUES, values)["rabbitmq"]["queueType"]
        assert settings.service(name).enabled
        assert settings.metrics_port(name) == pod_spec(deployment)["containers"][0]["ports"][0]["containerPort"]
        if expected[name]["database"]:
            assert settings.database_url(name).startswith("postgresql://")
        # The service's own options arrive verbatim (the service validates them); an HTTP API's port
        # is the one the chart exposes.
        options = dict(expected[name]["options"])
        if expected[name].get("httpPort"):
            options["http_port"] = expected[name]["httpPort"]
        if name == "gateway":  # and its photo store's settings, from `photos`, which the gateway accepts
            options["photos"] = {**options.get("photos", {}), **photo_settings(values)}
            GatewayOptions.model_validate(settings.service(name).options)
        assert settings.service(name).options == options
        for var in env:
            if var.startswith("REDPROP_SERVICES__"):
                monkeypatch.delenv(var)


def photo_settings(values) -> dict:
    """``services.gateway.options.photos`` as the chart writes it from ``photos``."""
    photos = merged(DEFAULT_VALUES, values)["photos"]
    if photos["store"] == "filesystem":
        return {"path": "/var/lib/redprop/photos"}
    s3 = photos["s3"]
    written = {"bucket": s3["bucket"], "region": s3["region"], "addressing_style": s3["addressingStyle"]}
    written.update({key: s3[value] for key, value in (("endpoint_url", "endpointUrl"), ("prefix", "prefix"))
                    if s3[value]})
    return {"s3": written}


def _database_keys(values) -> set[str]:
    return {f"{name}-database-url" for name, svc in enabled_services(values).items() if svc["database"]}


def test_credentials_are_a_database_url_per_enabled_service_with_a_database(release):
    values, manifests = release
    wanted = {"amqp-uri"} | _database_keys(values)
    # Every key the pods read is one the values call for, and each is read by someone.
    photos_secret = merged(DEFAULT_VALUES, values)["photos"]["s3"]["existingSecret"]  # the operator's own
    read = {e["valueFrom"]["secretKeyRef"]["key"] for m in manifests if m.kind in ("Deployment", "Job")
            for c in pod_spec(m)["containers"] for e in c.get("env", [])
            if "valueFrom" in e and e["valueFrom"]["secretKeyRef"]["name"] != photos_secret}
    assert read == (wanted if enabled_services(values) else set())
    if values.get("existingSecret"):
        assert _secret_env(manifests, existing=True) == {}
    else:
        assert set(_secret_env(manifests, existing=False)) == wanted


def test_chart_managed_secret_holds_url_encoded_uris_per_district():
    values = merged(MINIMAL, {"rabbitmq": {"password": "p@ss/w:rd?"}, "postgresql": {"password": "a b#c"},
                              "services": {"ticketing": {"enabled": True}}})
    manifests = render(values, name="district-310101", namespace="redprop-310101")
    data = _secret_env(manifests, existing=False)
    assert "ticketing-database-url" in data and set(data) == {"amqp-uri"} | _database_keys(values)
    # Parsed by the libraries the services connect with.
    amqp = Connection(data["amqp-uri"])
    assert (amqp.transport_cls, amqp.hostname, amqp.port) == ("amqp", "rabbitmq.example.svc", 5672)
    assert amqp.userid == "redprop-310101" and amqp.password == "p@ss/w:rd?"
    assert amqp.virtual_host == "redprop-310101"
    pg = make_url(data["ticketing-database-url"])
    assert pg.password == "a b#c" and pg.database == "redprop_310101_ticketing"
    assert pg.username == "redprop_310101" and pg.host == "pg.example.svc" and pg.query == {"sslmode": "prefer"}
    # The config file carries no credentials.
    (config_map,) = [m for m in of_kind(manifests, "ConfigMap") if m.name == "district-310101-redprop"]
    assert "p@ss" not in config_map.doc["data"]["redprop.yaml"]


def test_existing_secret_replaces_the_chart_secret():
    values = merged(MINIMAL, {"existingSecret": "huangpu-credentials"})
    manifests = render(values)
    assert of_kind(manifests, "Secret") == []
    for m in manifests:
        if m.kind in ("Deployment", "Job"):
            for entry in _env(pod_spec(m)["containers"][0]).values():
                if "valueFrom" in entry:
                    assert entry["valueFrom"]["secretKeyRef"]["name"] == "huangpu-credentials"


def test_config_changes_roll_the_pods():
    a = _deployments_by_service(render(MINIMAL))["registry"]
    b = _deployments_by_service(render(merged(MINIMAL, {"config": {"logLevel": "DEBUG"}})))["registry"]
    c = _deployments_by_service(render(merged(MINIMAL, {"rabbitmq": {"password": "rotated"}})))["registry"]
    ann = lambda m: m.doc["spec"]["template"]["metadata"]["annotations"]  # noqa: E731
    assert ann(a)["checksum/config"] != ann(b)["checksum/config"]
    assert ann(a)["checksum/secret"] != ann(c)["checksum/secret"]


# -- hooks -----------------------------------------------------------------------------------------

def test_migrations_run_as_a_pre_install_pre_upgrade_hook_with_their_own_settings(example):
    manifests = render_example(example)
    hooks = [m for m in manifests if "helm.sh/hook" in m.doc["metadata"].get("annotations", {})]
    jobs = of_kind(manifests, "Job")
    assert jobs and all(j in hooks for j in jobs)
    weight = lambda m: int(m.doc["metadata"]["annotations"].get("helm.sh/hook-weight", "0"))  # noqa: E731
    (suite_job,) = [j for j in jobs if pod_spec(j)["containers"][0]["args"] == ["migrate", "--all"]]
    for m in hooks:
        if m.kind == "Pod":
            continue
        annotations = m.doc["metadata"]["annotations"]
        assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}, m
        assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"], m
    # Before install nothing of the release exists yet: everything the Job mounts is a hook created first.
    volumes = {v["name"]: v for v in pod_spec(suite_job)["volumes"]}
    config_name = volumes["config"]["configMap"]["name"]
    (config_hook,) = [m for m in hooks if m.kind == "ConfigMap" and m.name == config_name]
    assert weight(config_hook) < weight(suite_job)
    env = _env(pod_spec(suite_job)["containers"][0])
    secret_names = {e["valueFrom"]["secretKeyRef"]["name"] for e in env.values() if "valueFrom" in e}
    values = example_values(example)
    if values.get("existingSecret"):
        assert secret_names == {values["existingSecret"]}
    else:
        (secret_hook,) = [m for m in hooks if m.kind == "Secret"]
        assert secret_names == {secret_hook.name} and weight(secret_hook) < weight(suite_job)
    assert pod_spec(suite_job)["restartPolicy"] == "Never"
    assert pod_spec(suite_job).get("serviceAccountName") == "default", "the release's ServiceAccount does not exist yet"


def test_plugin_services_migrate_in_their_own_image():
    manifests = render_example(next(p for p in EXAMPLES if p.stem == "district-310105"))
    jobs = {tuple(pod_spec(j)["containers"][0]["args"]): j for j in of_kind(manifests, "Job")}
    assert set(jobs) == {("migrate", "--all"), ("migrate", "parking")}
    assert "redprop-parking:1.0.3" in pod_spec(jobs[("migrate", "parking")])["containers"][0]["image"]
    deployments = _deployments_by_service(manifests)
    assert pod_spec(deployments["parking"])["containers"][0]["image"].endswith("redprop/redprop-parking:1.0.3")
    assert pod_spec(deployments["registry"])["containers"][0]["image"] == "docker.io/redprop/redprop:0.1.0"


def test_helm_test_calls_readyz_of_every_service(example):
    manifests = render_example(example)
    (pod,) = of_kind(manifests, "Pod")
    assert pod.doc["metadata"]["annotations"]["helm.sh/hook"] == "test"
    urls = pod.doc["spec"]["containers"][0]["args"]
    services = of_kind(manifests, "Service")
    expected = {f"http://{s.name}.{s.doc['metadata']['namespace']}.svc:{s.doc['spec']['ports'][0]['port']}/readyz"
                for s in services}
    assert set(urls) == expected and expected


# -- network ----------------------------------------------------------------------------------------

def test_network_policy_admits_only_served_ports_and_allows_only_broker_database_and_dns(release):
    values, manifests = release
    values = merged({"rabbitmq": {}, "postgresql": {}}, values)
    (policy,) = of_kind(manifests, "NetworkPolicy")
    spec = policy.doc["spec"]
    assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
    ingress_ports = {p["port"] for rule in spec.get("ingress") or [] for p in rule.get("ports", [])}
    served_ports = {p["containerPort"] for d in of_kind(manifests, "Deployment")
                    for p in pod_spec(d)["containers"][0]["ports"]}
    assert ingress_ports == served_ports
    # Metrics only from the release's pods and the monitoring peers; an HTTP API (the gateway) from
    # networkPolicy.httpFrom, which is any peer when empty.
    http_ports = {svc["httpPort"] for svc in enabled_services(values).values() if svc.get("httpPort")}
    for rule in spec.get("ingress") or []:
        ports = {p["port"] for p in rule["ports"]}
        if ports & http_ports:
            assert ports <= http_ports and rule.get("from") is None
        else:
            assert rule["from"], "metrics are not open to everyone"
    egress_ports = {p["port"] for rule in spec["egress"] for p in rule.get("ports", [])}
    assert egress_ports == {53, values["rabbitmq"].get("port", 5672), values["postgresql"].get("port", 5432)}
    # It selects every pod of the release (services, migrations, test).
    selector = spec["podSelector"]["matchLabels"]
    for m in manifests:
        if m.kind in ("Deployment", "Job"):
            assert selector.items() <= m.doc["spec"]["template"]["metadata"]["labels"].items()


# -- monitoring ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("setting, apis, expected", [
    ("auto", (), False),
    ("auto", OPERATOR_APIS, True),
    (True, (), True),
    (False, OPERATOR_APIS, False),
])
def test_monitoring_pieces_are_gated_on_their_crd_or_a_value(setting, apis, expected):
    values = merged(MINIMAL, {"metrics": {"serviceMonitor": {"enabled": setting}, "prometheusRule": {"enabled": setting}}})
    kinds = {m.kind for m in render(values, api_versions=apis)}
    assert ("ServiceMonitor" in kinds) is expected
    assert ("PrometheusRule" in kinds) is expected


def test_service_monitor_scrapes_every_service_and_keeps_their_service_label():
    manifests = render(MINIMAL, api_versions=OPERATOR_APIS)
    (monitor,) = of_kind(manifests, "ServiceMonitor")
    selector = monitor.doc["spec"]["selector"]["matchLabels"]
    for service in of_kind(manifests, "Service"):
        assert selector.items() <= service.doc["metadata"]["labels"].items()
    (endpoint,) = monitor.doc["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics" and endpoint["honorLabels"] is True
    assert {"targetLabel": "district", "replacement": "310101", "action": "replace"} in endpoint["relabelings"]


def _alerts(manifests) -> dict[str, dict]:
    (rule,) = of_kind(manifests, "PrometheusRule")
    return {r["alert"]: r for g in rule.doc["spec"]["groups"] for r in g["rules"]}


def _promql_regex(expr: str, label: str) -> str:
    """The regex of a `label=~"..."` matcher, after PromQL's own string unescaping."""
    return re.search(label + r'=~"([^"]+)"', expr).group(1).encode().decode("unicode_escape")


def test_alerts_watch_exactly_the_enabled_services(release):
    values, manifests = release
    expected = enabled_services(values)
    alerts = _alerts(manifests)
    everything = set(effective_services(values)) | {"gateway", "ticketing", "parking", "nobody"}
    rpc = {name for name, svc in expected.items() if svc["rpc"]}
    if rpc:
        regex = _promql_regex(alerts["RedpropServiceWithoutConsumers"]["expr"], "queue")
        assert {name for name in everything if re.fullmatch(regex, f"rpc-{name}")} == rpc
        assert not re.fullmatch(regex, "rpc-") and not re.fullmatch(regex, f"x-rpc-{min(rpc)}")
    else:
        assert "RedpropServiceWithoutConsumers" not in alerts
    if expected:
        # ServiceMonitor's jobLabel is the component label, which spells _ as -.
        regex = _promql_regex(alerts["RedpropServiceDown"]["expr"], "job")
        assert {n for n in everything if re.fullmatch(regex, n.replace("_", "-"))} == set(expected)
    else:
        assert "RedpropServiceDown" not in alerts
    assert ("RedpropSlaBreachesRising" in alerts) is ("ticketing" in expected)


def test_prometheus_rule_has_the_promised_alerts():
    values = merged(MINIMAL, {"services": {"ticketing": {"enabled": True}}})
    (rule,) = of_kind(render(values, api_versions=OPERATOR_APIS, namespace="redprop-310101"), "PrometheusRule")
    alerts = {r["alert"]: r for g in rule.doc["spec"]["groups"] for r in g["rules"]}
    assert {"RedpropSlaBreachesRising", "RedpropDeadLetterQueueNotEmpty", "RedpropServiceWithoutConsumers",
            "RedpropHighErrorRate", "RedpropWorkerSaturation"} <= set(alerts)
    assert "redprop_ticketing_sla_breaches_total" in alerts["RedpropSlaBreachesRising"]["expr"]
    dlq = alerts["RedpropDeadLetterQueueNotEmpty"]["expr"]
    assert 'vhost="redprop-310101"' in dlq and "rabbitmq_queue_messages" in dlq
    # The PromQL regex (after PromQL's own string unescaping) matches the dead-letter queues only.
    regex = _promql_regex(dlq, "queue")
    assert re.fullmatch(regex, "redprop.dlq.registry") and not re.fullmatch(regex, "rpc-registry")
    consumers = alerts["RedpropServiceWithoutConsumers"]["expr"]
    assert "rabbitmq_queue_consumers" in consumers and 'vhost="redprop-310101"' in consumers
    error = alerts["RedpropHighErrorRate"]["expr"]
    # Server faults only: a caller's invalid, unknown, conflicting or forbidden request is an answer.
    assert "redprop_entrypoint_calls_total" in error and 'outcome=~"internal_error|unavailable|error"' in error
    saturation = alerts["RedpropWorkerSaturation"]["expr"]
    assert "redprop_workers_in_flight" in saturation and "redprop_workers_max" in saturation
    for alert in alerts.values():
        assert 'namespace="redprop-310101"' in alert["expr"] or "vhost=" in alert["expr"]
        assert alert["labels"]["severity"] in ("warning", "critical")
        # Prometheus' own template syntax survives Helm's templating.
        assert "{{ $labels." in alert["annotations"]["description"] or "{{ $value" in alert["annotations"]["description"]


def test_grafana_dashboard_is_valid_json_about_this_district(example):
    manifests = render_example(example)
    (dashboard,) = [m for m in of_kind(manifests, "ConfigMap") if m.doc["metadata"]["labels"].get("grafana_dashboard") == "1"]
    (text,) = dashboard.doc["data"].values()
    board = json.loads(text)
    code = example_values(example)["district"]["code"]
    assert board["uid"] == f"redprop-{code}"
    exprs = " ".join(t["expr"] for p in board["panels"] for t in p["targets"])
    for metric in ("redprop_entrypoint_calls_total", "redprop_entrypoint_duration_seconds_bucket",
                   "redprop_workers_in_flight", "redprop_workers_max", "rabbitmq_queue_messages",
                   "redprop_ticketing_sla_breaches_total"):
        assert metric in exprs
    assert "__" not in json.dumps(board["templating"]), "placeholders left unreplaced"


# -- multi-district: each release its own vhost, user, databases; federation to the city -----------

def test_each_district_has_its_own_vhost_user_and_databases():
    seen = {"vhost": set(), "user": set(), "namespace": set(), "db_prefix": set()}
    for path in EXAMPLES:
        values = example_values(path)
        manifests = render_example(path)
        (vhost,) = of_kind(manifests, "Vhost")
        (permission,) = of_kind(manifests, "Permission")
        (user,) = of_kind(manifests, "User")
        assert permission.doc["spec"]["vhost"] == vhost.doc["spec"]["name"], "a user gets rights on its own vhost only"
        assert permission.doc["spec"]["userReference"]["name"] == user.name
        seen["vhost"].add(vhost.doc["spec"]["name"])
        seen["user"].add(user.doc["spec"]["importCredentialsSecret"]["name"] + "/" + release_of(path)[1])
        seen["namespace"].add(release_of(path)[1])
        seen["db_prefix"].add(values["district"]["code"])
    for key, found in seen.items():
        assert len(found) == len(EXAMPLES), f"{key} shared between releases: {found}"


def test_district_events_are_federated_to_the_city_vhost():
    city = render_example(next(p for p in EXAMPLES if p.stem == "city"))
    (city_vhost,) = of_kind(city, "Vhost")
    (policy,) = [m for m in of_kind(city, "Policy") if m.doc["spec"]["applyTo"] == "exchanges"]
    spec = policy.doc["spec"]
    assert spec["vhost"] == city_vhost.doc["spec"]["name"] == "redprop-city"
    assert spec["applyTo"] == "exchanges" and spec["definition"] == {"federation-upstream-set": "all"}
    pattern = re.compile(spec["pattern"])
    for exchange in ("registry.events", "ticketing.events"):
        assert pattern.fullmatch(exchange)
    assert not pattern.fullmatch("registryxevents") and not pattern.fullmatch("redprop.dead-letter")
    exchanges = {m.doc["spec"]["name"]: m.doc["spec"] for m in of_kind(city, "Exchange")}
    assert exchanges["registry.events"]["type"] == "topic" and exchanges["registry.events"]["vhost"] == "redprop-city"
    upstream_names = set()
    for path in EXAMPLES:
        if path.stem == "city":
            continue
        manifests = render_example(path)
        (federation,) = [f for f in of_kind(manifests, "Federation") if f.name.endswith("-redprop-federation")]
        fs = federation.doc["spec"]
        assert fs["vhost"] == "redprop-city", "the upstream is declared in the city vhost"
        assert fs["rabbitmqClusterReference"] == {"name": "redprop-rabbitmq", "namespace": "redprop-city"}
        upstream_names.add(fs["name"])
        secrets = {m.name: m for m in of_kind(manifests, "Secret")}
        if fs["uriSecret"]["name"] in secrets:  # chart-built upstream URI: the district's own vhost
            uri = base64.b64decode(secrets[fs["uriSecret"]["name"]].doc["data"]["uri"]).decode()
            assert unquote(urlsplit(uri).path[1:]) == of_kind(manifests, "Vhost")[0].doc["spec"]["name"]
    assert len(upstream_names) == 3


# -- the way back: the city's matching.events federated down into every district vhost ---------------

DISTRICT_EXAMPLES = [p for p in EXAMPLES if p.stem != "city"]
CITY_EXAMPLE = next(p for p in EXAMPLES if p.stem == "city")


def _city_upstream(manifests):
    """(Federation, Policy) of the link from the city into the district's vhost, or None each."""
    federations = [m for m in of_kind(manifests, "Federation") if m.name.endswith("-city-upstream")]
    policies = [m for m in of_kind(manifests, "Policy") if m.doc["spec"]["name"] == "redprop-federate-city"]
    assert len(federations) <= 1 and len(policies) <= 1
    return (federations or [None])[0], (policies or [None])[0]


@pytest.mark.parametrize("path", DISTRICT_EXAMPLES, ids=[p.stem for p in DISTRICT_EXAMPLES])
def test_districts_federate_the_citys_matching_events_into_their_own_vhost(path):
    values = example_values(path)
    manifests = render_example(path)
    (vhost,) = of_kind(manifests, "Vhost")
    own_vhost = vhost.doc["spec"]["name"]
    federation, policy = _city_upstream(manifests)
    assert federation and policy, "a district with federation declares the way back from the city"

    fs = federation.doc["spec"]
    assert fs["vhost"] == own_vhost != "redprop-city", "the city is an upstream of the district's own vhost"
    assert fs["name"] == "city"
    assert fs["maxHops"] == 1, "a district's event that reached the city (one hop) must not travel on"
    assert fs["ackMode"] == "on-confirm"
    assert fs["rabbitmqClusterReference"] == {"name": "redprop-rabbitmq", "namespace": "redprop-city"}
    # Credentials the city issued, from an existing Secret: not the district's own, not built by the chart.
    secret = fs["uriSecret"]["name"]
    assert secret == values["rabbitmq"]["topology"]["federation"]["cityUpstream"]["uriSecret"]
    (to_city,) = [f for f in of_kind(manifests, "Federation") if f is not federation]
    assert secret != to_city.doc["spec"]["uriSecret"]["name"]
    assert secret != values.get("existingSecret")
    assert secret not in {m.name for m in of_kind(manifests, "Secret")}

    ps = policy.doc["spec"]
    assert ps["vhost"] == own_vhost
    assert ps["applyTo"] == "exchanges"
    assert ps["definition"] == {"federation-upstream": fs["name"]}, "from the city upstream only, not every upstream"
    pattern = re.compile(ps["pattern"])
    assert pattern.fullmatch("matching.events")
    for other in ("matchingxevents", "matching.events.x", "registry.events", "ticketing.events", "redprop.dead-letter"):
        assert not pattern.fullmatch(other), other
    # The district's matching service stays a district one (the default role).
    assert "role" not in (_settings_file(manifests)["services"]["matching"].get("options") or {})
    name, namespace = release_of(path)
    notes = render_files(values, name=name, namespace=namespace, api_versions=OPERATOR_APIS)["redprop/templates/NOTES.txt"]
    assert "The way back: matching.events of the city vhost" in notes and f"Secret {secret}" in notes


def test_the_city_declares_matching_events_runs_the_city_role_and_no_way_back():
    manifests = render_example(CITY_EXAMPLE)
    assert _city_upstream(manifests) == (None, None)
    assert of_kind(manifests, "Federation") == []
    exchanges = {m.doc["spec"]["name"]: m.doc["spec"] for m in of_kind(manifests, "Exchange")}
    assert exchanges["matching.events"]["vhost"] == "redprop-city" and exchanges["matching.events"]["type"] == "topic"
    (policy,) = [m for m in of_kind(manifests, "Policy") if m.doc["spec"]["applyTo"] == "exchanges"]
    assert re.compile(policy.doc["spec"]["pattern"]).fullmatch("matching.events")
    assert _settings_file(manifests)["services"]["matching"]["options"] == {"role": "city"}
    # ...and the city's release ignores cityUpstream even when it is set.
    city_values = merged(example_values(CITY_EXAMPLE), {"rabbitmq": {"topology": {"federation": {
        "cityUpstream": {"enabled": True, "uriSecret": "whatever"}}}}})
    assert _city_upstream(render(city_values, name="city", namespace="redprop-city",
                                 api_versions=OPERATOR_APIS)) == (None, None)


def _district(path, *layers):
    name, namespace = release_of(path)
    return render(merged(example_values(path), *layers), name=name, namespace=namespace, api_versions=OPERATOR_APIS)


def _federation(**settings):
    return {"rabbitmq": {"topology": {"federation": settings}}}


@pytest.mark.parametrize("layer", [
    _federation(cityUpstream={"enabled": False}),
    _federation(enabled=False),
    {"rabbitmq": {"topology": {"enabled": False}}},
], ids=["cityUpstream-disabled", "federation-disabled", "topology-disabled"])
def test_no_way_back_when_disabled(layer):
    path = DISTRICT_EXAMPLES[0]
    manifests = _district(path, layer)
    assert _city_upstream(manifests) == (None, None)
    still_up = [f for f in of_kind(manifests, "Federation") if f.name.endswith("-redprop-federation")]
    fed = merged(example_values(path), layer)["rabbitmq"]["topology"]
    assert len(still_up) == int(fed["enabled"] and fed["federation"].get("enabled", True)), \
        "turning off the way back leaves the way up alone"


def test_way_back_settings_are_rendered():
    path = next(p for p in DISTRICT_EXAMPLES if p.stem.endswith("310104"))
    manifests = _district(path, _federation(ackMode="on-publish", policyPriority=7, cityUpstream={
        "uriSecret": "xuhui-from-city", "exchanges": ["matching.events", "evaluation.events"], "maxHops": 2}))
    federation, policy = _city_upstream(manifests)
    assert federation.doc["spec"]["uriSecret"] == {"name": "xuhui-from-city"}
    assert federation.doc["spec"]["maxHops"] == 2 and federation.doc["spec"]["ackMode"] == "on-publish"
    assert policy.doc["spec"]["priority"] == 7 and policy.doc["spec"]["vhost"] == "redprop-310104"
    pattern = re.compile(policy.doc["spec"]["pattern"])
    assert pattern.fullmatch("matching.events") and pattern.fullmatch("evaluation.events")
    assert not pattern.fullmatch("registry.events")


@pytest.mark.parametrize("layer, message", [
    (_federation(cityUpstream={"uriSecret": ""}), "cityUpstream.uriSecret is required"),
    (_federation(cityUpstream={"uriSecret": "redprop-federation-upstream"}), "must not be the district's own upstream Secret"),
], ids=["missing", "district-own"])
def test_way_back_needs_credentials_the_city_issued(layer, message):
    path = next(p for p in DISTRICT_EXAMPLES if p.stem.endswith("310101"))
    with pytest.raises(helm_python.HelmError, match=re.escape(message)):
        _district(path, layer)


def test_the_city_keeps_matching_events_while_it_runs_matching():
    without = [e for e in DEFAULT_VALUES["rabbitmq"]["topology"]["federation"]["exchanges"] if e != "matching.events"]
    layer = _federation(exchanges=without)
    with pytest.raises(helm_python.HelmError, match=re.escape("exchanges must include matching.events")):
        render(merged(example_values(CITY_EXAMPLE), layer), name="city", namespace="redprop-city",
               api_versions=OPERATOR_APIS)
    # A city that runs no matching may federate without it.
    manifests = render(merged(example_values(CITY_EXAMPLE), layer, {"services": {"matching": {"enabled": False}}}),
                       name="city", namespace="redprop-city", api_versions=OPERATOR_APIS)
    assert "matching.events" not in {m.doc["spec"]["name"] for m in of_kind(manifests, "Exchange")}


def test_notes_tell_the_district_and_next_steps(example):
    name, namespace = release_of(example)
    notes = render_files(example_values(example), name=name, namespace=namespace,
                         api_versions=OPERATOR_APIS)["redprop/templates/NOTES.txt"]
    assert example_values(example)["district"]["code"] in notes
    assert f"helm test {name} -n {namespace}" in notes
    assert "/readyz" in notes
