"""Bulk import from JSON datasets and CSV files, with a validation report (docs/registry-import.md).

JSON dataset: ``{"format": "redprop.registry/1", "regions": [...], "complexes": [...], ...}`` with one
section per kind (plural names), each a list of records; or a plain list of records that each carry
``kind``. CSV: one file per kind, a header row naming record fields; lists (``owner_ids``) separated
by ``;``; empty cells mean "not given". The kind comes from ``--kind`` or the file name
(``households.csv``).

Parsing never stops at the first problem: every row is checked and every problem is reported with its
source, row (CSV: the line number; JSON: the position in its section, from 1) and field.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from redprop.contracts.registry import ENTITY_ORDER, RECORD_TYPES, RowError
from redprop.services.registry.writer import Row

DATASET_FORMAT = "redprop.registry/1"
SECTIONS = {
    "regions": "region", "complexes": "complex", "grids": "grid", "buildings": "building",
    "households": "household", "organisations": "organisation", "people": "person", "roles": "role",
    "reports": "report",
}
KIND_BY_FILENAME = {**SECTIONS, **{kind: kind for kind in RECORD_TYPES}}
LIST_FIELDS = {"owner_ids"}

Progress = Callable[[int], None]


def _row_errors(source: str, row: int, kind: str | None, data: Any, exc: ValidationError) -> list[RowError]:
    rid = data.get("id") if isinstance(data, dict) else None
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        if kind and loc.startswith(f"{kind}."):  # discriminated-union prefix
            loc = loc[len(kind) + 1:]
        out.append(RowError(source=source, row=row, kind=kind, id=str(rid) if rid else None,
                            field=loc or "(row)", message=err["msg"]))
    return out


def validate_item(source: str, row: int, kind: str | None, data: Any) -> tuple[Row | None, list[RowError]]:
    if not isinstance(data, dict):
        return None, [RowError(source=source, row=row, kind=kind, field="(row)", message="must be an object")]
    given = data.get("kind")
    kind = kind or given
    if kind not in RECORD_TYPES:
        return None, [RowError(source=source, row=row, kind=None, field="kind",
                               message=f"unknown kind {given!r}; one of {', '.join(RECORD_TYPES)}")]
    if given is not None and given != kind:
        return None, [RowError(source=source, row=row, kind=kind, field="kind",
                               message=f"a {given!r} record in the {kind} section")]
    try:
        record = RECORD_TYPES[kind].model_validate({**data, "kind": kind})
    except ValidationError as exc:
        return None, _row_errors(source, row, kind, data, exc)
    return Row(source=source, row=row, record=record), []


def parse_json(content: str, source: str, progress: Progress | None = None) -> tuple[list[Row], list[RowError]]:
    try:
        doc = json.loads(content)
    except json.JSONDecodeError as exc:
        return [], [RowError(source=source, row=exc.lineno, field="(file)", message=f"not valid JSON: {exc.msg}")]
    items: list[tuple[str, int, str | None, Any]] = []
    if isinstance(doc, list):
        items = [(source, n, None, item) for n, item in enumerate(doc, 1)]
    elif isinstance(doc, dict):
        fmt = doc.get("format", DATASET_FORMAT)
        if fmt != DATASET_FORMAT:
            return [], [RowError(source=source, row=0, field="format",
                                 message=f"unsupported format {fmt!r}; expected {DATASET_FORMAT!r}")]
        unknown = set(doc) - set(SECTIONS) - {"format", "district", "description"}
        errors = [RowError(source=source, row=0, field=name, message=f"unknown section; use {', '.join(SECTIONS)}")
                  for name in sorted(unknown)]
        if errors:
            return [], errors
        for section in sorted(SECTIONS, key=lambda s: ENTITY_ORDER.index(SECTIONS[s])):
            entries = doc.get(section) or []
            if not isinstance(entries, list):
                return [], [RowError(source=source, row=0, field=section, message="must be a list")]
            items.extend((f"{source}:{section}", n, SECTIONS[section], item) for n, item in enumerate(entries, 1))
        default_district = doc.get("district")
        if default_district:
            for _src, _n, _kind, item in items:
                if isinstance(item, dict):
                    item.setdefault("district", default_district)
    else:
        return [], [RowError(source=source, row=0, field="(file)", message="must be a dataset object or a list")]
    return _validate_all(items, progress)


def parse_csv(content: str, kind: str, source: str, progress: Progress | None = None) -> tuple[list[Row], list[RowError]]:
    if kind not in RECORD_TYPES:
        return [], [RowError(source=source, row=0, field="kind", message=f"unknown kind {kind!r}")]
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    fields = set(RECORD_TYPES[kind].model_fields) - {"kind"}
    header = reader.fieldnames or []
    unknown = [h for h in header if h not in fields]
    if unknown or not header:
        message = (f"unknown column(s) {', '.join(unknown)}; a {kind} has {', '.join(sorted(fields))}"
                   if unknown else "the file is empty")
        return [], [RowError(source=source, row=1, kind=kind, field="(header)", message=message)]
    items = []
    for line in reader:
        data: dict[str, Any] = {}
        for key, value in line.items():
            if key is None:
                data["(extra cells)"] = value
                continue
            if value is None or value.strip() == "":
                continue
            value = value.strip()
            data[key] = [v.strip() for v in value.split(";") if v.strip()] if key in LIST_FIELDS else value
        items.append((source, reader.line_num, kind, data))
    return _validate_all(items, progress)


def _validate_all(items, progress: Progress | None) -> tuple[list[Row], list[RowError]]:
    rows: list[Row] = []
    errors: list[RowError] = []
    for n, (src, row_no, kind, data) in enumerate(items, 1):
        if isinstance(data, dict) and "(extra cells)" in data:
            errors.append(RowError(source=src, row=row_no, kind=kind, field="(row)",
                                   message="more cells than header columns"))
            continue
        row, errs = validate_item(src, row_no, kind, data)
        if row is not None:
            rows.append(row)
        errors.extend(errs)
        if progress and n % 2000 == 0:
            progress(n)
    if progress:
        progress(len(items))
    return rows, errors


def parse_content(fmt: str, content: str, kind: str | None, source: str,
                  progress: Progress | None = None) -> tuple[list[Row], list[RowError]]:
    if fmt == "json":
        return parse_json(content, source, progress)
    return parse_csv(content, kind or "", source, progress)


def kind_from_filename(path: Path) -> str | None:
    return KIND_BY_FILENAME.get(path.stem.lower())


def read_file(path: Path, kind: str | None = None, progress: Progress | None = None) -> tuple[list[Row], list[RowError]]:
    """Parse one file; the format comes from its suffix (.json or .csv)."""
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [], [RowError(source=path.name, row=0, field="(file)", message="not UTF-8 text")]
    suffix = path.suffix.lower()
    if suffix == ".json":
        return parse_json(content, path.name, progress)
    if suffix == ".csv":
        kind = kind or kind_from_filename(path)
        if kind is None:
            return [], [RowError(source=path.name, row=0, field="kind",
                                 message="cannot tell the kind of rows: name the file e.g. households.csv or pass --kind")]
        return parse_csv(content, kind, path.name, progress)
    return [], [RowError(source=path.name, row=0, field="(file)", message="use a .json or .csv file")]
