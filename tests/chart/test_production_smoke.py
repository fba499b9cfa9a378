"""The production paths, run: what the chart renders and what docker/compose.yaml declares.

The chart is rendered with an example values file; each Deployment's and the migration Job's exact
command, arguments, environment (secretKeyRef values read from the rendered Secret) and mounted
config file are run as ``redprop`` processes on this machine. Substituted, and nothing else: the hosts,
ports and credentials of the local PostgreSQL and RabbitMQ (a fresh vhost with a user of its own,
fresh databases; sslmode, since the local server has no TLS), the paths of the mounts, and the
metrics and HTTP ports (free ports given as values, so they are rendered into the ConfigMap, the
container ports and the probes alike, and parallel runs cannot collide). A ticket is submitted through
the running services, every process is stopped with SIGTERM and must exit 0 within its
``terminationGracePeriodSeconds``, and no output may contain a password.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from redprop.privacy.keys import generate
from redprop.testing.credentials import temporary_broker_user
from redprop.testing.databases import DEFAULT_SERVER_URL
from redprop.testing.processes import RedpropProcess, clean_environment, run_command
from redprop.testing.pytest_plugin import free_port
from tests.chart.chartlib import (
    CHART_DIR,
    ROOT,
    Manifest,
    enabled_services,
    example_values,
    loadable_settings,
    merged,
    of_kind,
    release_of,
    render,
)
from tests.conftest import small_district_records

pytestmark = pytest.mark.integration

SMOKE_EXAMPLE = CHART_DIR / "examples" / "district-310104.yaml"  # the chart holds the credentials itself
COMPOSE_FILE = ROOT / "docker" / "compose.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
PG_SERVER = os.environ.get("REDPROP_TEST_POSTGRES_URL", DEFAULT_SERVER_URL)
PG_PASSWORD = "Pg-" + uuid.uuid4().hex[:12]  # trust auth accepts any; it must never be printed


# -- the local servers, standing in for the cluster's ---------------------------------------------


class LocalDatabases:
    """Fresh databases on the local PostgreSQL, dropped afterwards."""

    def __init__(self):
        self.engine = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
        self.names: list[str] = []

    def create(self, name: str) -> None:
        assert re.fullmatch(r"[a-z0-9_]+", name), name
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.names.append(name)

    def drop_all(self) -> None:
        with self.engine.connect() as conn:
            for name in self.names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.engine.dispose()


@pytest.fixture
def local_databases():
    dbs = LocalDatabases()
    yield dbs
    dbs.drop_all()


@pytest.fixture
def broker_user(rabbit_management, vhost):
    with temporary_broker_user(rabbit_management, vhost) as credentials:
        yield credentials


def pg_server() -> tuple[str, int]:
    url = make_url(PG_SERVER)
    return url.host or "127.0.0.1", url.port or 5432


def amqp_server(broker_uri: str) -> tuple[str, int]:
    parts = urlsplit(broker_uri)
    return parts.hostname or "127.0.0.1", parts.port or 5672


# -- what a pod gets ------------------------------------------------------------------------------


def secret_data(manifests: list[Manifest], name: str) -> dict[str, str]:
    [secret] = [m for m in of_kind(manifests, "Secret") if m.name == name]
    return {k: base64.b64decode(v).decode() for k, v in secret.doc.get("data", {}).items()}


def config_map_data(manifests: list[Manifest], name: str) -> dict[str, str]:
    [cm] = [m for m in of_kind(manifests, "ConfigMap") if m.name == name]
    return cm.doc["data"]


#: The privacy key ring each run's pods share (by the run's folder).
_KEY_RINGS: dict[Path, str] = {}


class Pod:
    """A pod spec's one container turned into a process: files of its mounts, its environment."""

    def __init__(self, manifests: list[Manifest], spec: dict, container: dict, root: Path):
        self.container = container
        self.root = root
        self.mounts: dict[str, Path] = {}  # mountPath -> local directory
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for mount in container.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            local = root / mount["mountPath"].strip("/").replace("/", "_")
            local.mkdir(parents=True, exist_ok=True)
            if "configMap" in volume:
                for key, content in config_map_data(manifests, volume["configMap"]["name"]).items():
                    if key == "redprop.yaml":
                        content = yaml.safe_dump(loadable_settings(yaml.safe_load(content)), allow_unicode=True)
                    (local / key).write_text(content, encoding="utf-8")
            elif "secret" in volume:
                # The one Secret the operator makes beforehand (the chart never renders it): the key ring.
                # Every pod of one run reads the same ring, as every pod of a release mounts the same Secret.
                assert volume["secret"]["secretName"], volume
                ring = _KEY_RINGS.setdefault(root, generate().to_yaml())
                (local / "keys.yaml").write_text(ring, encoding="utf-8")
            else:  # a scratch folder, or the gateway's photos claim (a folder of the run here)
                assert "emptyDir" in volume or "persistentVolumeClaim" in volume, volume
            self.mounts[mount["mountPath"]] = local
        self.env: dict[str, str] = {}
        for var in container.get("env", []):
            if "value" in var:
                self.env[var["name"]] = self.local_path(var["value"])
            else:
                ref = var["valueFrom"]["secretKeyRef"]
                self.env[var["name"]] = secret_data(manifests, ref["name"])[ref["key"]]
        if "/etc/redprop-privacy" in self.mounts:
            # The settings file names the key ring's mount path; here it lives in the run's folder.
            self.env["REDPROP_PRIVACY__KEY_FILE"] = self.local_path("/etc/redprop-privacy/keys.yaml")
        assert container["command"] == ["redprop"], container["command"]
        self.args: list[str] = list(container["args"])

    def local_path(self, value: str) -> str:
        for mount_path, local in self.mounts.items():
            if value == mount_path or value.startswith(mount_path.rstrip("/") + "/"):
                return str(local) + value[len(mount_path.rstrip("/")):]
        return value

    def port(self, name: str) -> int:
        [port] = [p["containerPort"] for p in self.container["ports"] if p["name"] == name]
        return port

    def process_env(self) -> dict[str, str]:
        return clean_environment(self.env)


def containers_of(manifests: list[Manifest], kind: str) -> list[tuple[Manifest, dict, list[dict], list[dict]]]:
    out = []
    for m in of_kind(manifests, kind):
        spec = m.doc["spec"]["template"]["spec"]
        out.append((m, spec, spec.get("initContainers", []), spec["containers"]))
    return out


def assert_no_secret_in(outputs: dict[str, str], secrets: list[str]) -> None:
    for name, output in outputs.items():
        for secret in secrets:
            assert secret not in output, f"{name} printed a password:\n{output[-2000:]}"


def submit_ticket(env: dict[str, str], cwd: Path, district: str) -> dict:
    """Load a small registry (the sample records, moved to this district) and submit a leak ticket."""
    records = json.loads(json.dumps(small_district_records()).replace("990001", district))
    loaded = run_command(["call", "registry.upsert", "-"], env=env, cwd=cwd,
                         stdin=json.dumps({"actor": "P-DATA", "records": records}))
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert not json.loads(loaded.stdout)["errors"]
    ticket = {"request_id": f"smoke-{uuid.uuid4().hex[:8]}", "resident_id": "P2", "category": "leak",
              "building_id": "B1", "description": "楼道顶棚漏水，雨天更严重"}
    done = run_command(["call", "ticketing.submit", json.dumps(ticket, ensure_ascii=False)], env=env, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    reply = json.loads(done.stdout)
    assert reply["ticket"]["category"] == "leak" and reply["ticket"]["district"] == district
    again = run_command(["call", "ticketing.get", json.dumps(
        {"ticket_id": reply["ticket"]["id"], "viewer": {"kind": "resident", "id": "P2"}})], env=env, cwd=cwd)
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["ticket"]["id"] == reply["ticket"]["id"]
    return reply["ticket"]


def run_and_stop(procs: dict[str, tuple[RedpropProcess, list[int], int]], work: Callable) -> dict[str, str]:
    """Start every process, wait until each is ready on its ports, do ``work``, SIGTERM each; their outputs."""
    try:
        for proc, _ports, _grace in procs.values():
            proc.start()
        for proc, ports, _grace in procs.values():
            for port in ports:
                proc.wait_ready(port)
        work()
        for name, (proc, _port, grace) in procs.items():
            code, seconds = proc.terminate(timeout=grace + 5)
            assert code == 0 and seconds <= grace, (
                f"{name}: exit code {code} after {seconds:.1f}s (grace {grace}s):\n{proc.output()[-3000:]}")
    finally:
        for proc, _port, _grace in procs.values():
            proc.kill()
    return {name: proc.output() for name, (proc, _p, _g) in procs.items()}


# -- the chart ------------------------------------------------------------------------------------


def test_what_the_chart_renders_migrates_runs_takes_a_ticket_and_stops_on_sigterm(
        tmp_path, vhost, broker_user, broker_uri, local_databases):
    amqp_user, amqp_password = broker_user
    pg_host, pg_port = pg_server()
    amqp_host, amqp_port = amqp_server(broker_uri)
    prefix = f"smoke_{uuid.uuid4().hex[:8]}_"
    values = example_values(SMOKE_EXAMPLE)
    ports = {name: {"metricsPort": free_port()} for name in enabled_services(values)}
    ports["gateway"]["httpPort"] = free_port()
    local = {
        "rabbitmq": {"host": amqp_host, "port": amqp_port, "vhost": vhost, "username": amqp_user,
                     "password": amqp_password},
        "postgresql": {"host": pg_host, "port": pg_port, "username": "postgres", "password": PG_PASSWORD,
                       "databasePrefix": prefix, "sslmode": "disable"},
        "services": ports,
    }
    name, namespace = release_of(SMOKE_EXAMPLE)
    manifests = render(merged(values, local), name=name, namespace=namespace)
    district = values["district"]["code"]

    # The databases the rendered Secret names, created empty (a DBA's step 1 in docs/deploy.md).
    deployments = containers_of(manifests, "Deployment")
    jobs = containers_of(manifests, "Job")
    assert deployments and len(jobs) == 1
    [(job, job_spec, job_inits, job_containers)] = jobs
    job_pods = [Pod(manifests, job_spec, c, tmp_path / "job" / c["name"]) for c in job_inits + job_containers]
    for var, url in job_pods[-1].env.items():
        if var.endswith("__DATABASE_URL"):
            assert url.startswith("postgresql://"), url  # plain URLs, as the docs write them
            local_databases.create(make_url(url).database)
    assert local_databases.names

    # The migration Job: its init container checks the settings, then its container migrates.
    assert [p.args for p in job_pods] == [["config", "--check"], ["migrate", "--all"]]
    outputs = {}
    for pod in job_pods:
        done = run_command(pod.args, env=pod.process_env(), cwd=pod.root)
        outputs[f"job {' '.join(pod.args)}"] = done.stdout + done.stderr
        assert done.returncode == 0, done.stdout + done.stderr
    assert "settings are valid" in outputs["job config --check"]
    assert outputs["job migrate --all"].count(": migrated (") == len(local_databases.names)

    # Every Deployment as its own process, with exactly the pod's command, environment and config.
    procs = {}
    pods = {}
    for m, spec, inits, [container] in deployments:
        assert not inits
        pod = Pod(manifests, spec, container, tmp_path / m.name)
        probe_port = pod.port(container["readinessProbe"]["httpGet"]["port"])
        procs[m.name] = (RedpropProcess(pod.args, env=pod.process_env(), cwd=pod.root, name=m.name), [probe_port],
                         int(spec["terminationGracePeriodSeconds"]))
        pods[pod.args[-1]] = pod
    assert set(pods) >= {"registry", "ticketing", "gateway"}
    ticketing = pods["ticketing"]
    outputs |= run_and_stop(procs, lambda: submit_ticket(ticketing.process_env(), ticketing.root, district))
    assert_no_secret_in(outputs, [amqp_password, PG_PASSWORD])


# -- docker/compose.yaml --------------------------------------------------------------------------


def image_environment() -> dict[str, str]:
    """The runtime stage's ENV of docker/Dockerfile (the compose services inherit it)."""
    text_ = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    stage = text_.split("AS runtime", 1)[1]
    env: dict[str, str] = {}
    for line in stage.splitlines():
        if line.strip().startswith("ENV "):
            for pair in shlex.split(line.strip()[4:]):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def image_default_command() -> list[str]:
    [cmd] = re.findall(r"^CMD (\[.*\])$", DOCKERFILE.read_text(encoding="utf-8"), re.M)
    return json.loads(cmd)


@pytest.mark.parametrize("layout", ["a-process-per-service", "the-image-default-command"])
def test_what_compose_declares_migrates_runs_takes_a_ticket_and_stops_on_sigterm(
        tmp_path, vhost, broker_user, broker_uri, local_databases, layout):
    """Compose's services, each its own process; or, as `docker run IMAGE` does with compose's settings,
    the image's default command (every service in one process), which `docker stop` must stop too."""
    amqp_user, amqp_password = broker_user
    pg_host, pg_port = pg_server()
    amqp_host, amqp_port = amqp_server(broker_uri)
    compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    prefix = f"smoke_{uuid.uuid4().hex[:8]}_"
    data_dir = tmp_path / "data"
    data_dir.mkdir()

    def local_env(service: dict) -> dict[str, str]:
        env = {k: v for k, v in image_environment().items() if k != "PATH"}
        env |= {k: str(v) for k, v in service["environment"].items()}
        for key, value in list(env.items()):
            if key == "REDPROP_AMQP_URI":
                env[key] = urlunsplit(("amqp", f"{quote(amqp_user)}:{quote(amqp_password)}@{amqp_host}:{amqp_port}",
                                       "/" + quote(vhost, safe=""), "", ""))
            elif key.endswith("__DATABASE_URL"):
                url = urlsplit(value)
                assert url.scheme == "postgresql", value  # plain URLs, no driver named
                env[key] = urlunsplit((url.scheme, f"postgres:{PG_PASSWORD}@{pg_host}:{pg_port}",
                                       "/" + prefix + url.path.lstrip("/"), url.query, ""))
            elif value == "/var/lib/redprop" or key == "HOME":  # the image's own paths
                env[key] = str(data_dir)
        return clean_environment(env)

    # The compose databases (its postgres-databases config), created fresh under a prefix.
    for line in compose["configs"]["postgres-databases"]["content"].splitlines():
        found = re.match(r"CREATE DATABASE (\w+)", line)
        if found:
            local_databases.create(prefix + found.group(1))

    # One-shot services first, in their depends_on order: the settings check, then the migrations.
    runners = {n: s for n, s in compose["services"].items() if s.get("image", "").startswith("redprop/")}
    one_shot = [n for n, s in runners.items() if s.get("restart") == "no"]
    assert one_shot == ["check", "migrate"], one_shot
    assert runners["migrate"]["depends_on"]["check"] == {"condition": "service_completed_successfully"}
    outputs = {}
    for name in one_shot:
        done = run_command(runners[name]["command"], env=local_env(runners[name]), cwd=tmp_path)
        outputs[name] = done.stdout + done.stderr
        assert done.returncode == 0, outputs[name]
    assert outputs["migrate"].count(": migrated (") == len(local_databases.names)

    def with_free_ports(env: dict[str, str], names) -> tuple[dict[str, str], list[int]]:
        # Free ports instead of the published defaults (parallel runs); the published ports are checked
        # against the defaults in test_docker.py.
        ports = []
        for name in names:
            ports.append(free_port())
            env[f"REDPROP_SERVICES__{name.upper()}__METRICS_PORT"] = str(ports[-1])
        env["REDPROP_SERVICES__GATEWAY__OPTIONS__HTTP_PORT"] = str(free_port())
        return env, ports

    services = [n for n in runners if n not in one_shot]
    procs = {}
    if layout == "a-process-per-service":
        for name in services:
            service = runners[name]
            env, ports = with_free_ports(local_env(service), [name])
            # `docker stop` waits 10 s (compose's default stop_grace_period) before SIGKILL.
            grace = int(str(service.get("stop_grace_period", "10s")).rstrip("s"))
            procs[name] = (RedpropProcess(service["command"], env=env, cwd=tmp_path, name=f"compose-{name}"), ports,
                           grace)
        ticketing_env = procs["ticketing"][0].env
    else:
        assert image_default_command() == ["run", "--all"]
        env, ports = with_free_ports(local_env(runners["registry"]), services)  # x-redprop-env, shared by all
        procs["all"] = (RedpropProcess(image_default_command(), env=env, cwd=tmp_path, name="image-default"), ports, 10)
        ticketing_env = env
    outputs |= run_and_stop(procs, lambda: submit_ticket(ticketing_env, tmp_path,
                                                         str(runners["registry"]["environment"]["REDPROP_DISTRICT"])))
    assert_no_secret_in(outputs, [amqp_password, PG_PASSWORD])

