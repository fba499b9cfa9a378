"""A district's project list from CSV: every row checked, every problem named by its line and field, and
nothing written unless every row is good (the registry's import works the same way).

Columns: id, name, kind, complex_ids (``;``-separated), starts_on, ends_on, programme_id, parent_id, fund_id,
budget_yuan, progress. A project's further budget lines are rows repeating its id with fund_id and budget_yuan.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation

from pydantic import TypeAdapter, ValidationError

from redprop.contracts import projects as c

COLUMNS = ("id", "name", "kind", "complex_ids", "starts_on", "ends_on", "programme_id", "parent_id", "fund_id",
           "budget_yuan", "progress")
REQUIRED = ("id", "name", "kind", "complex_ids", "starts_on")
_ID = TypeAdapter(c.Id)
_KINDS = c.ProjectKind.__args__


def _date(value: str) -> date:
    return date.fromisoformat(value)


def _fen(value: str) -> int:
    amount = Decimal(value)
    if amount < 0 or amount != amount.quantize(Decimal("0.01")) or amount > Decimal("1000000000000"):
        raise InvalidOperation
    return int(amount * 100)


def parse(text: str, *, known_complex: Callable[[str], bool], fund_exists: Callable[[str], bool],
          programme_exists: Callable[[str], bool], project_exists: Callable[[str], bool],
          ) -> tuple[list[tuple[c.CreateProjectRequest, int]], list[c.ImportProblem]]:
    """(projects in file order with their progress, problems). Problems empty means all good."""
    problems: list[c.ImportProblem] = []

    def problem(line: int, field: str, message: str) -> None:
        problems.append(c.ImportProblem(row=line, field=field, message=message))

    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    missing = [col for col in REQUIRED if col not in header]
    unknown = [col for col in header if col not in COLUMNS]
    for col in missing:
        problem(1, col, "missing column")
    for col in unknown:
        problem(1, col, f"unknown column; the columns are {', '.join(COLUMNS)}")
    if missing or unknown:
        return [], problems
    found: dict[str, dict] = {}
    order: list[str] = []
    for line, raw in enumerate(reader, start=2):
        row = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw:
            problem(line, "row", "more values than columns")
            continue
        pid = row["id"]
        try:
            _ID.validate_python(pid)
        except ValidationError:
            problem(line, "id", f"{pid!r} is not an id (letters, digits, ._:-)")
            continue
        budget_line = None
        if row.get("fund_id") or row.get("budget_yuan"):
            if not row.get("fund_id"):
                problem(line, "fund_id", "a budget needs its fund")
            elif not fund_exists(row["fund_id"]):
                problem(line, "fund_id", f"unknown fund {row['fund_id']!r}")
            try:
                amount = _fen(row.get("budget_yuan") or "")
                if amount == 0:
                    raise InvalidOperation
                budget_line = (row.get("fund_id"), amount)
            except (InvalidOperation, ValueError):
                problem(line, "budget_yuan", f"{row.get('budget_yuan')!r} is not an amount in yuan above 0 "
                                             "with at most 2 decimals")
        if pid in found:
            if budget_line and row["fund_id"] in {f for f, _ in found[pid]["lines"]}:
                problem(line, "fund_id", f"project {pid} has a budget line for {row['fund_id']} already")
            elif budget_line:
                found[pid]["lines"].append(budget_line)
            continue
        entry = {"line": line, "lines": [budget_line] if budget_line else [], "row": row}
        for col in REQUIRED:
            if not row[col]:
                problem(line, col, "required")
        if row["kind"] and row["kind"] not in _KINDS:
            problem(line, "kind", f"{row['kind']!r} is not one of {', '.join(_KINDS)}")
        complexes = [x.strip() for x in row["complex_ids"].split(";") if x.strip()]
        for cx in complexes:
            if not known_complex(cx):
                problem(line, "complex_ids", f"unknown complex {cx!r}")
        for col in ("starts_on", "ends_on"):
            if row.get(col):
                try:
                    entry[col] = _date(row[col])
                except ValueError:
                    problem(line, col, f"{row[col]!r} is not a date (YYYY-MM-DD)")
        if entry.get("ends_on") and entry.get("starts_on") and entry["ends_on"] < entry["starts_on"]:
            problem(line, "ends_on", "before starts_on")
        if row.get("programme_id") and not programme_exists(row["programme_id"]):
            problem(line, "programme_id", f"unknown programme {row['programme_id']!r}")
        if row.get("parent_id") and row["parent_id"] not in found and not project_exists(row["parent_id"]):
            problem(line, "parent_id", f"unknown project {row['parent_id']!r} (a parent comes on an earlier row)")
        if project_exists(pid):
            problem(line, "id", f"project {pid} exists")
        try:
            entry["progress"] = int(row.get("progress") or 0)
            if not 0 <= entry["progress"] <= 100:
                raise ValueError
        except ValueError:
            problem(line, "progress", f"{row.get('progress')!r} is not a whole percent 0-100")
        entry["complexes"] = complexes
        found[pid] = entry
        order.append(pid)
    if problems:
        return [], sorted(problems, key=lambda p: p.row)
    out = []
    for pid in order:
        e, row = found[pid], found[pid]["row"]
        try:
            request = c.CreateProjectRequest(
                request_id=f"import-{pid}"[:64].ljust(8, "-"), id=pid, name=row["name"], kind=row["kind"],
                complex_ids=e["complexes"], programme_id=row.get("programme_id") or None,
                parent_id=row.get("parent_id") or None, starts_on=e["starts_on"], ends_on=e.get("ends_on"),
                budget_lines=[c.BudgetLine(fund_id=f, amount=a) for f, a in e["lines"]], actor="import")
        except ValidationError as exc:
            for err in exc.errors():
                problem(e["line"], ".".join(str(x) for x in err["loc"]) or "row", err["msg"])
            continue
        out.append((request, e["progress"]))
    return (out, []) if not problems else ([], problems)
