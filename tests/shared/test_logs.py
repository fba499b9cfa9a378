"""Logs an operator can use: JSON lines with the worker's context, and no resident's free text at INFO."""

from __future__ import annotations

import io
import json
import logging

import pytest

from redprop.config import load_settings
from redprop.errors import ConfigError, ValidationFailed
from redprop.logs import JsonFormatter, bind, configure_logging, current, make_handler
from tests.ticketing.conftest import COMPANY, act, rid, start_ticketing

pytestmark = pytest.mark.integration

PHONE = "13912345678"
NAME = "王秀英"


@pytest.fixture
def captured():
    """Everything logged at DEBUG and above while the test runs, as JSON lines (the production handler)."""
    buffer = io.StringIO()
    handler = make_handler("DEBUG", "json", stream=buffer)
    root = logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(saved)


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_submit_with_a_phone_number_never_logs_it_at_info(run_suite, small_district, captured):
    suite = start_ticketing(run_suite, small_district)
    description = f"楼道顶棚漏水，请联系{NAME} {PHONE}"
    ticket = suite.rpc.ticketing.submit(resident_id="P2", category="leak", building_id="B1",
                                        description=description, request_id=rid("submit")).ticket
    act(suite, "accept", ticket.id, COMPANY)
    act(suite, "resolve", ticket.id, COMPANY, summary=f"已修复，回访电话 {PHONE}")
    # A refused request carrying the phone number (an invalid building id) leaves no trace at INFO either.
    suite.rpc.contracts = {}  # skip the client-side check so the service sees the bad request
    with pytest.raises(ValidationFailed):
        suite.rpc.call("ticketing", "submit", {"resident_id": "P2", "category": "leak", "building_id": f"电话 {PHONE}",
                                               "description": description, "request_id": rid("submit")})
    records = lines(captured)
    assert records, "nothing was logged"
    loud = [r for r in records if logging.getLevelName(r["level"]) >= logging.INFO]
    assert any(r["logger"].endswith("notifiers") for r in loud)  # the notices were logged...
    for record in loud:  # ...without what the resident or the handler wrote
        text = json.dumps(record, ensure_ascii=False)
        assert PHONE not in text and NAME not in text, record
    # At DEBUG the notice text is there for whoever turns it on.
    assert any(PHONE in r["message"] for r in records if r["level"] == "DEBUG")


def test_json_lines_carry_the_workers_context(run_suite, small_district, captured):
    suite = start_ticketing(run_suite, small_district)
    ticket = suite.rpc.ticketing.submit(resident_id="P2", category="leak", building_id="B1",
                                        description="楼道顶棚漏水", request_id=rid("submit")).ticket
    act(suite, "accept", ticket.id, COMPANY)
    notices = [r for r in lines(captured) if r["logger"].endswith("notifiers") and r["level"] == "INFO"]
    by_entrypoint = {r["entrypoint"]: r for r in notices}
    assert {"submit", "accept"} <= set(by_entrypoint), notices
    for entrypoint in ("submit", "accept"):
        record = by_entrypoint[entrypoint]
        assert record["service"] == "ticketing"
        assert record["ticket_id"] == ticket.id  # submit learns it once written; accept from its request
        assert record["district"] == suite.settings.district
        assert record["call_id"].startswith("ticketing.")  # nameko's call id: service.method.uuid
        assert set(record) >= {"time", "level", "logger", "message"}
        assert record["time"].endswith("Z")
    assert by_entrypoint["submit"]["call_id"] != by_entrypoint["accept"]["call_id"]
    # Outside a worker (the outbox relay, start-up) there is no worker context to report.
    assert all("entrypoint" not in r for r in lines(captured) if r["logger"] == "redprop.metrics")
    assert current() == {}  # the test's own thread never had a worker's context


def test_json_formatter_writes_one_object_per_line_with_the_traceback():
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("redprop.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            logger.exception("failed on %s", "工单 T1")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    (line,) = buffer.getvalue().splitlines()  # the newlines of the traceback stay inside the object
    record = json.loads(line)
    assert record["message"] == "failed on 工单 T1" and record["level"] == "ERROR"
    assert "ValueError: boom" in record["exception"]


def test_log_format_is_a_checked_setting(monkeypatch):
    monkeypatch.setenv("REDPROP_LOG_FORMAT", "json")
    assert load_settings().log_format == "json"
    monkeypatch.setenv("REDPROP_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="log_format"):
        load_settings()
    monkeypatch.delenv("REDPROP_LOG_FORMAT")
    assert load_settings().log_format == "text"


def test_configure_logging_json_puts_bound_fields_on_the_line(capsys):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO", "json")
        token = bind(service="registry", entrypoint="resolve", call_id="registry.resolve.1", matter_id="M9")
        logging.getLogger("redprop.test").info("resolved")
        from redprop.logs import unbind
        unbind(token)
        logging.getLogger("redprop.test").info("outside")
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert (first["service"], first["entrypoint"], first["call_id"], first["matter_id"]) == (
        "registry", "resolve", "registry.resolve.1", "M9")
    assert "service" not in second and second["message"] == "outside"


def test_a_failed_statement_does_not_quote_its_values(tmp_path):
    # An unexpected database error is logged with its traceback (wire.error_payload); SQLAlchemy's
    # message would list the bound values, a resident's description among them.
    import sqlalchemy as sa

    from redprop.db.engine import build_engine

    engine = build_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    table = sa.Table("t", sa.MetaData(), sa.Column("text", sa.String, unique=True))
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(table.insert(), {"text": f"请联系 {PHONE}"})
    with pytest.raises(sa.exc.IntegrityError) as failed, engine.begin() as connection:
        connection.execute(table.insert(), {"text": f"请联系 {PHONE}"})
    assert "UNIQUE" in str(failed.value) and PHONE not in str(failed.value)
    engine.dispose()


def test_background_threads_name_their_service(run_suite, small_district, rabbit_management, vhost, captured):
    import time
    from urllib.parse import quote

    suite = run_suite("registry")
    # The broker refuses registry's events, so its outbox relay logs from its own green thread.
    path = f"/permissions/{quote(vhost, safe='')}/{quote(rabbit_management.user, safe='')}"
    rabbit_management.request("PUT", path, {"configure": ".*", "write": r"^(?!registry\.events$).*", "read": ".*"})
    try:
        suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id=rid("load"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            relay = [r for r in lines(captured) if r["logger"] == "redprop.messaging.outbox" and r["level"] == "WARNING"]
            if relay:
                break
            time.sleep(0.2)
    finally:
        rabbit_management.request("PUT", path, {"configure": ".*", "write": ".*", "read": ".*"})
    assert relay, "the relay never logged the refusal"
    assert relay[0]["service"] == "registry" and "entrypoint" not in relay[0]
