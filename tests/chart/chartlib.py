"""Rendering the chart offline with Helm's own engine (helm-python-sdk embeds Helm 4's Go SDK).

``render(values, ...)`` returns the manifests as parsed documents, each tagged with the template it came
from. Kubernetes version and the API versions the cluster would advertise (for the
``.Capabilities.APIVersions.Has`` gates) are passed to the engine the way ``helm template
--kube-version --api-versions`` does.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate.utils as kv
import yaml
from helm_python import _native

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "charts" / "redprop"
EXAMPLES = sorted((CHART_DIR / "examples").glob("*.yaml"))

#: The oldest Kubernetes the chart promises (Chart.yaml kubeVersion allows 1.27+, CI checks 1.30)
#: and the newest one kubernetes-validate knows.
KUBE_VERSIONS = ["1.30.0", kv.latest_version()]

#: What a cluster with the Prometheus Operator, KEDA and the RabbitMQ operators advertises.
OPERATOR_APIS = (
    "monitoring.coreos.com/v1",
    "monitoring.coreos.com/v1/ServiceMonitor",
    "monitoring.coreos.com/v1/PrometheusRule",
    "keda.sh/v1alpha1",
    "keda.sh/v1alpha1/ScaledObject",
    "rabbitmq.com/v1beta1",
    "rabbitmq.com/v1beta1/RabbitmqCluster",
)

#: libyaml's safe loader when PyYAML has it (parsing the rendered manifests is most of the tests' time).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Minimal values that make a district release installable (external broker and database).
MINIMAL = {
    "district": {"code": "310101"},
    "rabbitmq": {"host": "rabbitmq.example.svc", "password": "amqp-secret"},
    "postgresql": {"host": "pg.example.svc", "password": "pg-secret"},
    "privacy": {"existingSecret": "redprop-privacy-keys"},
}


@dataclass(frozen=True)
class Manifest:
    template: str
    doc: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.doc["kind"]

    @property
    def name(self) -> str:
        return self.doc["metadata"]["name"]

    def __repr__(self) -> str:  # readable assertion messages
        return f"<{self.kind} {self.name} from {self.template}>"


@functools.lru_cache(maxsize=1)
def chart() -> helm_python.Chart:
    return helm_python.Chart.load(CHART_DIR)


def example_values(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def release_of(path: Path) -> tuple[str, str]:
    """(release name, namespace) an example is installed as, per its header and docs/deploy.md."""
    if path.stem == "city":
        return "city", "redprop-city"
    code = path.stem.split("-")[-1]
    return f"district-{code}", f"redprop-{code}"


@functools.lru_cache(maxsize=256)
def _render_cached(values_json: str, name: str, namespace: str, kube_version: str,
                   api_versions: tuple[str, ...], is_upgrade: bool) -> str:
    opts = {
        "name": name, "namespace": namespace, "kube_version": f"v{kube_version}",
        "api_versions": list(api_versions), "is_install": not is_upgrade, "is_upgrade": is_upgrade,
    }
    # Chart.render() does not expose kube_version/api_versions yet; the native call accepts them.
    return _native.call_string("helm_render", chart()._raw(), values_json, json.dumps(opts))


def render_files(values: dict[str, Any] | None = None, *, name: str = "redprop", namespace: str = "redprop",
                 kube_version: str = KUBE_VERSIONS[0], api_versions: tuple[str, ...] = (),
                 is_upgrade: bool = False) -> dict[str, str]:
    """Template path -> rendered text (NOTES.txt included), or raise the engine's error."""
    values_json = json.dumps(values or {}, sort_keys=True)
    return json.loads(_render_cached(values_json, name, namespace, kube_version, tuple(api_versions), is_upgrade))


def render(values: dict[str, Any] | None = None, **kwargs) -> list[Manifest]:
    manifests = []
    for template, text in sorted(render_files(values, **kwargs).items()):
        if template.endswith("NOTES.txt"):
            continue
        for doc in yaml.load_all(text, Loader=_SAFE_LOADER):
            if doc:
                manifests.append(Manifest(template.split("/", 1)[1], doc))
    return manifests


def render_example(path: Path, *, kube_version: str = KUBE_VERSIONS[0],
                   api_versions: tuple[str, ...] = OPERATOR_APIS) -> list[Manifest]:
    name, namespace = release_of(path)
    return render(example_values(path), name=name, namespace=namespace, kube_version=kube_version,
                  api_versions=api_versions)


def merged(*layers: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge value layers (later wins), like several -f files."""
    out: dict[str, Any] = {}
    for layer in layers:
        _merge(out, copy.deepcopy(layer))
    return out


def _merge(dst: dict, src: dict) -> None:
    for key, value in src.items():
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            _merge(dst[key], value)
        else:
            dst[key] = value


def of_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m.kind == kind]


def pod_spec(m: Manifest) -> dict[str, Any]:
    if m.kind == "Pod":
        return m.doc["spec"]
    return m.doc["spec"]["template"]["spec"]


WORKLOAD_KINDS = ("Deployment", "Job", "Pod")


# -- what the values ask for: the expectations the tests derive instead of hard-coding a service set ---

#: The chart's own defaults (values.yaml), the base layer of every release.
DEFAULT_VALUES: dict[str, Any] = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))

#: The keys that describe a service rather than tune it; the chart takes them as true unless set.
SERVICE_FLAGS = ("database", "rpc")


def effective_services(values: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Every service of a release (first-party and plugin, enabled or not) as the values define it:
    values.yaml, then the release's values; serviceDefaults, then the service's own entry."""
    v = merged(DEFAULT_VALUES, values or {})
    out: dict[str, dict[str, Any]] = {}
    for group, plugin in (("services", False), ("pluginServices", True)):
        for name, entry in (v.get(group) or {}).items():
            svc = merged(v["serviceDefaults"], entry)
            for flag in SERVICE_FLAGS:
                svc.setdefault(flag, True)
            svc["options"] = svc.get("options") or {}
            svc["plugin"] = plugin
            out[name] = svc
    return out


def enabled_services(values: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in effective_services(values).items() if svc["enabled"]}


def only(*names: str) -> dict[str, Any]:
    """A values layer enabling exactly these first-party services."""
    return {"services": {name: {"enabled": name in names} for name in DEFAULT_VALUES["services"]}}


def component(m: Manifest) -> str:
    return m.doc["metadata"]["labels"]["app.kubernetes.io/component"]


# -- messaging.queue_type: the chart writes it; the settings model gains it with issue 20 (branch `cluster`) --

def _model_knows_queue_type() -> bool:
    from redprop.config import MessagingSettings
    return "queue_type" in MessagingSettings.model_fields


def loadable_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The rendered redprop.yaml as the settings model of this checkout takes it. Until the model has
    ``messaging.queue_type`` (issue 20's code), that one key is set aside; once it has it, the file is
    passed whole, so the services' own validation of the queue type is what the tests exercise."""
    if _model_knows_queue_type():
        return settings
    out = copy.deepcopy(settings)
    assert out["messaging"].pop("queue_type") in ("quorum", "classic")
    if not out["messaging"]:
        del out["messaging"]
    return out
