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

import functools
from dataclasses import dataclass
from types import SimpleNamespace
from typing import ClassVar

from nameko.extensions import DependencyProvider
from pydantic import BaseModel, ConfigDict

from redprop.authz import Authz
from redprop.config import Settings, settings_from_config
from redprop.contracts.base import Operation, ServiceContract
from redprop.contracts.registry import RolesChanged, StructureChanged
from redprop.messaging.events import broadcast_handler
from redprop.metrics import Metrics
from redprop.plugins import ExtensionPoint


class NoOptions(BaseModel):
    """The options model of a service that takes none: any option is unknown."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class DistrictChoices:
    """What a district chose for one service: its validated options and its plugins, one per point."""

    options: BaseModel
    plugins: SimpleNamespace


def choices_of(container) -> DistrictChoices:
    """The choices of the container's service, validated and built once per container.

    Providers and timers that are not workers (a map loader, a sweep timer) read them here too, so
    nothing parses the options or creates a plugin a second time. A wrong option or plugin is a
    ConfigError naming the setting (``config --check`` and the run's preflight report it earlier).
    """
    choices = getattr(container, "redprop_choices", None)  # extensions see the container through a proxy
    if choices is None:
        cls = container.service_cls
        settings = settings_from_config(container.config)
        model = getattr(cls, "options_model", None) or NoOptions
        options = settings.service_options(cls.name, model)
        plugins = SimpleNamespace(**{point.attribute: point.build(settings, options)
                                     for point in getattr(cls, "extension_points", ())})
        choices = container.redprop_choices = DistrictChoices(options=options, plugins=plugins)
    return choices


class OptionsProvider(DependencyProvider):
    """Inject the service's validated options (``self.options``), parsed once when the container starts."""

    def setup(self):
        self.options = choices_of(self.container).options

    def get_dependency(self, worker_ctx) -> BaseModel:
        return self.options


class PluginsProvider(DependencyProvider):
    """Inject the district's plugins (``self.plugins.<point>``), created once when the container starts."""

    def setup(self):
        self.plugins = choices_of(self.container).plugins

    def get_dependency(self, worker_ctx) -> SimpleNamespace:
        return self.plugins


class SettingsProvider(DependencyProvider):
    """Inject the typed settings (``self.settings``)."""

    def get_dependency(self, worker_ctx) -> Settings:
        return settings_from_config(self.container.config)


def checked(operation: Operation, method):
    """The operation, run only once its permit admits the request's actor (redprop.authz)."""

    @functools.wraps(method)  # keeps nameko's entrypoint marks (they live in the function's __dict__)
    def run(self, request):
        if not self.admits_without_permit(operation, request):
            self.authz.require(operation.permit, request)
        return method(self, request)

    run.redprop_checked = True
    return run


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
    options = OptionsProvider()
    plugins = PluginsProvider()
    authz = Authz()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        contract = cls.__dict__.get("contract")
        for name, operation in (contract.operations.items() if contract is not None else ()):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "redprop_checked", False):
                setattr(cls, name, checked(operation, method))

    def admits_without_permit(self, operation: Operation, request) -> bool:
        """A service's one exception to its permits (the registry's first data officer); none by default."""
        return False

    @broadcast_handler("registry", RolesChanged)
    def forget_grants_on_roles_changed(self, evt: RolesChanged) -> None:
        """Posts changed: every replica asks the registry afresh (redprop.authz)."""
        self.authz.forget()

    @broadcast_handler("registry", StructureChanged)
    def forget_grants_on_structure_changed(self, evt: StructureChanged) -> None:
        self.authz.forget()

    @property
    def district(self) -> str:
        """The GB/T 2260 code of the district this release serves (every row carries it)."""
        return self.settings.district
