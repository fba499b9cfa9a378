"""What every redprop service class has, besides its own contract, database and entrypoints.

    class RegistryService(RedpropService):
        name = "registry"
        contract = registry_contract.CONTRACT
        db = Database(Base.metadata, migrations=MIGRATIONS)
        events = EventOutbox()

        @query
        def resolve(self, request: ResolveRequest) -> ResolveReply: ...
"""

from __future__ import annotations

from typing import ClassVar

from nameko.extensions import DependencyProvider
from pydantic import BaseModel

from redprop.config import Settings, settings_from_config
from redprop.contracts.base import ServiceContract
from redprop.metrics import Metrics
from redprop.plugins import ExtensionPoint


class SettingsProvider(DependencyProvider):
    """Inject the typed settings (``self.settings``)."""

    def get_dependency(self, worker_ctx) -> Settings:
        return settings_from_config(self.container.config)


class RedpropService:
    name: ClassVar[str]
    contract: ClassVar[ServiceContract]
    #: Extension points whose configured plugins are checked before the service starts.
    extension_points: ClassVar[tuple[ExtensionPoint, ...]] = ()
    #: The model of ``services.<name>.options``, checked by ``config --check``, ``migrate`` and ``run``
    #: before anything starts; None: the service takes no options (any option is an error).
    options_model: ClassVar[type[BaseModel] | None] = None

    metrics = Metrics()
    settings = SettingsProvider()
