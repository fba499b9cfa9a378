"""What can be known wrong about a suite's settings without connecting to anything.

``redprop config --check``, ``redprop migrate`` and ``redprop run`` (its preflight) all use these, so
a bad service option, an unknown service name or a plugin that is not installed stops every one of
them with the same message, before a database is touched or a container started. Each error names
the setting and, for a typo, the nearest valid name.
"""

from __future__ import annotations

from pydantic import BaseModel

from redprop.config import Settings, nearest
from redprop.errors import ConfigError, PluginError
from redprop.plugins import check_extension_points, installed_services, load_service
from redprop.service import NoOptions


def options_model(service_cls: type) -> type[BaseModel] | None:
    """The service's options model (``options_model`` on the class); None if it is not a redprop service."""
    if not hasattr(service_cls, "options_model"):
        return None  # a plain nameko class: it reads its options itself, if any
    return service_cls.options_model or NoOptions


def check_service_names(settings: Settings) -> None:
    """Every name under ``services:`` is an installed service."""
    installed = sorted(installed_services())
    unknown = [name for name, svc in settings.services.items() if name not in installed and not svc.external]
    if unknown:
        lines = [f"  setting 'services.{name}': no such service is installed{nearest(name, installed)}"
                 for name in unknown]
        raise ConfigError("\n".join(["invalid settings:", *lines,
                                     f"  (installed services: {', '.join(installed) or 'none'})"]))


def check_plugin_keys(settings: Settings) -> None:
    """Every key under ``plugins:`` is an extension point of an installed service."""
    if not settings.plugins:
        return
    points = set()
    for name in installed_services():
        points |= {p.key for p in getattr(load_service(name), "extension_points", ())}
    unknown = [key for key in settings.plugins if key not in points]
    if unknown:
        lines = [f"  setting 'plugins.{key}': no installed service has this extension point"
                 f"{nearest(key, sorted(points))}" for key in unknown]
        raise ConfigError("\n".join(["invalid settings:", *lines,
                                     f"  (extension points: {', '.join(sorted(points)) or 'none'})"]))


def check_service(service_cls: type, settings: Settings) -> None:
    """The service's chosen plugins are installed and fit; its options parse with its options model."""
    problems = []
    try:
        check_extension_points(service_cls, settings)
    except ConfigError as exc:
        problems.append(exc)
    model = options_model(service_cls)
    try:
        if model is not None:
            settings.service_options(service_cls.name, model)
    except ConfigError as exc:
        problems.append(exc)
    _raise_all(problems)


def _raise_all(problems: list[ConfigError]) -> None:
    """One error listing every problem; a PluginError when each of them is one (callers catch it as such)."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        kind = PluginError if all(isinstance(p, PluginError) for p in problems) else ConfigError
        raise kind("\n".join(str(p) for p in problems))


def _problems(settings: Settings, names: list[str]) -> list[ConfigError]:
    problems = []
    for check in (check_service_names, check_plugin_keys):
        try:
            check(settings)
        except ConfigError as exc:
            problems.append(exc)
    for name in names:
        try:
            check_service(load_service(name), settings)
        except ConfigError as exc:
            problems.append(exc)
    return problems


def check_settings(settings: Settings, names: list[str]) -> list[str]:
    """Every static check for the named services; the messages of all that fail (empty: all is well)."""
    return [str(p) for p in _problems(settings, names)]


def require_valid(settings: Settings, names: list[str]) -> None:
    _raise_all(_problems(settings, names))
