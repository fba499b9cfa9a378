"""The gateway's OIDC client secret in the chart (values ``oidc``): from an existing Secret into the variable the
gateway's settings name, never into redprop.yaml; rendered settings the gateway accepts."""

from __future__ import annotations

import pytest
import yaml

from redprop.services.gateway.options import GatewayOptions
from tests.chart.chartlib import MINIMAL, component, merged, of_kind, pod_spec, render
from tests.chart.test_chart_photos import _valid

PROVIDER = {"issuer": "https://id.example.gov.cn/realms/huangpu", "client_id": "redprop-workbench",
            "jwks_url": "https://id.example.gov.cn/realms/huangpu/protocol/openid-connect/certs"}


def _env(manifests, name: str) -> list[dict]:
    (deployment,) = [m for m in of_kind(manifests, "Deployment") if component(m) == name]
    return pod_spec(deployment)["containers"][0].get("env", [])


def _settings(manifests) -> dict:
    (config_map,) = [m for m in of_kind(manifests, "ConfigMap") if "redprop.yaml" in m.doc.get("data", {})
                     and "helm.sh/hook" not in m.doc["metadata"].get("annotations", {})]
    return yaml.safe_load(config_map.doc["data"]["redprop.yaml"])


@pytest.mark.parametrize("variable", [None, "HUANGPU_ID_SECRET"])
def test_the_client_secret_comes_from_the_existing_secret_into_the_gateway_only(variable):
    oidc = {**PROVIDER, **({"client_secret_env": variable} if variable else {})}
    values = merged(MINIMAL, {"services": {"gateway": {"options": {"oidc": oidc}}},
                              "oidc": {"existingSecret": "huangpu-oidc"}})
    manifests = render(values)
    expected = {"name": variable or "OIDC_CLIENT_SECRET",
                "valueFrom": {"secretKeyRef": {"name": "huangpu-oidc", "key": "client-secret"}}}
    assert expected in _env(manifests, "gateway")
    for other in ("registry", "ticketing"):
        assert all(e["name"] != expected["name"] for e in _env(manifests, other))
    rendered = _settings(manifests)["services"]["gateway"]["options"]
    assert GatewayOptions.model_validate(rendered).oidc.client_id == "redprop-workbench"
    assert "huangpu-oidc" not in yaml.safe_dump(rendered)  # the Secret stays out of redprop.yaml
    _valid(values)  # valid Kubernetes, and the chart lints strictly


def test_without_a_secret_nothing_is_added():
    manifests = render(MINIMAL)
    assert all("OIDC" not in e["name"] for e in _env(manifests, "gateway"))


def test_the_values_schema_refuses_an_empty_key_and_unknown_fields():
    with pytest.raises(Exception, match="clientSecretKey|minLength|at least"):
        render(merged(MINIMAL, {"oidc": {"existingSecret": "s", "clientSecretKey": ""}}))
    with pytest.raises(Exception, match="(?i)additional|clientSecret\\b|not allowed"):
        render(merged(MINIMAL, {"oidc": {"clientSecret": "in-values"}}))
