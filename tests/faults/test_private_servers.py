"""The fault tests' own brokers go away with them, even when they stopped listening first.

A cluster node left alone in a minority pauses (``pause_minority``) and closes its ports but keeps its
Erlang VM; closing the test's broker must still end it, or every fault run leaves a broker behind.
"""

from __future__ import annotations

import pytest

from redprop.testing.servers import PrivateRabbit, _alive, _port_open

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def test_a_broker_that_stopped_listening_is_still_ended_by_close(tmp_path):
    rabbit = PrivateRabbit(tmp_path / "rabbit")
    rabbit.start()
    try:
        pid = int((rabbit.base / "node.pid").read_text().strip())
        rabbit._ctl("stop_app", timeout=90)  # the VM lives on, its AMQP listener is closed
        assert _alive(pid) and not _port_open(rabbit.port)
    finally:
        rabbit.close()
    assert not _alive(pid)
    rabbit.close()  # twice is fine: nothing left to end
