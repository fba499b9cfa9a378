"""The projects service's own settings: ``services.projects.options`` in redprop.yaml."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class ProjectsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: A draw above this many yuan is held until the community and the subdistrict approve it
    #: (exactly this amount is not above it). The district configures it.
    approval_above: Decimal = Field(default=Decimal("5000"), ge=0, max_digits=14, decimal_places=2)
    #: A project whose budget is above this many yuan cannot start before a hearing (事前听证) is recorded.
    hearing_above: Decimal = Field(default=Decimal("1000000"), ge=0, max_digits=14, decimal_places=2)

    @property
    def approval_above_fen(self) -> int:
        return int(self.approval_above * 100)

    @property
    def hearing_above_fen(self) -> int:
        return int(self.hearing_above * 100)
