"""What the chart's pods are started with: the settings checked before migrating, no service links,
plugin services marked as living in another image."""

from __future__ import annotations

import yaml

from tests.chart.chartlib import (
    MINIMAL,
    effective_services,
    example_values,
    of_kind,
    pod_spec,
    render,
    render_example,
)


def test_every_migration_job_checks_the_settings_first_with_the_same_environment(example):
    jobs = of_kind(render_example(example), "Job")
    assert jobs
    for job in jobs:
        spec = pod_spec(job)
        [check] = spec["initContainers"]
        [migrate] = spec["containers"]
        assert check["args"] == ["config", "--check"] and migrate["args"][0] == "migrate"
        for key in ("image", "command", "env", "volumeMounts", "securityContext"):
            assert check[key] == migrate[key], key


def test_no_pod_gets_service_link_variables(example):
    # Kubernetes would add REDPROP_<SERVICE>_PORT... for Services named redprop-*, which the settings refuse.
    for m in of_kind(render_example(example), "Deployment") + of_kind(render_example(example), "Job"):
        assert pod_spec(m)["enableServiceLinks"] is False, m


def test_plugin_services_are_external_in_redprop_yaml_and_first_party_ones_are_not(example):
    values = example_values(example)
    [config_map] = [m for m in of_kind(render_example(example), "ConfigMap") if m.template == "templates/configmap.yaml"]
    settings = yaml.safe_load(config_map.doc["data"]["redprop.yaml"])
    for name, svc in effective_services(values).items():
        assert settings["services"][name].get("external", False) is svc["plugin"], name


def test_the_chart_writes_plain_postgresql_urls():
    import base64

    [secret] = [m for m in of_kind(render(MINIMAL), "Secret") if m.template == "templates/secret.yaml"]
    urls = {k: base64.b64decode(v).decode() for k, v in secret.doc["data"].items() if k.endswith("-database-url")}
    assert urls
    for url in urls.values():
        assert url.startswith("postgresql://") and "pg-secret@pg.example.svc:5432/" in url
