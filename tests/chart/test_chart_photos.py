"""The gateway's photo store in the chart (values ``photos``): a volume by default, or an S3-compatible bucket
whose access key comes from an existing Secret; rendered into the gateway's settings, which it accepts."""

from __future__ import annotations

import helm_python
import kubernetes_validate.utils as kv
import pytest
import yaml

from redprop.services.gateway.options import GatewayOptions
from tests.chart.chartlib import (
    CHART_DIR,
    KUBE_VERSIONS,
    MINIMAL,
    component,
    merged,
    of_kind,
    pod_spec,
    render,
)

S3 = {"photos": {"store": "s3", "s3": {"endpointUrl": "http://minio.storage.svc:9000", "bucket": "huangpu-photos",
                                       "prefix": "310101/", "existingSecret": "photos-s3"}}}


def _gateway(manifests):
    (deployment,) = [m for m in of_kind(manifests, "Deployment") if component(m) == "gateway"]
    return pod_spec(deployment)


def _settings(manifests) -> dict:
    (config_map,) = [m for m in of_kind(manifests, "ConfigMap") if "redprop.yaml" in m.doc.get("data", {})
                     and "helm.sh/hook" not in m.doc["metadata"].get("annotations", {})]
    return yaml.safe_load(config_map.doc["data"]["redprop.yaml"])


def _valid(values) -> None:
    """Every manifest valid Kubernetes (kubernetes-validate), and the chart lints strictly with these values."""
    for m in render(values):
        group = m.doc["apiVersion"].rpartition("/")[0]
        if group == "" or "." not in group or group.endswith(".k8s.io"):  # built-in kinds
            kv.validate(m.doc, KUBE_VERSIONS[0], strict=True)
    report = helm_python.lint(CHART_DIR, values, strict=True, kube_version=f"v{KUBE_VERSIONS[0]}")
    assert report["errors"] == [] and [m for m in report["messages"] if m["severity"] >= 2] == [], report


def test_by_default_photos_are_on_a_claim_mounted_in_the_gateway_only():
    values = merged(MINIMAL, {"services": {"gateway": {"options": {"photos": {"max_bytes": 2097152}}}},
                              "photos": {"volume": {"size": "20Gi", "storageClassName": "fast"}}})
    manifests = render(values)
    _valid(values)
    (claim,) = of_kind(manifests, "PersistentVolumeClaim")
    assert claim.doc["spec"] == {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                                 "resources": {"requests": {"storage": "20Gi"}}}
    assert claim.doc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"  # outlives an uninstall
    gateway = _gateway(manifests)
    assert {"name": "photos", "persistentVolumeClaim": {"claimName": claim.name}} in gateway["volumes"]
    assert {"name": "photos", "mountPath": "/var/lib/redprop/photos"} in gateway["containers"][0]["volumeMounts"]
    others = [pod_spec(m) for m in of_kind(manifests, "Deployment") if component(m) != "gateway"]
    assert others and not any(v["name"] == "photos" for spec in others for v in spec["volumes"])
    settings = _settings(manifests)
    photos = settings["services"]["gateway"]["options"]["photos"]
    assert photos == {"path": "/var/lib/redprop/photos", "max_bytes": 2097152}  # its own options kept
    assert "gateway.photo_store" not in settings.get("plugins", {})
    assert GatewayOptions.model_validate(settings["services"]["gateway"]["options"]).photos.path == photos["path"]


def test_an_existing_claim_is_used_as_it_is():
    manifests = render(merged(MINIMAL, {"photos": {"volume": {"existingClaim": "district-photos"}}}))
    assert of_kind(manifests, "PersistentVolumeClaim") == []
    assert {"name": "photos", "persistentVolumeClaim": {"claimName": "district-photos"}} in _gateway(manifests)["volumes"]


def test_the_s3_store_gets_its_settings_and_its_key_from_the_existing_secret():
    values = merged(MINIMAL, S3, {"services": {"gateway": {"replicaCount": 3}}})
    manifests = render(values)
    _valid(values)
    assert of_kind(manifests, "PersistentVolumeClaim") == []
    settings = _settings(manifests)
    assert settings["plugins"]["gateway.photo_store"] == "s3"
    options = GatewayOptions.model_validate(settings["services"]["gateway"]["options"])
    assert (options.photos.s3.endpoint_url, options.photos.s3.bucket, options.photos.s3.prefix,
            options.photos.s3.addressing_style) == ("http://minio.storage.svc:9000", "huangpu-photos", "310101/", "path")
    gateway = _gateway(manifests)
    env = {e["name"]: e for e in gateway["containers"][0]["env"]}
    for var, key in ((options.photos.s3.access_key_id_env, "access-key-id"),
                     (options.photos.s3.secret_access_key_env, "secret-access-key")):
        assert env[var]["valueFrom"]["secretKeyRef"] == {"name": "photos-s3", "key": key}
    assert not any(v["name"] == "photos" for v in gateway["volumes"])
    others = [pod_spec(m)["containers"][0] for m in of_kind(manifests, "Deployment") if component(m) != "gateway"]
    assert not any(e["name"].startswith("PHOTOS_S3_") for c in others for e in c.get("env", []))
    # The key is never in the settings file or a Secret the chart renders.
    rendered = yaml.safe_dump([m.doc for m in manifests])
    assert "photos-s3" in rendered and "secret-access-key" in rendered
    assert not any(m.name == "photos-s3" for m in of_kind(manifests, "Secret"))


@pytest.mark.parametrize("values, message", [
    ({"photos": {"store": "s3", "s3": {"existingSecret": "photos-s3"}}}, "photos.s3.bucket is required"),
    ({"photos": {"store": "s3", "s3": {"bucket": "huangpu-photos"}}}, "photos.s3.existingSecret is required"),
    ({"services": {"gateway": {"replicaCount": 2}}}, "more than one gateway replica needs ReadWriteMany"),
    ({"services": {"gateway": {"autoscaling": {"enabled": True}}}}, "more than one gateway replica needs ReadWriteMany"),
])
def test_a_store_that_cannot_work_fails_naming_the_value(values, message):
    with pytest.raises(helm_python.errors.HelmError, match=message):
        render(merged(MINIMAL, values))


@pytest.mark.parametrize("values", [
    {"photos": {"store": "minio"}},
    {"photos": {"volume": {"accessModes": ["ReadWriteSometimes"]}}},
    {"photos": {"s3": {"bucket": "Not_A_Bucket"}}},
    {"photos": {"s3": {"endpointUrl": "minio:9000"}}},
    {"photos": {"s3": {"secretAccessKey": "never-in-values"}}},
])
def test_the_schema_refuses_bad_photo_values(values):
    with pytest.raises(helm_python.errors.HelmError):
        render(merged(MINIMAL, values))


def test_replicas_share_a_read_write_many_volume():
    manifests = render(merged(MINIMAL, {"services": {"gateway": {"replicaCount": 2}},
                                        "photos": {"volume": {"accessModes": ["ReadWriteMany"]}}}))
    (claim,) = of_kind(manifests, "PersistentVolumeClaim")
    assert claim.doc["spec"]["accessModes"] == ["ReadWriteMany"]
