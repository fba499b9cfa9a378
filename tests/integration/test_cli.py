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
    report = suite.rpc.registry.upsert(records=small_district, request_id="cli-small-district")
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
                    stdin='{"records": [{"kind": "person", "id": "P9", "name": "赵六"}]}')
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
