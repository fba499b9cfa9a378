"""What enters the record log for each stored row, and the cross-check of rows against the log.

The payload of a record is built from a row by the same function at write time and at ``verify`` time,
so a row altered in the database after it was logged no longer matches its record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Table

from redprop.services.mediation import chain
from redprop.services.mediation import models as m


def _since_2(payload: dict, row: Mapping[str, Any], *keys: str) -> dict:
    """Fields added in contract 2.0 enter a payload only when set, so records logged before still verify."""
    payload.update({k: row[k] for k in keys if row.get(k) is not None})
    return payload


def opened_payload_from_row(row: Mapping) -> dict:
    payload = {"consultation_id": row["id"], "question": row["question"], "options": row["options"],
               "approve_option": row["approve_option"], "rule": row["rule"], "opens_at": chain.stamp(row["opens_at"]),
               "closes_at": chain.stamp(row["closes_at"]), "electorate_households": row["electorate_households"],
               "total_area_m2": str(Decimal(row["total_area_m2"]).quantize(Decimal('0.01'))),
               "total_owners": row["total_owners"], "electorate_digest": row["electorate_digest"]}
    return _since_2(payload, row, "complex_id", "art278_item")


def ballot_payload(row: Mapping[str, Any]) -> dict:
    payload = {"id": row["id"], "consultation_id": row["consultation_id"], "seq": row["seq"],
               "household_id": row["household_id"], "owner_id": row["owner_id"], "option": row["option"],
               "channel": row["channel"], "entered_by": row["entered_by"], "cast_at": chain.stamp(row["cast_at"])}
    return _since_2(payload, row, "person_id", "witness_id")


def result_payload(row: Mapping[str, Any]) -> dict:
    return {"consultation_id": row["id"], "closed_at": chain.stamp(row["closed_at"]), "result": row["result"]}


def publication_payload(row: Mapping[str, Any]) -> dict:
    return {"consultation_id": row["id"], "published_at": chain.stamp(row["published_at"]),
            "where": row["published_where"]}


def meeting_payload(row: Mapping[str, Any]) -> dict:
    return {"id": row["id"], "matter_id": row["matter_id"], "kind": row["kind"],
            "held_at": chain.stamp(row["held_at"]), "agenda": row["agenda"], "attendance": row["attendance"],
            "organisations": row["organisations"], "minutes": row["minutes"], "resolved": row["resolved"]}


def outcome_payload(row: Mapping[str, Any]) -> dict:
    return {"case_id": row["id"], "state": row["state"], "concluded_at": chain.stamp(row["concluded_at"]),
            "outcome": row["outcome"], "parties": row["parties"]}


def session_payload(row: Mapping[str, Any]) -> dict:
    return {"session_id": row["id"], "case_id": row["case_id"], "held_at": chain.stamp(row["held_at"]),
            "notes": row["notes"]}


#: Record kinds whose content also lives in a table: (table, payload builder).
CROSS_CHECKED: dict[str, tuple[Table, Callable[[Mapping[str, Any]], dict]]] = {
    "consultation_opened": (m.consultations, opened_payload_from_row),
    "ballot": (m.ballots, ballot_payload),
    "result": (m.consultations, result_payload),
    "publication": (m.consultations, publication_payload),
    "meeting": (m.meetings, meeting_payload),
    "agreement": (m.cases, outcome_payload),
    "case_outcome": (m.cases, outcome_payload),
    "session_minutes": (m.case_sessions, session_payload),
}


