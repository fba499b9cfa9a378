"""RedpropService wires a district's choices once: options validated and plugins created per container."""

from __future__ import annotations

import pytest
from nameko.containers import ServiceContainer
from nameko.rpc import rpc

from redprop.config import Settings
from redprop.errors import ConfigError, PluginError
from redprop.service import RedpropService, choices_of
from redprop.services.mediation.rules import VOTING_RULE, VotingRule
from redprop.services.mediation.timelimits import TIME_LIMITS, TimeLimitPolicy
from redprop.services.registry.locators import LOCATOR, BuildingLocator
from redprop.services.ticketing.options import TicketingOptions
from redprop.services.ticketing.sla import SLA_POLICY


class Probe(RedpropService):
    """A service with one extension point of each kind (it borrows ticketing's options)."""

    name = "ticketing"
    extension_points = (VOTING_RULE, TIME_LIMITS, LOCATOR, SLA_POLICY)
    options_model = TicketingOptions

    @rpc
    def ping(self):
        return self.district


def container(**settings) -> ServiceContainer:
    return ServiceContainer(Probe, Settings(**settings).nameko_config("ticketing"))


def test_each_point_is_built_the_way_it_declares():
    choices = choices_of(container(services={"ticketing": {"options": {"sweep_interval": 120}}}))
    assert choices.options.sweep_interval == 120
    rules = choices.plugins.voting_rule  # many: every chosen rule, by name, in order
    assert list(rules) == VOTING_RULE.default and all(isinstance(r, VotingRule) for r in rules.values())
    assert isinstance(choices.plugins.time_limits, TimeLimitPolicy)
    assert issubclass(choices.plugins.locator, BuildingLocator)  # instantiate=False: the class
    assert choices.plugins.sla_policy.options is choices.options  # takes_options


def test_choices_are_built_once_per_container():
    one = container()
    assert choices_of(one) is choices_of(one)
    assert choices_of(container()) is not choices_of(one)


def test_a_wrong_option_or_plugin_names_its_setting():
    with pytest.raises(ConfigError, match="services.ticketing.options.sweep_interval"):
        choices_of(container(services={"ticketing": {"options": {"sweep_interval": "soon"}}}))
    with pytest.raises(PluginError, match="plugins.mediation.time_limits"):
        choices_of(container(plugins={"mediation.time_limits": "nope"}))
    with pytest.raises(PluginError, match="choose exactly one"):
        choices_of(container(plugins={"registry.locator": ["nearest_building", "nearest_building"]}))


@pytest.mark.integration
def test_workers_see_the_district(amqp_uri):
    from nameko.testing.services import entrypoint_hook

    probe = container(district="310104", amqp_uri=amqp_uri)
    probe.start()
    try:
        with entrypoint_hook(probe, "ping") as ping:
            assert ping() == "310104"
    finally:
        probe.kill()
