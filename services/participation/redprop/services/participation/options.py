"""The participation service's own settings: ``services.participation.options`` in redprop.yaml."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ParticipationOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Micro-points for each hour of a volunteer's or party member's turn (the standard earning rules).
    points_per_hour: int = Field(default=10, ge=0, le=1000)
    #: Micro-points for a ticket the resident confirmed and rated (ticketing's ``rated`` event).
    points_per_rated_ticket: int = Field(default=5, ge=0, le=1000)
    #: Micro-points for attending a deliberation meeting, hearing or symposium (mediation's ``meeting_recorded``).
    points_per_meeting: int = Field(default=5, ge=0, le=1000)
    #: Micro-points for voting in an owners' consultation, once per consultation however often the person
    #: re-casts (mediation's ``ballot_cast``).
    points_per_vote: int = Field(default=3, ge=0, le=1000)
    #: Micro-points for a donation a person gave that matching delivered (``proposal_fulfilled``, provider a person).
    points_per_donation: int = Field(default=10, ge=0, le=1000)
    #: Points expire at the end of the Nth Beijing year after they were earned (None: never). With 1,
    #: ``expire_points(year=2026)`` run in 2027 takes what is left of the points earned in 2026 and before.
    points_expire_after_years: int | None = Field(default=None, ge=1, le=10)
