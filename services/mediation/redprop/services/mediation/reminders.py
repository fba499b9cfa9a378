"""Time limits: which reminders are due at an instant, and emitting each one once."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from redprop.contracts import mediation as c
from redprop.services.mediation import models as m
from redprop.services.mediation.timelimits import BEIJING, TimeLimitPolicy


def end_of_day(day) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def end_of_beijing_day(day) -> datetime:
    """The last second of a Beijing date (the Art. 33 window is counted on Beijing dates)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=BEIJING).astimezone(UTC)


def due(db: Session, district: str, policy: TimeLimitPolicy, as_of: datetime) -> list[c.Reminder]:
    out: list[c.Reminder] = []
    cases = db.execute(select(m.cases).where(m.cases.c.district == district,
                                             m.cases.c.state.in_(("open", "mediating", "settled")))).all()
    performed = {(r.case_id, r.term_no) for r in db.execute(
        select(m.case_performance.c.case_id, m.case_performance.c.term_no)
        .where(m.case_performance.c.district == district))}
    for row in cases:
        if row.state in ("open", "mediating"):
            if as_of >= row.settle_by:
                out.append(c.Reminder(kind="settlement_overdue", subject="case", subject_id=row.id, due_at=row.settle_by,
                                      message=f"case '{row.summary}' was due to settle by {row.settle_by:%Y-%m-%d}"))
            elif as_of >= row.settle_by - policy.warn_before():
                out.append(c.Reminder(kind="settlement_due", subject="case", subject_id=row.id, due_at=row.settle_by,
                                      message=f"case '{row.summary}' must settle by {row.settle_by:%Y-%m-%d}"))
            continue
        if row.confirm_by is not None and as_of <= end_of_beijing_day(row.confirm_by):
            out.append(c.Reminder(
                kind="court_confirmation", subject="case", subject_id=row.id,
                due_at=end_of_beijing_day(row.confirm_by),
                message=f"the parties may apply to the court to confirm the agreement by {row.confirm_by:%Y-%m-%d}"))
        for n, term in enumerate(row.outcome["terms"], 1):
            due_on = datetime.fromisoformat(term["due_on"]).date()
            if (row.id, n) not in performed and as_of.date() >= due_on:
                out.append(c.Reminder(kind="performance_due", subject="case", subject_id=f"{row.id}:{n}",
                                      due_at=end_of_day(due_on),
                                      message=f"term {n} ({term['text'][:60]}) was due by {due_on:%Y-%m-%d}; follow up"))
    for row in db.execute(select(m.consultations).where(m.consultations.c.district == district,
                                                        m.consultations.c.state == "closed")):
        publish_by = row.closed_at + policy.publish_within()
        out.append(c.Reminder(kind="publication_due", subject="consultation", subject_id=row.id, due_at=publish_by,
                              message=f"post the result of '{row.question[:60]}' by {publish_by:%Y-%m-%d %H:%M} UTC"))
    return sorted(out, key=lambda r: (r.due_at, r.kind, r.subject_id))


def claim_unsent(db: Session, district: str, reminders: list[c.Reminder], now: datetime) -> list[c.Reminder]:
    """Mark the reminders not sent before as sent (in this transaction) and return them."""
    sent = {(k, s) for k, s in db.execute(select(m.reminders_sent.c.kind, m.reminders_sent.c.subject_id)
                                          .where(m.reminders_sent.c.district == district))}
    fresh = [r for r in reminders if (r.kind, r.subject_id) not in sent]
    if fresh:
        db.execute(insert(m.reminders_sent), [{"district": district, "kind": r.kind, "subject_id": r.subject_id,
                                               "sent_at": now} for r in fresh])
    return fresh
