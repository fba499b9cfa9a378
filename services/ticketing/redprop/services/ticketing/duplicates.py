"""Likely duplicates at intake: the same place and category, recently, with similar text.

Similarity is the standard library's SequenceMatcher ratio over the characters: Chinese descriptions
need no word segmentation for a "same complaint again?" check.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from difflib import SequenceMatcher

from sqlalchemy import select
from sqlalchemy.orm import Session

from redprop.services.ticketing.models import TicketRow

#: The most recent tickets at the same place and category that are compared with a new one.
MAX_COMPARED = 100
LIVE = ("submitted", "dispatched", "in_progress", "awaiting_resident", "resolved")


def likely_original(session: Session, *, district: str, category: str, building_id: str | None,
                    complex_id: str | None, description: str, now: datetime, window_days: int,
                    threshold: float) -> str | None:
    if window_days == 0 or not (building_id or complex_id):
        return None
    query = select(TicketRow.id, TicketRow.description).where(
        TicketRow.district == district, TicketRow.category == category, TicketRow.status.in_(LIVE),
        TicketRow.submitted_at >= now - timedelta(days=window_days), TicketRow.merged_into.is_(None))
    query = query.where(TicketRow.building_id == building_id) if building_id else query.where(
        TicketRow.complex_id == complex_id)
    best, best_score = None, threshold
    matcher = SequenceMatcher(None, b=description)  # b is the side SequenceMatcher indexes: index it once
    for tid, text in session.execute(query.order_by(TicketRow.submitted_at.desc()).limit(MAX_COMPARED)):
        matcher.set_seq1(text)
        # The cheap upper bounds first: most candidates are ruled out without the full comparison.
        if matcher.real_quick_ratio() < best_score or matcher.quick_ratio() < best_score:
            continue
        score = matcher.ratio()
        if score >= best_score:
            best, best_score = tid, score
    return best
