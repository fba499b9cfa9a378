"""The ``redprop`` command, run as a separate process the way an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from redprop.config import Settings
from redprop.testing.pytest_plugin import free_port

pytestmark = pytest.mark.integration

REDPROP = Path(sys.executable).with_name("redprop")


def redprop(*args: str, cwd: Path, config: Path | None = None, env: dict[str, str] | None = None,
            stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run ``redprop`` with no REDPROP_* variable of ours leaking in, except those given."""
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("REDPROP_")}
    if config is not None:
        clean["REDPROP_CONFIG"] = str(config)
    clean.update(env or {})
    return subprocess.run([str(REDPROP), *args], cwd=cwd, env=clean, input=stdin, capture_output=True,
                          text=True, timeout=60)


def write_config(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def settings_file(settings: Settings, path: Path) -> Path:
    """A YAML file holding exactly these settings (how a subprocess joins a test's suite)."""
    return write_config(path, settings.model_dump(mode="json"))


# -- config --------------------------------------------------------------------------------------


def test_config_prints_the_effective_settings_with_secrets_masked(tmp_path):
    config = write_config(tmp_path / "redprop.yaml", {
        "district": "620981",
        "amqp_uri": "amqp://redprop:s3cret-pw@rabbit:5672/%2F",
        "services": {"registry": {"database_url": "postgresql+psycopg2://registry:db-pw-77@db:5432/registry",
                                  "max_workers": 5}},
    })
    done = redprop("config", cwd=tmp_path, config=config, env={"REDPROP_MESSAGING__RPC_TIMEOUT": "4.5"})
    assert done.returncode == 0, done.stderr
    assert "s3cret-pw" not in done.stdout
    assert "db-pw-77" not in done.stdout
    shown = json.loads(done.stdout)
    assert shown["district"] == "620981"
    assert shown["amqp_uri"] == "amqp://redprop:***@rabbit:5672/%2F"
    assert shown["services"]["registry"]["database_url"] == "postgresql+psycopg2://registry:***@db:5432/registry"
    assert shown["services"]["registry"]["max_workers"] == 5
    assert shown["messaging"]["rpc_timeout"] == 4.5  # from the environment


def test_config_with_no_file_shows_the_defaults(tmp_path):
    done = redprop("config", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["district"] == "990001"
    assert shown["amqp_uri"] == "amqp://guest:***@127.0.0.1:5672/%2F"


@pytest.mark.parametrize("setup, names", [
    ({"env": {"REDPROP_SERVICES__REGISTRY__MAX_WORKERS": "0"}},
     ["services.registry.max_workers", "REDPROP_SERVICES__REGISTRY__MAX_WORKERS"]),
    ({"file": {"district": "12345"}}, ["setting 'district'", "REDPROP_DISTRICT"]),
    ({"file": {"amqp_uri": "http://rabbit/"}}, ["setting 'amqp_uri'"]),
    ({"file": {"servics": {}}}, ["setting 'servics'"]),
    ({"args": ["--config", "missing.yaml"]}, ["missing.yaml", "does not exist"]),
])
def test_a_wrong_setting_exits_2_naming_the_setting(tmp_path, setup, names):
    config = write_config(tmp_path / "redprop.yaml", setup["file"]) if "file" in setup else None
    done = redprop(*setup.get("args", []), "config", cwd=tmp_path, config=config, env=setup.get("env"))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("redprop: ")
    for name in names:
        assert name in done.stderr
    assert "Traceback" not in done.stderr


def test_run_stops_before_starting_when_a_plugin_is_missing_or_the_database_is_behind(tmp_path):
    config = write_config(tmp_path / "redprop.yaml", {"plugins": {"registry.locator": "grid_polygons"}})
    done = redprop("run", "registry", cwd=tmp_path, config=config)
    assert done.returncode == 2
    assert "setting 'plugins.registry.locator'" in done.stderr
    assert "'grid_polygons' is not installed" in done.stderr
    assert "nearest_building" in done.stderr  # what is installed

    elsewhere = tmp_path / "elsewhere"  # no redprop.yaml here: the embedded defaults, not migrated
    elsewhere.mkdir()
    unmigrated = redprop("run", "registry", cwd=elsewhere)
    assert unmigrated.returncode == 2
    assert "run `redprop migrate registry` first" in unmigrated.stderr


# -- migrate -------------------------------------------------------------------------------------


def test_migrate_then_check_says_current(tmp_path, backend, database_url_factory):
    url = database_url_factory("registry", backend)
    config = write_config(tmp_path / "redprop.yaml", {"services": {"registry": {"database_url": url}}})
    before = redprop("migrate", "--check", "registry", cwd=tmp_path, config=config)
    assert before.returncode == 0, before.stderr
    assert before.stdout.startswith("registry: behind (at [], want [")

    done = redprop("migrate", "registry", cwd=tmp_path, config=config)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("registry: migrated (")

    check = redprop("migrate", "--check", "registry", cwd=tmp_path, config=config)
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == "registry: current"

    again = redprop("migrate", "registry", cwd=tmp_path, config=config)  # idempotent
    assert again.returncode == 0, again.stderr


def test_migrate_uses_the_embedded_sqlite_default_under_data_dir(tmp_path):
    done = redprop("migrate", "registry", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "var" / "990001" / "registry.sqlite3").is_file()


@pytest.mark.parametrize("args, message", [
    (["migrate"], "name the services to use, or pass --all"),
    (["migrate", "no-such-service"], "'no-such-service' is not installed"),
])
def test_migrate_errors_exit_2(tmp_path, args, message):
    done = redprop(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    if "not installed" in message:
        assert "registry" in done.stderr  # what is installed


# -- call ----------------------------------------------------------------------------------------


@pytest.fixture
def running_registry(run_suite, small_district, tmp_path):
    suite = run_suite("registry")
    report = suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id="cli-small-district")
    assert report.applied and not report.errors
    suite.config_file = settings_file(suite.settings, tmp_path / "suite.yaml")
    return suite


def test_call_prints_the_json_reply(running_registry, tmp_path):
    config = running_registry.config_file
    done = redprop("call", "registry.resolve", '{"building_id": "B1"}', cwd=tmp_path, config=config)
    assert done.returncode == 0, done.stdout + done.stderr
    reply = json.loads(done.stdout)
    assert reply["matched_by"] == "building"
    assert reply["building"]["id"] == "B1"
    assert reply["complex"]["id"] == "X1"
    assert reply["community"]["name"] == "幸福社区"  # not escaped
    assert "幸福社区" in done.stdout

    # The request may come on stdin; a command gets a request_id of its own.
    piped = redprop("call", "registry.upsert", "-", cwd=tmp_path, config=config,
                    stdin='{"actor": "P-DATA", "records": [{"kind": "person", "id": "P9", "name": "赵六"}]}')
    assert piped.returncode == 0, piped.stdout + piped.stderr
    assert json.loads(piped.stdout)["counts"]["person"]["created"] == 1
    assert running_registry.rpc.registry.get(kind="person", id="P9").record.name == "赵六"


def test_a_bad_call_prints_the_typed_error_and_exits_non_zero(running_registry, tmp_path):
    config = running_registry.config_file

    missing = redprop("call", "registry.resolve", '{"building_id": "NOPE"}', cwd=tmp_path, config=config)
    assert missing.returncode == 1
    error = json.loads(missing.stdout)["error"]
    assert error["code"] == "not_found"
    assert error["details"] == {"entity": "building", "id": "NOPE", "field": "building_id"}

    invalid = redprop("call", "registry.resolve", '{"point": {"lat": 91, "lon": 0}}', cwd=tmp_path,
                      config=config)
    assert invalid.returncode == 1
    error = json.loads(invalid.stdout)["error"]
    assert error["code"] == "validation_failed"
    assert [f["field"] for f in error["details"]["fields"]] == ["point.lat"]

    unknown_op = redprop("call", "registry.nope", cwd=tmp_path, config=config)
    assert unknown_op.returncode == 1
    assert json.loads(unknown_op.stdout)["error"]["code"] == "unavailable"

    not_json = redprop("call", "registry.resolve", "{building_id: B1}", cwd=tmp_path, config=config)
    assert not_json.returncode == 2
    assert "not valid JSON" in not_json.stderr

    no_operation = redprop("call", "registry", cwd=tmp_path, config=config)
    assert no_operation.returncode == 2
    assert "SERVICE.OPERATION" in no_operation.stderr


# -- services and schema -------------------------------------------------------------------------


def test_services_lists_the_registry_with_its_operations_events_and_plugins(tmp_path):
    done = redprop("services", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "registry (enabled, metrics port 9101)" in lines
    start = lines.index("registry (enabled, metrics port 9101)")
    block = []
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        block.append(line)
    text = "\n".join(block)
    for op in ("resolve", "get", "list", "electorate", "summary"):
        assert f"  query   registry.{op}: " in text
    for op in ("upsert", "import_dataset", "remove"):
        assert f"  command registry.{op}: " in text
    assert "  event   registry.structure_changed" in text
    assert "  plugin  registry.locator = ['nearest_building'] (installed: nearest_building" in text

    disabled = redprop("services", cwd=tmp_path, env={"REDPROP_SERVICES__REGISTRY__ENABLED": "false",
                                                      "REDPROP_SERVICES__REGISTRY__METRICS_PORT": "0"})
    assert "registry (disabled, metrics port off)" in disabled.stdout.splitlines()


def test_schema_writes_json_schema_files(tmp_path):
    out = tmp_path / "schemas"
    done = redprop("schema", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    files = sorted(out.glob("*.schema.json"))
    assert done.stdout.strip() == f"wrote {len(files)} JSON Schema files to {out}"
    names = {f.name for f in files}
    assert {"registry.resolve.request.schema.json", "registry.resolve.reply.schema.json",
            "registry.upsert.request.schema.json", "registry.structure_changed.schema.json",
            "error.schema.json"} <= names
    request = json.loads((out / "registry.resolve.request.schema.json").read_text(encoding="utf-8"))
    assert request["title"] == "ResolveRequest"
    assert request["additionalProperties"] is False
    assert {"building_id", "household_id", "complex_id", "point"} <= set(request["properties"])


# -- plain URLs, secrets, typos: what an operator meets first ---------------------------------------


@pytest.fixture
def passworded(tmp_path, vhost, rabbit_management, broker_uri, database_url_factory):
    """A config file with a password in the broker URI and in a plain postgresql:// database URL."""
    from urllib.parse import quote, urlsplit

    from sqlalchemy.engine import make_url

    from redprop.testing.credentials import temporary_broker_user

    with temporary_broker_user(rabbit_management, vhost) as (user, amqp_password):
        db = make_url(database_url_factory("registry", "postgresql"))
        db_password = "Db-S3cretPW-" + os.urandom(4).hex()  # the local server trusts; any password works
        plain = f"postgresql://{db.username}:{db_password}@{db.host}:{db.port or 5432}/{db.database}"
        host = urlsplit(broker_uri)
        amqp = f"amqp://{user}:{quote(amqp_password)}@{host.hostname}:{host.port or 5672}/{quote(vhost, safe='')}"
        port = free_port()
        config = write_config(tmp_path / "redprop.yaml", {
            "amqp_uri": amqp, "services": {"registry": {"database_url": plain, "metrics_port": port}}})
        yield {"config": config, "secrets": [amqp_password, db_password], "metrics_port": port, "db": db}


def test_a_plain_postgresql_url_migrates_and_runs_and_no_command_prints_a_password(tmp_path, passworded, dead_port):
    from redprop.testing.processes import RedpropProcess, clean_environment

    config, secrets = passworded["config"], passworded["secrets"]
    outputs = {}

    def run(*args, env=None):
        done = redprop(*args, cwd=tmp_path, config=config, env=env)
        outputs[" ".join(args)] = done.stdout + done.stderr
        return done

    assert run("config").returncode == 0
    assert run("config", "--check").returncode == 0
    migrated = run("migrate", "registry")
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.strip() == (f"registry: migrated (postgresql://{passworded['db'].username}:***@"
                                       f"{passworded['db'].host}:{passworded['db'].port or 5432}/"
                                       f"{passworded['db'].database})")
    assert run("migrate", "--check", "registry").stdout.strip() == "registry: current"

    # The service itself, logging at DEBUG (kombu, nameko and SQLAlchemy say the most there).
    env = clean_environment({"REDPROP_CONFIG": str(config), "REDPROP_LOG_LEVEL": "DEBUG"})
    proc = RedpropProcess(["run", "registry"], env=env, cwd=tmp_path).start()
    try:
        proc.wait_ready(passworded["metrics_port"])
        summary = run("call", "registry.summary")
        assert summary.returncode == 0, summary.stdout + summary.stderr
        code, seconds = proc.terminate(timeout=30)
        assert code == 0, proc.output()[-2000:]
    finally:
        proc.kill()
    outputs["run registry"] = proc.output()
    assert "started registry" in outputs["run registry"]

    # Failed connections: a database that does not exist, a broker port nobody listens on.
    missing = run("migrate", "registry", env={
        "REDPROP_SERVICES__REGISTRY__DATABASE_URL": f"postgresql://postgres:{secrets[1]}@127.0.0.1:5432/no_such_db_x"})
    assert missing.returncode == 2
    no_broker = run("call", "registry.summary", env={
        "REDPROP_AMQP_URI": f"amqp://guest:{secrets[0]}@127.0.0.1:{dead_port}/%2F"})
    assert no_broker.returncode == 2
    for command, output in outputs.items():
        for secret in secrets:
            assert secret not in output, f"`redprop {command}` printed a password:\n{output[-2000:]}"


@pytest.fixture
def dead_port():
    """A port bound but not listening: connections are refused, and no other process can take it meanwhile."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_missing_database_or_an_unreachable_broker_is_one_line_naming_the_setting(tmp_path, dead_port):
    url = "postgresql://postgres@127.0.0.1:5432/redprop_no_such_database"
    for command in (["migrate", "registry"], ["migrate", "--check", "registry"], ["run", "registry"]):
        done = redprop(*command, cwd=tmp_path, env={"REDPROP_SERVICES__REGISTRY__DATABASE_URL": url})
        assert done.returncode == 2, done.stderr
        assert done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("redprop: setting 'services.registry.database_url': cannot use the registry "
                                   "database at postgresql://postgres@127.0.0.1:5432/redprop_no_such_database")
        assert 'database "redprop_no_such_database" does not exist' in lines[0]

    migrated = redprop("migrate", "registry", cwd=tmp_path)  # the SQLite default: run gets as far as the broker
    assert migrated.returncode == 0, migrated.stderr
    dead = f"amqp://redprop:not-here@127.0.0.1:{dead_port}/%2F"
    for command in (["run", "registry"], ["call", "registry.summary"]):
        done = redprop(*command, cwd=tmp_path, env={"REDPROP_AMQP_URI": dead})
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith(f"redprop: setting 'amqp_uri': cannot reach RabbitMQ at "
                                   f"amqp://redprop:***@127.0.0.1:{dead_port}/%2F (")


@pytest.mark.parametrize("setup, expected", [
    ({"env": {"REDPROP_DISTRIKT": "310101"}},
     "variable REDPROP_DISTRIKT: no such setting (did you mean 'REDPROP_DISTRICT'?)"),
    ({"env": {"REDPROP_AMQP_URL": "amqp://rabbit/"}}, "did you mean 'REDPROP_AMQP_URI'?"),
    ({"file": {"services": {"ticketin": {"enabled": False}}}},
     "setting 'services.ticketin': no such service is installed (did you mean 'ticketing'?)"),
    ({"file": {"services": {"ticketing": {"options": {"sweep_intervall": 30}}}}},
     "setting 'services.ticketing.options.sweep_intervall': Extra inputs are not permitted "
     "(did you mean 'sweep_interval'?)"),
    ({"file": {"services": {"ticketing": {"options": {"sweep_interval": 0}}}}},
     "setting 'services.ticketing.options.sweep_interval': Input should be greater than or equal to 1"),
    ({"file": {"services": {"registry": {"options": {"colour": "red"}}}}},
     "setting 'services.registry.options.colour': Extra inputs are not permitted"),
    ({"file": {"plugins": {"ticketing.routr": "default"}}},
     "setting 'plugins.ticketing.routr': no installed service has this extension point "
     "(did you mean 'ticketing.router'?)"),
    ({"file": {"plugins": {"registry.locator": "grid_polygons"}}},
     "setting 'plugins.registry.locator': plugin 'grid_polygons' is not installed"),
])
def test_config_check_migrate_and_run_refuse_what_run_would_refuse(tmp_path, setup, expected):
    config = write_config(tmp_path / "redprop.yaml", setup.get("file", {}))
    names = ["registry", "ticketing"]
    for command in (["config", "--check"], ["migrate", *names], ["run", *names]):
        done = redprop(*command, cwd=tmp_path, config=config, env=setup.get("env"))
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert expected in done.stderr, (command, done.stderr)
        assert "Traceback" not in done.stderr
    # Nothing was migrated: the check comes before any database is touched.
    assert not (tmp_path / "var").exists()


def test_config_check_passes_valid_settings_and_lists_the_services(tmp_path):
    config = write_config(tmp_path / "redprop.yaml", {
        "district": "310104",
        "services": {"ticketing": {"options": {"sweep_interval": 30}}, "mediation": {"enabled": False},
                     "parking": {"external": True, "metrics_port": 9120}},  # a plugin in its own image
        "plugins": {"registry.locator": "nearest_building"}})
    done = redprop("config", "--check", cwd=tmp_path, config=config)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("settings are valid for district 310104: "
                                   "evaluation, gateway, matching, participation, projects, registry, ticketing")
    assert not (tmp_path / "var").exists()  # it connects to nothing and creates nothing
