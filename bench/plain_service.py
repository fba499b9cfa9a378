"""A minimal nameko service with nameko's defaults: a plain ``@rpc`` method doing resolve's work.

It builds the same in-memory governance map as the registry (from the same database) and answers
``resolve(building_id)`` with the same reply, dumped to JSON-ready data. Nothing of redprop's messaging
is involved: nameko's own ``Rpc`` entrypoint, persistent and confirmed replies, ``max_workers`` 10.
Import this module only after ``eventlet.monkey_patch()`` (see ``bench.nameko_defaults``).
"""

from __future__ import annotations

from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from sqlalchemy.orm import Session

from redprop.db.engine import build_engine
from redprop.services.registry.locators import NearestBuildingLocator
from redprop.services.registry.resolver import GovernanceMap

SERVICE = "plain_registry"


class GovernanceMapProvider(DependencyProvider):
    """Loads the district's map once at start-up; every worker gets the same snapshot."""

    def setup(self):
        config = self.container.config
        engine = build_engine(config["BENCH_DATABASE_URL"])
        try:
            with Session(engine) as session:
                self.map = GovernanceMap(session, config["BENCH_DISTRICT"], config["BENCH_DISTRICT_NAME"],
                                         NearestBuildingLocator())
        finally:
            engine.dispose()

    def get_dependency(self, worker_ctx):
        return self.map


class PlainRegistry:
    name = SERVICE

    map = GovernanceMapProvider()

    @rpc
    def resolve(self, building_id):
        return self.map.by_building(building_id).model_dump(mode="json")
