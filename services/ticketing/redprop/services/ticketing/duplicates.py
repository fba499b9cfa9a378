"""Likely duplicates at intake: the same place and category, recently, with similar text.

Similarity is the standard library's SequenceMatcher ratio over the characters: Chinese descriptions
need no word segmentation for a "same complaint again?" check.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from difflib import SequenceMatcher

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from redprop.services.ticketing.models import tickets

#: The most recent tickets at the same place and category that are compared with a new one: a resident
#: repeating a complaint repeats a recent one, and intake must not slow down as a building's list grows.
MAX_COMPARED = 30
#: A candidate at least this similar is taken at once (it is the newest such: the one the resident saw).
CLEARLY_SAME = 0.9
LIVE = ("submitted", "dispatched", "in_progress", "awaiting_resident", "resolved")


def _candidates(place_column: str):
    """The newest live tickets at one place and category; built once, executed with parameters."""
    t = tickets.c
    return (select(t.id, t.description, t.submitted_at)
            .where(t[place_column] == bindparam("place"), t.category == bindparam("category"),
                   t.district == bindparam("district"), t.submitted_at >= bindparam("since"),
                   t.status.in_(LIVE), t.merged_into.is_(None))
            .order_by(t.submitted_at.desc())
            .limit(MAX_COMPARED))


_BY_BUILDING, _BY_COMPLEX = _candidates("building_id"), _candidates("complex_id")


def likely_original(session: Session, *, district: str, category: str, building_id: str | None,
                    complex_id: str | None, description: str, now: datetime, window_days: int,
                    threshold: float, unsaved: Sequence[tuple[str, str]] = (),
                    stored: dict | None = None) -> str | None:
    """The id of the live ticket the new one most likely repeats, or None.

    ``unsaved``: (id, description) of tickets at the same place and category created in this
    transaction and not yet written (group commit), oldest first; they are the newest candidates.
    ``stored``: a dict shared by the tickets of one transaction, where the stored candidates of each
    place and category are kept once read (the tickets of a burst at one place ask the database once).
    """
    if window_days == 0 or not (building_id or complex_id):
        return None
    query = _BY_BUILDING if building_id else _BY_COMPLEX
    params = {"place": building_id or complex_id, "category": category, "district": district,
              "since": now - timedelta(days=window_days)}
    best, best_score = None, threshold
    matcher = SequenceMatcher(None, b=description)  # b is the side SequenceMatcher indexes: index it once
    newest = list(reversed(unsaved))[:MAX_COMPARED]

    def from_database() -> list:
        wanted = MAX_COMPARED - len(newest)
        if stored is None:
            return [(tid, text) for tid, text, _at in session.execute(query, params).fetchmany(wanted)]
        key = (query is _BY_BUILDING, params["place"], category)
        if key not in stored:
            stored[key] = session.execute(query, params).fetchall()  # at most MAX_COMPARED, newest first
        # Read for an earlier ticket of the transaction, whose window began a moment sooner: this
        # one's window is a prefix of it.
        return [(tid, text) for tid, text, at in stored[key] if at >= params["since"]][:wanted]

    def candidates():  # the database is asked only if the unsaved ones settle nothing
        yield from newest
        if len(newest) < MAX_COMPARED:
            yield from from_database()

    for tid, text in candidates():
        matcher.set_seq1(text)
        # The cheap upper bounds first: most candidates are ruled out without the full comparison.
        if matcher.real_quick_ratio() < best_score or matcher.quick_ratio() < best_score:
            continue
        score = matcher.ratio()
        if score >= CLEARLY_SAME:
            return tid
        if score >= best_score:
            best, best_score = tid, score
    return best
