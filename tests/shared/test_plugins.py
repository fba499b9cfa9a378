"""Plugins through entry points: services and extension points, and the errors when they are wrong."""

from __future__ import annotations

from abc import ABC, abstractmethod
from importlib.metadata import EntryPoint

import pytest

from redprop import plugins
from redprop.config import Settings
from redprop.errors import ConfigError, PluginError
from redprop.plugins import ExtensionPoint, check_extension_points, installed_services, load_service

GROUP = "redprop.test.greeters"


class Greeter(ABC):
    """The interface of the fake extension point."""

    def __init__(self, greeting: str = "hello"):
        self.greeting = greeting

    @abstractmethod
    def greet(self, name: str) -> str: ...


class PlainGreeter(Greeter):
    def greet(self, name: str) -> str:
        return f"{self.greeting}, {name}"


class LoudGreeter(Greeter):
    def greet(self, name: str) -> str:
        return f"{self.greeting.upper()}, {name.upper()}!"


class NotAGreeter:
    """Has the method, but does not derive from the interface."""

    def greet(self, name: str) -> str:
        return name


def not_a_class(name: str) -> str:
    return name


POINT = ExtensionPoint(key="test.greeter", group=GROUP, interface=Greeter, default="plain",
                       summary="How to greet")


def ep(name: str, target: str, group: str = GROUP) -> EntryPoint:
    return EntryPoint(name=name, value=target, group=group)


@pytest.fixture
def fake_entry_points(monkeypatch):
    """``install({group: [EntryPoint, ...]})``: what importlib.metadata reports, for these groups only."""
    real = plugins.entry_points
    installed: dict[str, list[EntryPoint]] = {}

    def entry_points(*, group: str):
        if group in installed:
            return list(installed[group])
        return real(group=group)

    monkeypatch.setattr(plugins, "entry_points", entry_points)

    def install(groups: dict[str, list[EntryPoint]]) -> None:
        installed.update(groups)

    return install


@pytest.fixture
def greeters(fake_entry_points):
    fake_entry_points({GROUP: [
        ep("plain", f"{__name__}:PlainGreeter"),
        ep("loud", f"{__name__}:LoudGreeter"),
        ep("impostor", f"{__name__}:NotAGreeter"),
        ep("function", f"{__name__}:not_a_class"),
        ep("broken", "redprop_no_such_package.greeters:Greeter"),
    ]})


# -- extension points ----------------------------------------------------------------------------


def test_an_installed_plugin_loads_and_is_created_with_arguments(greeters):
    assert POINT.load("loud") is LoudGreeter
    greeter = POINT.create(Settings(plugins={"test.greeter": "loud"}), greeting="hi")
    assert isinstance(greeter, LoudGreeter)
    assert greeter.greet("li") == "HI, LI!"


def test_without_a_choice_the_default_is_used(greeters):
    assert POINT.chosen(Settings()) == ["plain"]
    assert POINT.create(Settings()).greet("wang") == "hello, wang"


def test_available_lists_what_is_installed(greeters):
    assert POINT.available() == ["broken", "function", "impostor", "loud", "plain"]


def test_a_plugin_that_is_not_installed_names_the_setting_and_lists_the_installed(greeters):
    with pytest.raises(PluginError) as err:
        POINT.load("polite")
    message = str(err.value)
    assert "setting 'plugins.test.greeter'" in message
    assert "'polite' is not installed" in message
    assert GROUP in message
    for name in ("plain", "loud", "impostor"):
        assert name in message


def test_an_empty_group_says_none_is_installed(fake_entry_points):
    fake_entry_points({GROUP: []})
    with pytest.raises(PluginError, match=r"has: none"):
        POINT.load("plain")


def test_a_plugin_error_is_a_config_error(greeters):
    # Start-up code catches ConfigError to exit with a message; plugin problems must be among them.
    with pytest.raises(ConfigError):
        POINT.load("polite")


@pytest.mark.parametrize("name", ["impostor", "function"])
def test_a_plugin_that_does_not_implement_the_interface_is_rejected(greeters, name):
    with pytest.raises(PluginError) as err:
        POINT.load(name)
    message = str(err.value)
    assert "setting 'plugins.test.greeter'" in message
    assert "does not implement" in message
    assert f"{__name__}.Greeter" in message


def test_a_plugin_that_fails_to_import_is_a_plugin_error(greeters):
    with pytest.raises(PluginError) as err:
        POINT.load("broken")
    assert "failed to load" in str(err.value)
    assert "redprop_no_such_package" in str(err.value)


def test_create_needs_exactly_one_choice_and_create_all_takes_several(greeters):
    settings = Settings(plugins={"test.greeter": ["plain", "loud"]})
    with pytest.raises(PluginError, match="choose exactly one"):
        POINT.create(settings)
    made = POINT.create_all(settings, greeting="hey")
    assert [type(g) for g in made] == [PlainGreeter, LoudGreeter]
    assert [g.greet("x") for g in made] == ["hey, x", "HEY, X!"]


def test_create_all_fails_if_any_choice_is_missing(greeters):
    with pytest.raises(PluginError, match="'nobody' is not installed"):
        POINT.create_all(Settings(plugins={"test.greeter": ["plain", "nobody"]}))


def test_check_extension_points_fails_fast_on_a_missing_choice(greeters):
    class Service:
        name = "greeting"
        extension_points = (POINT,)

    check_extension_points(Service, Settings())  # the default is installed: fine
    with pytest.raises(PluginError, match=r"plugins\.test\.greeter"):
        check_extension_points(Service, Settings(plugins={"test.greeter": "polite"}))
    with pytest.raises(PluginError, match="does not implement"):
        check_extension_points(Service, Settings(plugins={"test.greeter": ["plain", "impostor"]}))


# -- services -------------------------------------------------------------------------------------


def test_the_registry_service_is_installed_and_loads():
    from redprop.services.registry.service import RegistryService

    assert "registry" in installed_services()
    assert load_service("registry") is RegistryService


def test_an_unknown_service_lists_the_installed_ones():
    with pytest.raises(PluginError) as err:
        load_service("ticketing-typo")
    message = str(err.value)
    assert "'ticketing-typo' is not installed" in message
    assert "registry" in message


class WronglyNamedService:
    name = "something_else"


def test_a_service_entry_point_must_load_a_class_of_that_name(fake_entry_points):
    fake_entry_points({plugins.SERVICES_GROUP: [ep("greeting", f"{__name__}:WronglyNamedService",
                                                   plugins.SERVICES_GROUP)]})
    with pytest.raises(PluginError) as err:
        load_service("greeting")
    assert "'something_else'" in str(err.value)


def test_a_service_that_fails_to_import_is_a_plugin_error(fake_entry_points):
    fake_entry_points({plugins.SERVICES_GROUP: [ep("ghost", "redprop_no_such_package.service:Ghost",
                                                   plugins.SERVICES_GROUP)]})
    with pytest.raises(PluginError) as err:
        load_service("ghost")
    assert "service 'ghost' failed to load" in str(err.value)
    assert "redprop_no_such_package" in str(err.value)


def test_no_services_installed_says_none(fake_entry_points):
    fake_entry_points({plugins.SERVICES_GROUP: []})
    with pytest.raises(PluginError, match=r"installed services: none"):
        load_service("registry")


# -- the registry's locator ----------------------------------------------------------------------


def test_the_registry_locator_default_loads_from_its_entry_point():
    from redprop.services.registry.locators import LOCATOR, BuildingLocator, NearestBuildingLocator
    from redprop.services.registry.service import RegistryService

    assert LOCATOR.key == "registry.locator"
    assert LOCATOR.default == "nearest_building"
    assert "nearest_building" in LOCATOR.available()
    assert LOCATOR.load("nearest_building") is NearestBuildingLocator
    locator = LOCATOR.create(Settings())
    assert isinstance(locator, BuildingLocator)
    assert LOCATOR in RegistryService.extension_points
    check_extension_points(RegistryService, Settings())


def test_choosing_a_missing_locator_stops_the_registry_before_it_starts():
    from redprop.services.registry.service import RegistryService

    with pytest.raises(PluginError) as err:
        check_extension_points(RegistryService, Settings(plugins={"registry.locator": "grid_polygons"}))
    message = str(err.value)
    assert "setting 'plugins.registry.locator'" in message
    assert "'grid_polygons' is not installed" in message
    assert "nearest_building" in message
