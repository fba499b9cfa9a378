"""The matching service's own settings: ``services.matching.options`` in redprop.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class MatchingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: ``district``: the district's lists (the default). ``city``: the city release's instance, which also
    #: pools the districts' federated events and proposes pairs across district lines.
    role: Literal["district", "city"] = "district"
