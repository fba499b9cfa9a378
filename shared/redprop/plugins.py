"""Plugins, found through Python entry points.

- Services register under ``redprop.services`` (``name = "package.module:ServiceClass"``).
- Each extension point has its own group and a small typed interface (an ABC). A service declares its
  points as :class:`ExtensionPoint` objects; the district's settings choose implementations by name
  (``plugins: {"<point>": "<name>"}``). Choosing a plugin that is not installed, or one that does not
  implement the interface, stops start-up with an error naming the setting and what is installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar

from redprop.errors import PluginError

SERVICES_GROUP = "redprop.services"
CLI_GROUP = "redprop.cli"
DEMO_GROUP = "redprop.demo"

T = TypeVar("T")


def _entry_points(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def installed_services() -> dict[str, EntryPoint]:
    return _entry_points(SERVICES_GROUP)


def load_service(name: str) -> type:
    eps = installed_services()
    if name not in eps:
        available = ", ".join(sorted(eps)) or "none"
        raise PluginError(f"service {name!r} is not installed (installed services: {available})")
    try:
        cls = eps[name].load()
    except Exception as exc:  # a broken service package: a start-up error naming it, not a traceback
        raise PluginError(f"service {name!r} failed to load ({eps[name].value}): {exc}") from exc
    if getattr(cls, "name", None) != name:
        raise PluginError(f"entry point {name!r} loads {cls!r}, whose nameko name is {getattr(cls, 'name', None)!r}")
    return cls


@dataclass(frozen=True)
class ExtensionPoint(Generic[T]):
    """A place where districts plug in their own behaviour.

    ``key`` is the settings key under ``plugins`` (e.g. ``registry.locator``), ``group`` the entry
    point group implementations register in, ``interface`` the ABC they implement.
    """

    key: str
    group: str
    interface: type[T]
    default: str | list[str]
    summary: str = ""
    #: Several plugins at once (e.g. notifiers): the service holds a dict, name -> plugin, in order.
    many: bool = False
    #: The plugin's constructor takes the service's validated options (``options=``).
    takes_options: bool = False
    #: False: the service holds the class and makes instances itself (e.g. a locator per map version).
    instantiate: bool = True

    def available(self) -> list[str]:
        return sorted(_entry_points(self.group))

    def load(self, name: str) -> type[T]:
        eps = _entry_points(self.group)
        if name not in eps:
            available = ", ".join(sorted(eps)) or "none"
            raise PluginError(
                f"setting 'plugins.{self.key}': plugin {name!r} is not installed "
                f"(entry point group {self.group!r} has: {available})"
            )
        try:
            impl = eps[name].load()
        except Exception as exc:  # a broken plugin package is a start-up error, not a crash later
            raise PluginError(f"setting 'plugins.{self.key}': plugin {name!r} failed to load: {exc}") from exc
        if not (isinstance(impl, type) and issubclass(impl, self.interface)):
            raise PluginError(
                f"setting 'plugins.{self.key}': plugin {name!r} ({impl!r}) does not implement "
                f"{self.interface.__module__}.{self.interface.__qualname__}"
            )
        return impl

    def chosen(self, settings) -> list[str]:
        choice = settings.plugin_choice(self.key, self.default)
        return [choice] if isinstance(choice, str) else list(choice)

    @property
    def attribute(self) -> str:
        """The name under which a service finds this point's plugins: ``self.plugins.<attribute>``."""
        return self.key.rpartition(".")[2]

    def load_one(self, settings) -> type[T]:
        """The class of the single plugin the settings choose for this point."""
        names = self.chosen(settings)
        if len(names) != 1:
            raise PluginError(f"setting 'plugins.{self.key}': choose exactly one plugin, got {names}")
        return self.load(names[0])

    def create(self, settings, **kwargs) -> T:
        """Instantiate the single plugin the settings choose for this point."""
        return self.load_one(settings)(**kwargs)

    def create_all(self, settings, **kwargs) -> list[T]:
        """Instantiate every plugin the settings list for this point (e.g. several notifiers)."""
        return [self.load(name)(**kwargs) for name in self.chosen(settings)]

    def build(self, settings, options) -> T | dict[str, T] | type[T]:
        """What a running service holds for this point: see ``many``, ``takes_options``, ``instantiate``."""
        kwargs = {"options": options} if self.takes_options else {}
        if self.many:
            return {name: self.load(name)(**kwargs) for name in self.chosen(settings)}
        if not self.instantiate:
            return self.load_one(settings)
        return self.create(settings, **kwargs)


def check_extension_points(service_cls: type, settings) -> None:
    """Fail fast if a service's configured plugins are missing; called before any container starts."""
    for point in getattr(service_cls, "extension_points", ()):
        for name in point.chosen(settings):
            point.load(name)
