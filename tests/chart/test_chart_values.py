"""values.schema.json rejects bad values with a message naming them, and values.yaml documents every value."""

from __future__ import annotations

import json
import re
import tomllib

import helm_python
import pytest
import yaml

from redprop.config import DEFAULT_METRICS_PORTS, MessagingSettings
from tests.chart.chartlib import CHART_DIR, MINIMAL, ROOT, chart, merged, render

VALUES_TEXT = (CHART_DIR / "values.yaml").read_text(encoding="utf-8")
VALUES = yaml.safe_load(VALUES_TEXT)
SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("bad, expected", [
    ({"services": {"registry": {"replicaCount": "two"}}}, "at '/services/registry/replicaCount': got string, want integer"),
    ({"services": {"ticketin": {"enabled": True}}}, "at '/services': additional properties 'ticketin' not allowed"),
    ({"services": {"registry": {"enabled": "yes"}}}, "at '/services/registry/enabled': got string, want boolean"),
    ({"services": {"registry": {"maxWorkers": 0}}}, "/services/registry/maxWorkers"),
    ({"services": {"registry": {"metricsPort": 70000}}}, "/services/registry/metricsPort"),
    ({"services": {"registry": {"resourcez": {}}}}, "additional properties 'resourcez' not allowed"),
    ({"services": {"ticketing": {"options": "fast"}}}, "at '/services/ticketing/options': got string, want object"),
    ({"services": {"evaluation": {"options": [1]}}}, "at '/services/evaluation/options': got array, want object"),
    ({"services": {"registry": {"httpPort": 8080}}}, "additional properties 'httpPort' not allowed"),
    ({"services": {"gateway": {"httpPort": "8080"}}}, "at '/services/gateway/httpPort': got string, want integer"),
    ({"services": {"gateway": {"httpPort": 0}}}, "/services/gateway/httpPort"),
    ({"services": {"gateway": {"database": "no"}}}, "at '/services/gateway/database': got string, want boolean"),
    ({"services": {"gateway": {"ingress": {"pathType": "Glob"}}}}, "/services/gateway/ingress/pathType"),
    ({"services": {"gateway": {"ingress": {"hosts": ["a.example"]}}}}, "additional properties 'hosts' not allowed"),
    ({"networkPolicy": {"httpFrom": {"podSelector": {}}}}, "at '/networkPolicy/httpFrom': got object, want array"),
    ({"image": {"tag": "latest"}}, "/image/tag"),
    ({"district": {"code": "31010"}}, "/district/code"),
    ({"role": "province"}, "/role"),
    ({"replicaCount": 2}, "additional properties 'replicaCount' not allowed"),
    ({"metrics": {"serviceMonitor": {"enabled": "yes"}}}, "/metrics/serviceMonitor/enabled"),
    ({"config": {"messaging": {"rpc_timeot": 5}}}, "additional properties 'rpc_timeot' not allowed"),
    ({"rabbitmq": {"topology": {"federation": {"cityUpstream": {"maxHops": 0}}}}},
     "/rabbitmq/topology/federation/cityUpstream/maxHops"),
    ({"rabbitmq": {"topology": {"federation": {"cityUpstream": {"maxHops": "1"}}}}},
     "at '/rabbitmq/topology/federation/cityUpstream/maxHops': got string, want integer"),
    ({"rabbitmq": {"topology": {"federation": {"cityUpstream": {"maxHops": 1.5}}}}},
     "/rabbitmq/topology/federation/cityUpstream/maxHops"),
    ({"rabbitmq": {"topology": {"federation": {"cityUpstream": {"exchanges": []}}}}},
     "/rabbitmq/topology/federation/cityUpstream/exchanges"),
    ({"rabbitmq": {"topology": {"federation": {"cityUpstream": {"exchanges": ["matching events"]}}}}},
     "/rabbitmq/topology/federation/cityUpstream/exchanges/0"),
    ({"rabbitmq": {"topology": {"federation": {"cityUpstream": {"uriSecret": "Not_A_Secret"}}}}},
     "/rabbitmq/topology/federation/cityUpstream/uriSecret"),
    ({"rabbitmq": {"topology": {"federation": {"cityUpstream": {"enable": True}}}}},
     "additional properties 'enable' not allowed"),
    ({"pluginServices": {"parking": {"enabled": True, "metricsPort": 9120}}}, "missing property 'image'"),
    ({"pluginServices": {"Bad-Name": {"enabled": True, "metricsPort": 9120, "image": {"repository": "x"}}}}, "invalid propertyName 'Bad-Name'"),
    ({"pluginServices": {"parking": {"enabled": True, "metricsPort": 9120, "image": {"repository": "x"}, "options": "x"}}},
     "at '/pluginServices/parking/options': got string, want object"),
])
def test_schema_rejects_bad_values_with_a_clear_message(bad, expected):
    values = merged(MINIMAL, bad)
    with pytest.raises(helm_python.HelmValuesError) as caught:
        chart().validate_schema(values)
    assert expected in str(caught.value)
    # An install renders nothing with them either (Helm validates before rendering).
    with pytest.raises(helm_python.HelmError) as caught:
        render(values)
    assert expected in str(caught.value)


def test_schema_accepts_the_defaults_a_plugin_service_and_free_form_options():
    chart().validate_schema(VALUES)
    chart().validate_schema(merged(MINIMAL, {"pluginServices": {"parking": {
        "enabled": True, "metricsPort": 9120, "image": {"repository": "huangpu/redprop-parking", "tag": "1.2.0"},
        "database": False, "options": {"zones": ["A", "B"]}}}}))
    chart().validate_schema(merged(MINIMAL, {"services": {
        "ticketing": {"options": {"sweep_interval": 30, "sla": {"emergency": {"response_hours": 0.5}}}},
        "gateway": {"httpPort": 8443, "options": {"api_keys": []},
                    "ingress": {"enabled": True, "host": "api.huangpu.example.gov.cn",
                                "tls": [{"hosts": ["api.huangpu.example.gov.cn"], "secretName": "api-tls"}]}}}}))


def _packaged_services() -> dict[str, str]:
    """Service name -> the services/*/pyproject.toml registering it under `redprop.services` (from the
    files, not from what happens to be installed)."""
    found = {}
    for pyproject in sorted((ROOT / "services").glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        for name in project.get("entry-points", {}).get("redprop.services", {}):
            assert name not in found, f"{name} is registered by {found.get(name)} and {pyproject}"
            found[name] = str(pyproject.relative_to(ROOT))
    return found


def test_the_chart_knows_every_first_party_service_and_every_packaged_one():
    services = VALUES["services"]
    assert set(services) == set(DEFAULT_METRICS_PORTS)
    for name, svc in services.items():
        assert svc["metricsPort"] == DEFAULT_METRICS_PORTS[name], name
    packaged = _packaged_services()
    assert packaged, "no services/*/pyproject.toml registers a service under redprop.services"
    assert {name: path for name, path in packaged.items() if name not in services} == {}, \
        "a packaged service the chart does not know: add it to values.yaml, the schema and DEFAULT_METRICS_PORTS"
    # The one image installs every services/* package (test_docker.py), so a release runs them all by
    # default and turns off what it does not need.
    assert {name for name, svc in services.items() if svc["enabled"]} == set(DEFAULT_METRICS_PORTS)


def test_schema_knows_exactly_the_first_party_services():
    assert set(SCHEMA["properties"]["services"]["properties"]) == set(DEFAULT_METRICS_PORTS)
    assert SCHEMA["properties"]["services"]["additionalProperties"] is False


def test_schema_messaging_matches_the_applications_settings():
    # Issue 20's two settings (queue_type, written from rabbitmq.queueType, and delivery_limit) are in the
    # settings model once branch cluster's code lands; the schema knows them already.
    assert set(SCHEMA["properties"]["config"]["properties"]["messaging"]["properties"]) == (
        set(MessagingSettings.model_fields) | {"queue_type", "delivery_limit"})


def _leaves(node, prefix=""):
    """Dotted paths of the values a user sets (maps are walked, except free-form ones that are empty)."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix


DOCUMENTED = set(re.findall(r"^\s*## @param ([A-Za-z0-9_.\-]+) \S", VALUES_TEXT, flags=re.M))


def _documented(path: str) -> bool:
    parts = path.split(".")
    return any(".".join(parts[:n]) in DOCUMENTED for n in range(len(parts), 0, -1))


def test_every_value_is_documented():
    undocumented = [p for p in _leaves(VALUES) if not _documented(p)]
    assert undocumented == []


def test_every_documented_parameter_exists():
    def exists(path):
        node = VALUES
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    assert sorted(p for p in DOCUMENTED if not exists(p)) == []


def test_every_value_is_in_the_schema():
    def schema_node(path):
        node = SCHEMA
        for part in path.split("."):
            if "$ref" in node:
                node = SCHEMA["definitions"][node["$ref"].rsplit("/", 1)[-1]]
            props = node.get("properties", {})
            if part in props:
                node = props[part]
            elif isinstance(node.get("additionalProperties"), dict):
                node = node["additionalProperties"]
            elif node.get("type") == "object" and "additionalProperties" not in node:
                return node  # free-form (Kubernetes objects, labels)
            else:
                return None
        return node

    missing = [p for p in _leaves(VALUES) if schema_node(p) is None]
    assert missing == []
