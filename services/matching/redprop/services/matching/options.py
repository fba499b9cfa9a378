"""The matching service's own settings: ``services.matching.options`` in redprop.yaml."""

from __future__ import annotations

from typing import Literal

from nameko.extensions import DependencyProvider
from pydantic import BaseModel, ConfigDict

from redprop.config import settings_from_config


class MatchingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: ``district``: the district's lists (the default). ``city``: the city release's instance, which also
    #: pools the districts' federated events and proposes pairs across district lines.
    role: Literal["district", "city"] = "district"


def options_of(container) -> MatchingOptions:
    """Parsed once per use; a wrong option is a ConfigError naming it, so the service does not start."""
    return settings_from_config(container.config).service_options("matching", MatchingOptions)


class Options(DependencyProvider):
    """The options, validated when the container starts."""

    def setup(self):
        self.options = options_of(self.container)

    def get_dependency(self, worker_ctx):
        return self.options
