"""A test past its timeout fails alone; the run goes on (redprop's pytest plugin under eventlet).

pytest-timeout's own fallback under eventlet, its thread method, ends the whole run at the first slow
test: on CI one slow test hid every result after it.
"""

import subprocess
import sys
import time

SLOW_THEN_FINE = '''
import eventlet
import pytest
from kombu import Connection


@pytest.mark.timeout(2)
def test_waits_on_the_hub_too_long():
    eventlet.sleep(60)


@pytest.mark.timeout(2)
def test_waits_on_a_broker_queue_too_long(amqp_uri):
    with Connection(amqp_uri) as conn:
        queue = conn.SimpleQueue("nobody-publishes-here")
        queue.get(block=True, timeout=60)


@pytest.mark.timeout(10)
def test_the_next_one_runs_and_the_hub_still_keeps_time():
    started = eventlet.hubs.get_hub().clock()
    eventlet.sleep(0.2)
    assert 0.15 < eventlet.hubs.get_hub().clock() - started < 5
'''


def test_a_timed_out_test_fails_and_the_next_one_still_runs(tmp_path):
    (tmp_path / "test_slow.py").write_text(SLOW_THEN_FINE)
    (tmp_path / "pytest.ini").write_text("[pytest]\ntimeout_method = signal\n")
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_slow.py"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    took = time.monotonic() - started
    assert "2 failed, 1 passed" in run.stdout, run.stdout[-3000:] + run.stderr[-2000:]
    assert run.stdout.count("Timeout (>2.0s) from pytest-timeout") >= 2
    assert took < 50, f"the timed-out tests waited {took:.0f} s instead of failing at 2 s"
