"""Several broker addresses in ``amqp_uri`` (issue 20): parsed, validated, redacted, and failed over.

The failover under load (a cluster node stopped and another killed) is tests/faults/test_cluster.py;
here a first address nobody answers on shows that every connection of a service moves on to the next.
"""

from __future__ import annotations

import pytest

from redprop.config import Settings, load_settings
from redprop.errors import ConfigError
from redprop.secrets import passwords_in, redact_url
from redprop.testing.pytest_plugin import free_port


def test_several_hosts_become_one_address_each():
    settings = Settings(amqp_uri="amqp://u:s3cret@rabbit-0:5672,rabbit-1:5673,rabbit-2/district")
    assert settings.broker_addresses == ["amqp://u:s3cret@rabbit-0:5672/district",
                                         "amqp://u:s3cret@rabbit-1:5673/district",
                                         "amqp://u:s3cret@rabbit-2/district"]
    # kombu's failover form: nameko and kombu connections take the next address when one fails.
    assert settings.amqp_uri == ";".join(settings.broker_addresses)
    listed = Settings(amqp_uri="amqp://a:pw-one@h1:5672/v;amqp://b:pw-two@h2:5672/v")
    assert listed.broker_addresses == ["amqp://a:pw-one@h1:5672/v", "amqp://b:pw-two@h2:5672/v"]
    assert Settings().broker_addresses == [Settings().amqp_uri]


def test_every_address_moves_to_another_vhost_and_every_password_is_hidden():
    settings = Settings(amqp_uri="amqp://a:pw-one@h1:5672/v;amqp://b:pw-two@h2:5672/v").with_vhost("其他/x")
    assert settings.broker_addresses == ["amqp://a:pw-one@h1:5672/%E5%85%B6%E4%BB%96%2Fx",
                                         "amqp://b:pw-two@h2:5672/%E5%85%B6%E4%BB%96%2Fx"]
    redacted = settings.redacted_amqp_uri()
    assert "pw-one" not in redacted and "pw-two" not in redacted
    assert redacted.count("***") == 2 and "h1:5672" in redacted and "h2:5672" in redacted
    assert passwords_in([settings.amqp_uri]) == {"pw-one", "pw-two"}
    assert redact_url("sqlite:////var/x.sqlite3") == "sqlite:////var/x.sqlite3"


@pytest.mark.parametrize("uri, expected", [
    ("amqp://u:p@h1:5672;http://u:p@h2/", r"address 2 of 2 is http://"),
    ("amqp://u:p@h1:5672,h2:notaport/v", r"address 2 of 2 is not a valid URI"),
    ("amqp://u:p@h1:5672,/v", r"address 2 of 2 has no host"),
])
def test_a_wrong_address_is_refused_naming_which(uri, expected):
    with pytest.raises(ConfigError, match=r"setting 'amqp_uri'.*" + expected) as err:
        load_settings(amqp_uri=uri)
    assert ":p@" not in str(err.value)  # never quotes the password


@pytest.mark.integration
def test_a_service_and_its_callers_fail_over_to_the_next_address(make_settings, run_suite):
    settings = make_settings(["registry"])
    dead = f"amqp://guest:guest@127.0.0.1:{free_port()}/x"  # nobody listens there
    vhost_path = settings.amqp_uri.rsplit("/", 1)[1]
    failover = settings.model_copy(update={"amqp_uri": f"{dead.rsplit('/', 1)[0]}/{vhost_path};{settings.amqp_uri}"})
    suite = run_suite("registry", settings=failover)  # the service's consumers, replies, dead letters
    with suite.client(timeout=20) as client:  # a caller, given the same list
        assert client.registry.summary().structure_version >= 0
        assert client._conn.port != int(dead.rsplit(":", 1)[1].split("/")[0])


def test_a_renewed_connection_moves_on_to_the_next_address():
    """The reply and confirm publishers renew a broken connection: the copy must try the next node,
    not (as kombu's clone would) the second address every time."""
    from kombu import Connection

    from redprop.messaging.confirms import renewed

    conn = Connection("amqp://u:pw@127.0.0.1:1/v;amqp://u:pw@127.0.0.1:2/v;amqp://u:pw@127.0.0.1:3/v")
    ports = []
    for _ in range(4):
        ports.append(conn.port)
        conn = renewed(conn)
    assert ports == [1, 2, 3, 1]
    assert (conn.userid, conn.password, conn.virtual_host) == ("u", "pw", "v")
    single = renewed(Connection("amqp://u:pw@127.0.0.1:5672/v"))
    assert (single.port, single.alt) == (5672, [])
