"""Bulk import into the registry database: ``import_files`` and ``redprop registry import``.

Each test gets its own empty, migrated database on the chosen backend (no broker is needed: the import
writes straight to the database, as ``redprop migrate`` does).
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from redprop.config import Settings
from redprop.db.engine import build_engine
from redprop.db.migrate import upgrade
from redprop.messaging.tables import OutboxMessage
from redprop.services.registry import models as m
from redprop.services.registry.cli import ProgressBar, import_files
from redprop.services.registry.sample import build_sample, write_sample
from redprop.services.registry.service import RegistryService
from redprop.services.registry.writer import structure_version

pytestmark = pytest.mark.integration

DISTRICT = "990001"
REDPROP = Path(sys.executable).with_name("redprop")


# -- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def settings(backend, database_url_factory, tmp_path) -> Settings:
    """Settings for a migrated, empty registry database on ``backend``."""
    settings = Settings(district=DISTRICT, data_dir=tmp_path / "data",
                        services={"registry": {"database_url": database_url_factory("registry", backend)}})
    upgrade(RegistryService, settings)
    return settings


def snapshot(settings: Settings) -> dict[str, int]:
    """Rows per table, the structure version and the outbox size: what "nothing written" compares."""
    engine = build_engine(settings.database_url("registry"))
    try:
        with Session(engine) as session:
            out = {kind: session.execute(select(func.count()).select_from(t)).scalar_one()
                   for kind, t in m.TABLES.items()}
            out["structure_version"] = structure_version(session)
            out["outbox"] = session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
            return out
    finally:
        engine.dispose()


def query(settings: Settings, stmt):
    engine = build_engine(settings.database_url("registry"))
    try:
        with Session(engine) as session:
            return session.execute(stmt).all()
    finally:
        engine.dispose()


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def loaded(settings, small_district, tmp_path) -> Settings:
    """The small district imported (from a JSON list of records)."""
    report = import_files(settings, [write_json(tmp_path / "small.json", small_district)], show_progress=False)
    assert report.applied and not report.errors
    return settings


def errors_of(report) -> list[tuple[str, int, str]]:
    return [(e.source, e.row, e.field) for e in report.errors]


# Row 1 is the header; every data row is numbered by its line.
BAD_HOUSEHOLDS = """\
id,building_id,unit,area_m2,owner_ids,residents
H10,B1,1-201,abc,P2,2
H11,B1,,70.5,P2,1
H12,NO-SUCH,1-203,60,P2,1
H13,B2,2-301,55.5,P3;P404,2
H14,B2,2-302,55.5,P3,many
H15,B1,1-205,90.00,P2,3
H15,B2,2-305,91,P3,1
H16,B1,1-206,80,,
"""
BAD_ROWS = [
    ("households.csv", 2, "area_m2"),
    ("households.csv", 3, "unit"),
    ("households.csv", 4, "building_id"),
    ("households.csv", 5, "owner_ids.1"),
    ("households.csv", 6, "residents"),
    ("households.csv", 8, "id"),
]


# -- the sample district -------------------------------------------------------------------------


def test_the_sample_district_imports_fully(settings, tmp_path):
    paths = write_sample(tmp_path / "sample")
    assert [p.name for p in paths] == ["structure.json", "people.csv", "households.csv"]
    report = import_files(settings, paths, show_progress=False)
    assert report.applied
    assert report.errors == [] and report.more_errors == 0
    sample = build_sample()
    expected = {"region": "regions", "organisation": "organisations", "complex": "complexes", "grid": "grids",
                "building": "buildings", "person": "people", "household": "households", "role": "roles",
                "report": "reports"}
    assert {kind: counts.created for kind, counts in report.counts.items()} == {
        kind: len(sample[section]) for kind, section in expected.items()}
    assert report.counts["household"].created == 18_819 + 2_200
    assert all(c.updated == c.unchanged == c.rejected == 0 for c in report.counts.values())
    assert report.structure_version == 1

    # Per subdistrict/town, as in the sources: Xinshiqu (XSQ) and Dongjing's Zhuanqiao (DJ).
    h, b, cx, r = m.households, m.buildings, m.complexes, m.regions
    per_parent = dict(query(settings, select(r.c.parent_id, func.count(h.c.id))
                            .join(b, b.c.id == h.c.building_id).join(cx, cx.c.id == b.c.complex_id)
                            .join(r, r.c.id == cx.c.community_id).group_by(r.c.parent_id)))
    assert per_parent == {"XSQ": 18_819, "DJ": 2_200}
    residents = dict(query(settings, select(r.c.parent_id, func.sum(h.c.residents))
                           .join(b, b.c.id == h.c.building_id).join(cx, cx.c.id == b.c.complex_id)
                           .join(r, r.c.id == cx.c.community_id).group_by(r.c.parent_id)))
    assert residents == {"XSQ": 49_384, "DJ": 5_700}
    grids = dict(query(settings, select(r.c.parent_id, func.count(m.grids.c.id))
                       .join(r, r.c.id == m.grids.c.community_id).group_by(r.c.parent_id)))
    assert grids == {"XSQ": 104, "DJ": 3}
    communities = dict(query(settings, select(r.c.parent_id, func.count()).where(r.c.level == "community")
                             .group_by(r.c.parent_id)))
    assert communities == {"XSQ": 8, "DJ": 1}
    # Tianhao complex: 19 buildings, 1,062 households.
    [(tianhao_buildings,)] = query(settings, select(func.count()).select_from(b).where(b.c.complex_id == "XSQ-TRL-TH"))
    [(tianhao_households,)] = query(settings, select(func.count(h.c.id)).join(b, b.c.id == h.c.building_id)
                                    .where(b.c.complex_id == "XSQ-TRL-TH"))
    assert (tianhao_buildings, tianhao_households) == (19, 1_062)
    # Exact decimal areas survive the trip through CSV and the database.
    first = sample["households"][0]
    [(area,)] = query(settings, select(h.c.area_m2).where(h.c.id == first["id"]))
    assert str(area) == first["area_m2"]

    # The change events are in the outbox, in the same transaction.
    kinds = sorted(k for (k,) in query(settings, select(OutboxMessage.routing_key)))
    assert kinds == ["registry.roles_changed", "registry.structure_changed"]

    # Importing the same file again changes nothing and bumps nothing.
    before = snapshot(settings)
    again = import_files(settings, [tmp_path / "sample" / "households.csv"], show_progress=False)
    assert again.applied and not again.errors
    assert again.counts["household"].unchanged == 21_019
    assert again.counts["household"].created == again.counts["household"].updated == 0
    assert snapshot(settings) == before


# -- validation report, nothing written ----------------------------------------------------------


def test_an_invalid_csv_is_reported_by_row_and_field_and_writes_nothing(loaded, tmp_path):
    before = snapshot(loaded)
    path = write_text(tmp_path / "households.csv", BAD_HOUSEHOLDS)
    report = import_files(loaded, [path], show_progress=False)
    assert not report.applied
    assert errors_of(report) == BAD_ROWS
    by_row = {e.row: e for e in report.errors}
    assert by_row[2].id == "H10" and by_row[2].kind == "household"
    assert "decimal" in by_row[2].message
    assert by_row[3].message == "Field required"
    assert by_row[4].message == "unknown building 'NO-SUCH'"
    assert by_row[5].message == "unknown person 'P404'"
    assert "integer" in by_row[6].message
    assert "duplicate household id 'H15'" in by_row[8].message and "row 7" in by_row[8].message
    assert report.counts["household"].rejected == 6
    assert report.counts["household"].created == 0
    assert snapshot(loaded) == before
    assert report.structure_version == before["structure_version"]


def test_valid_only_writes_the_valid_rows_and_reports_the_others(loaded, tmp_path):
    before = snapshot(loaded)
    path = write_text(tmp_path / "households.csv", BAD_HOUSEHOLDS)
    report = import_files(loaded, [path], valid_only=True, show_progress=False)
    assert report.applied
    assert errors_of(report) == BAD_ROWS
    assert report.counts["household"].created == 2
    after = snapshot(loaded)
    assert after["household"] == before["household"] + 2
    assert after["structure_version"] == before["structure_version"] + 1
    # The first of the duplicated rows is the one kept.
    rows = dict(query(loaded, select(m.households.c.id, m.households.c.building_id)
                      .where(m.households.c.id.in_(["H15", "H16", "H10", "H13"]))))
    assert rows == {"H15": "B1", "H16": "B1"}


def test_valid_only_also_rejects_rows_that_refer_to_rejected_rows(settings, small_district, tmp_path):
    base = write_json(tmp_path / "small.json", small_district)
    people = write_text(tmp_path / "people.csv", "id,name,party_member\nP30,周八,true\nP31,,false\nP32,吴九,maybe\n")
    households = write_text(tmp_path / "households.csv", "id,building_id,unit,area_m2,owner_ids\n"
                                                        "H30,B1,3-101,70,P30\nH31,B1,3-102,70,P31\n")
    report = import_files(settings, [households, people, base], valid_only=True, show_progress=False)
    assert report.applied
    errors = errors_of(report)
    assert ("people.csv", 3, "name") in errors
    assert ("people.csv", 4, "party_member") in errors
    assert ("households.csv", 3, "owner_ids.0") in errors
    ids = {i for (i,) in query(settings, select(m.households.c.id))}
    assert "H30" in ids and "H31" not in ids
    assert {i for (i,) in query(settings, select(m.people.c.id).where(m.people.c.id.like("P3_")))} == {"P30"}


def test_files_of_one_import_may_refer_to_each_other_in_any_order(settings, small_district, tmp_path):
    # Households before the people and buildings they refer to: validated together, all written.
    households = write_text(tmp_path / "households.csv", "id,building_id,unit,area_m2,owner_ids\n"
                                                        "H40,B1,4-101,66.6,P40\n")
    people = write_text(tmp_path / "people.csv", "id,name\nP40,郑十\n")
    report = import_files(settings, [households, people, write_json(tmp_path / "small.json", small_district)],
                          show_progress=False)
    assert report.applied and not report.errors
    assert snapshot(settings)["household"] == 4
    # But households alone, into an empty database, refer to nothing.
    empty = import_files(settings.model_copy(update={"district": "990002"}), [households], show_progress=False)
    assert not empty.applied
    assert {e.field for e in empty.errors} == {"building_id", "owner_ids.0"}


def test_a_json_dataset_with_an_unknown_section_is_reported_and_nothing_written(loaded, tmp_path):
    before = snapshot(loaded)
    dataset = write_json(tmp_path / "dataset.json", {
        "format": "redprop.registry/1",
        "people": [{"id": "P50", "name": "好人"}],
        "houses": [{"id": "H50"}],
        "flats": [],
    })
    report = import_files(loaded, [dataset], show_progress=False)
    assert not report.applied
    assert errors_of(report) == [("dataset.json", 0, "flats"), ("dataset.json", 0, "houses")]
    assert all("unknown section" in e.message for e in report.errors)
    assert snapshot(loaded) == before


def test_json_records_of_unknown_kind_or_in_the_wrong_section_are_reported(loaded, tmp_path):
    before = snapshot(loaded)
    listed = write_json(tmp_path / "list.json", [
        {"kind": "person", "id": "P51", "name": "好人"},
        {"kind": "flat", "id": "F1"},
        "not an object",
    ])
    sections = write_json(tmp_path / "sections.json", {
        "format": "redprop.registry/1",
        "people": [{"kind": "household", "id": "H51", "building_id": "B1", "unit": "1", "area_m2": "1"}],
        "buildings": [{"id": "B51", "name": "51号楼", "complex_id": "X1", "grid_id": "G1", "lat": 99, "lon": 121}],
    })
    report = import_files(loaded, [listed, sections], show_progress=False)
    assert not report.applied
    errors = {(e.source, e.row, e.field): e.message for e in report.errors}
    assert "unknown kind 'flat'" in errors[("list.json", 2, "kind")]
    assert errors[("list.json", 3, "(row)")] == "must be an object"
    assert "'household' record in the person section" in errors[("sections.json:people", 1, "kind")]
    assert ("sections.json:buildings", 1, "lat") in errors
    assert snapshot(loaded) == before


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("name, content, field, message", [
    ("data.txt", "id,name\n", "(file)", "use a .json or .csv file"),
    ("folks.csv", "id,name\nP1,x\n", "kind", "cannot tell the kind"),
    ("people.csv", "id,name,age\nP1,x,3\n", "(header)", "unknown column(s) age"),
    ("people.csv", "", "(header)", "the file is empty"),
    ("people.csv", "id,name\nP1,x,extra\n", "(row)", "more cells than header columns"),
    ("broken.json", '{"people": [', "(file)", "not valid JSON"),
    ("old.json", '{"format": "redprop.registry/0"}', "format", "unsupported format"),
    ("other.json", '{"district": "310117", "people": [{"id": "P1", "name": "x"}]}', "district",
     "belongs to district 310117"),
])
def test_malformed_files_are_reported(settings, tmp_path, name, content, field, message):
    report = import_files(settings, [write_text(tmp_path / name, content)], show_progress=False)
    assert not report.applied
    assert [e.field for e in report.errors] == [field]
    assert message in report.errors[0].message
    assert snapshot(settings)["person"] == 0


@pytest.mark.parametrize("backend", ["sqlite"])
def test_dry_run_validates_and_writes_nothing(settings, small_district, tmp_path):
    report = import_files(settings, [write_json(tmp_path / "small.json", small_district)], dry_run=True,
                          show_progress=False)
    assert not report.applied and not report.errors
    assert report.counts["household"].created == 3
    after = snapshot(settings)
    assert (after["household"], after["region"], after["structure_version"], after["outbox"]) == (0, 0, 0, 0)


# -- progress ------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"])
def test_progress_lines_go_to_stderr_when_it_is_not_a_terminal(settings, small_district, tmp_path, capsys):
    people = write_text(tmp_path / "people.csv",
                        "id,name\n" + "".join(f"P{n:05d},人{n}\n" for n in range(100, 4100)))
    report = import_files(settings, [write_json(tmp_path / "small.json", small_district), people])
    assert report.applied and not report.errors
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert "\r" not in captured.err
    assert "  reading people.csv: 4,000/4,000" in lines
    assert any(line.startswith("  reading small.json: ") for line in lines)
    total = 4000 + len(small_district)
    assert lines[-1] == f"  writing: {total:,}/{total:,}"
    # One line per quarter at most, per bar.
    assert sum(line.startswith("  reading people.csv") for line in lines) <= 5


def test_the_progress_bar_on_a_terminal_redraws_one_line():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    bar = ProgressBar("reading people.csv", 200, stream=stream)
    for done in (50, 100, 200):
        bar.update(done)
    bar.done()
    text = stream.getvalue()
    assert text.count("\r") == 3
    assert "[###############...............]     100/200" in text
    assert "[##############################]     200/200" in text
    assert text.endswith(" s)\n")


def test_a_guessed_total_never_shows_more_done_than_total():
    stream = io.StringIO()
    bar = ProgressBar("reading big.json", 10, stream=stream)
    bar.update(4)
    bar.update(1_602)
    assert stream.getvalue().splitlines()[-1] == "  reading big.json: 1,602/1,602"


# -- through the command line --------------------------------------------------------------------


@pytest.fixture
def restore_logging():
    """``main()`` configures logging for a process; put the test process's logging back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("nameko", "kombu", "amqp", "alembic")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, lvl in levels.items():
        logging.getLogger(name).setLevel(lvl)


def config_file(settings: Settings, path: Path) -> Path:
    data = {"district": settings.district, "data_dir": str(settings.data_dir),
            "services": {"registry": {"database_url": settings.database_url("registry")}}}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def redprop(*args: str, config: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("REDPROP_")}
    env["REDPROP_CONFIG"] = str(config)
    return subprocess.run([str(REDPROP), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_cli_main_imports_and_prints_the_report(settings, small_district, tmp_path, capsys, restore_logging):
    from redprop.cli.main import main

    config = config_file(settings, tmp_path / "redprop.yaml")
    dataset = write_json(tmp_path / "small.json", small_district)
    assert main(["--config", str(config), "registry", "import", str(dataset)]) == 0
    out = capsys.readouterr().out
    assert "household     created      3" in out
    assert out.rstrip().endswith("written.")
    assert snapshot(settings)["household"] == 3

    bad = write_text(tmp_path / "households.csv", BAD_HOUSEHOLDS)
    report_path = tmp_path / "report.json"
    assert main(["--config", str(config), "registry", "import", str(bad), "--report", str(report_path)]) == 1
    out = capsys.readouterr().out
    assert "ERROR households.csv row 4: building_id: unknown building 'NO-SUCH'" in out
    assert "ERROR households.csv row 8: id: duplicate household id 'H15'" in out
    assert out.rstrip().endswith("nothing written.")
    saved = json.loads(report_path.read_text(encoding="utf-8"))
    assert saved["applied"] is False
    assert [(e["source"], e["row"], e["field"]) for e in saved["errors"]] == BAD_ROWS
    assert snapshot(settings)["household"] == 3


def test_cli_dry_run_of_valid_files_succeeds_without_writing(settings, small_district, tmp_path, capsys,
                                                             restore_logging):
    from redprop.cli.main import main

    config = config_file(settings, tmp_path / "redprop.yaml")
    dataset = write_json(tmp_path / "small.json", small_district)
    assert main(["--config", str(config), "registry", "import", "--dry-run", str(dataset)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("nothing written.")
    assert snapshot(settings)["household"] == 0


def test_redprop_migrate_then_registry_import_as_commands(backend, database_url_factory, small_district, tmp_path):
    settings = Settings(district=DISTRICT, data_dir=tmp_path / "data",
                        services={"registry": {"database_url": database_url_factory("registry", backend)}})
    config = config_file(settings, tmp_path / "redprop.yaml")
    migrated = redprop("migrate", "registry", config=config, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.startswith("registry: migrated")

    dataset = write_json(tmp_path / "small.json", small_district)
    people = write_text(tmp_path / "people.csv", "id,name,party_member\nP60,孙一,true\nP61,孙二,false\n")
    done = redprop("registry", "import", str(dataset), str(people), config=config, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    people_in_dataset = sum(1 for r in small_district if r["kind"] == "person")
    assert f"  person        created {people_in_dataset + 2:>6}" in done.stdout
    assert "written." in done.stdout
    # Progress goes to stderr (a pipe here, so plain lines), never to stdout.
    assert "  reading people.csv: 2/2" in done.stderr.splitlines()
    written = len(small_district) + 2
    assert f"  writing: {written}/{written}" in done.stderr.splitlines()
    assert "\r" not in done.stderr and "reading" not in done.stdout
    assert snapshot(settings)["person"] == people_in_dataset + 2

    before = snapshot(settings)
    bad = write_text(tmp_path / "households.csv", BAD_HOUSEHOLDS)
    failed = redprop("registry", "import", str(bad), config=config, cwd=tmp_path)
    assert failed.returncode == 1
    assert "ERROR households.csv row 2: area_m2:" in failed.stdout
    assert "ERROR households.csv row 3: unit: Field required" in failed.stdout
    assert "nothing written." in failed.stdout
    assert snapshot(settings) == before

    partial = redprop("registry", "import", "--valid-only", str(bad), config=config, cwd=tmp_path)
    assert partial.returncode == 1  # something was rejected
    assert "written." in partial.stdout and "nothing written." not in partial.stdout
    assert snapshot(settings)["household"] == before["household"] + 2
