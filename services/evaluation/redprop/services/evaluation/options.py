"""The evaluation service's own settings: ``services.evaluation.options`` in redprop.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class EvaluationOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: ``district``: the district's scorecards, KPIs, ratings and league table (the default). ``city``: the
    #: city release's instance, which also keeps the districts' federated standings for the city league table.
    role: Literal["district", "city"] = "district"
    #: A quarter locks this many days after it ends (late scorecards), unless closed earlier.
    scorecard_grace_days: int = Field(default=15, ge=0, le=365)
    #: How long a star certificate is valid (it is also reviewed every year).
    certificate_validity_years: int = Field(default=3, ge=1, le=10)
    #: A negative event this recent (days before the application) voids eligibility.
    negative_event_lookback_days: int = Field(default=365, ge=0, le=3650)
