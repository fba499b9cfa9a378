"""A State Council holiday notice as operated data: a YAML (or JSON) file of holidays and adjusted
working days (调休) per year, loaded at start-up so that a district can apply next year's schedule
the day it is published, without waiting for a release of chinese-calendar or of redprop.

The State Council's General Office publishes each year's schedule (国务院办公厅关于XXXX年部分节假日
安排的通知) under the Regulations on National Holidays and Commemorative Days (全国年节及纪念日放假办法,
as last amended by State Council Decree No. 795 of 2024). A file holds one entry per year::

    2027:
      notice: 国办发明电〔2026〕N号      # optional: where the dates come from
      holidays:                          # rest days, single dates or ranges "first..last"
        - 2027-01-01
        - 2027-02-06..2027-02-13
      workdays:                          # adjusted working days (调休), usually a Saturday or Sunday
        - 2027-02-14

Dates in the file override chinese-calendar; a year in the file counts as covered (its other days are
ordinary: Monday to Friday work, weekends rest).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import yaml

_KINDS = ("holidays", "workdays")
_KEYS = {*_KINDS, "notice"}


class _Loader(yaml.SafeLoader):
    """YAML that leaves dates as text: PyYAML's own date parsing raises a bare ValueError on 2027-02-30,
    and we want the error to name the entry."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


class NoticeError(ValueError):
    """The file is wrong; the message names the file and the entry."""


@dataclass(frozen=True)
class HolidayNotice:
    """The loaded file: which years it covers and the days it sets."""

    source: str
    years: frozenset[int] = frozenset()
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    notices: dict[int, str] = field(default_factory=dict)


def load_notice(path: str | Path) -> HolidayNotice:
    """Read and check ``path``; raise :class:`NoticeError` naming the first wrong entry."""
    path = Path(path)
    where = f"calendar file {str(path)!r}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NoticeError(f"{where}: cannot be read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise NoticeError(f"{where}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None
    return parse_notice(data, where)


def parse_notice(data, where: str = "calendar file") -> HolidayNotice:
    if not isinstance(data, dict) or not data:
        raise NoticeError(f"{where}: must map each year to its holidays and workdays")
    seen: dict[date, str] = {}
    days: dict[str, set[date]] = {kind: set() for kind in _KINDS}
    years: set[int] = set()
    notices: dict[int, str] = {}
    for key, entry in data.items():
        year = _year(key, where)
        if year in years:  # the keys "2027" and 2027 are two keys to YAML, one year to us
            raise NoticeError(f"{where}: year {year} appears twice")
        years.add(year)
        if not isinstance(entry, dict):
            raise NoticeError(f"{where}: year {year}: must be a mapping with holidays and workdays")
        unknown = sorted(str(k) for k in entry if k not in _KEYS)
        if unknown:
            raise NoticeError(f"{where}: year {year}: unknown key {unknown[0]!r} (expected holidays, workdays, notice)")
        if entry.get("notice") is not None:
            notices[year] = str(entry["notice"])
        found = 0
        for kind in _KINDS:
            items = entry.get(kind) or []
            if not isinstance(items, list):
                raise NoticeError(f"{where}: year {year} {kind}: must be a list of dates")
            for number, item in enumerate(items, start=1):
                label = f"year {year} {kind} entry {number} ({item!s})"
                for day in _dates(item, f"{where}: {label}"):
                    if day.year != year:
                        raise NoticeError(f"{where}: {label}: {day} is not in {year}")
                    if day in seen:
                        raise NoticeError(f"{where}: {label}: {day} is already given as {seen[day]}")
                    seen[day] = label
                    days[kind].add(day)
                    found += 1
        if not found:
            raise NoticeError(f"{where}: year {year} has no holidays and no workdays")
    return HolidayNotice(source=where, years=frozenset(years), holidays=frozenset(days["holidays"]),
                         workdays=frozenset(days["workdays"]), notices=notices)


def _year(key, where: str) -> int:
    try:
        year = int(key)
    except (TypeError, ValueError):
        raise NoticeError(f"{where}: {key!r} is not a year") from None
    if not 2000 <= year <= 2100:
        raise NoticeError(f"{where}: {key!r} is not a year between 2000 and 2100")
    return year


def _dates(item, label: str) -> list[date]:
    """One date, or the days of a range ``first..last`` (both included)."""
    if isinstance(item, date):
        return [item]
    if not isinstance(item, str):
        raise NoticeError(f"{label}: not a date (YYYY-MM-DD) or a range (YYYY-MM-DD..YYYY-MM-DD)")
    first, sep, last = item.partition("..")
    try:
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if sep else start
    except ValueError:
        raise NoticeError(f"{label}: not a date (YYYY-MM-DD) or a range (YYYY-MM-DD..YYYY-MM-DD)") from None
    if end < start:
        raise NoticeError(f"{label}: the range ends before it starts")
    if (end - start).days > 31:  # no statutory holiday is longer: a typo in the year or month
        raise NoticeError(f"{label}: a range longer than 31 days")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]
