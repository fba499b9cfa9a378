"""Residents' personal data in the registry (PIPL): encrypted at rest, masked by viewer, every unmasked read
and every change in the access log, export and erasure on request; on SQLite and on PostgreSQL."""

from __future__ import annotations

import argparse
import base64
import os
import stat

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from redprop.db.engine import build_engine
from redprop.errors import NotFound
from redprop.privacy.cipher import DecryptionFailed, FieldCipher
from redprop.privacy.keys import generate, key_ring
from redprop.privacy.settings import PrivacySettings
from redprop.services.registry import models as m
from redprop.services.registry.cli import cmd_keys_rotate

pytestmark = pytest.mark.integration

PHONE = "13900000003"
ID_CARD = "110101199001011234"
MASKED_PHONE = "139****0003"
MASKED_ID = "1101**********1234"


def privacy_people() -> list[dict]:
    """The small district plus a second community, and the officials who may or may not see numbers."""
    return [
        {"kind": "region", "id": "C2", "level": "community", "name": "和平社区", "parent_id": "S"},
        {"kind": "person", "id": "P3", "name": "王五", "phone": PHONE, "id_card": ID_CARD},
        {"kind": "person", "id": "DO", "name": "数据专员"},
        {"kind": "person", "id": "CW1", "name": "幸福社区工作者"},
        {"kind": "person", "id": "CW2", "name": "和平社区工作者"},
        {"kind": "role", "id": "R-DO", "person_id": "DO", "role": "data_officer", "scope_id": "990001",
         "term_start": "2024-01-01"},
        {"kind": "role", "id": "R-CW1", "person_id": "CW1", "role": "community_worker", "scope_id": "C1",
         "term_start": "2024-01-01"},
        {"kind": "role", "id": "R-CW2", "person_id": "CW2", "role": "community_worker", "scope_id": "C2",
         "term_start": "2024-01-01"},
    ]


@pytest.fixture
def registry(run_suite, backend, small_district):
    suite = run_suite("registry", backend=backend)
    records = [r for r in small_district if r["id"] != "P3"] + privacy_people()
    report = suite.rpc.registry.upsert(actor="P-DATA", records=records, request_id="load-privacy-district")
    assert report.applied and not report.errors, report.errors
    return suite


def person_rows(suite) -> list[dict]:
    engine = build_engine(suite.settings.database_url("registry"))
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(m.people))]
    finally:
        engine.dispose()


def test_the_tables_hold_no_phone_or_id_card_in_plain_text(registry):
    rows = person_rows(registry)
    p3 = next(r for r in rows if r["id"] == "P3")
    assert p3["phone"].startswith("enc:v1:") and p3["id_card"].startswith("enc:v1:")
    assert p3["phone_hash"] and p3["id_card_hash"]
    for row in rows:
        for value in row.values():
            assert PHONE not in str(value) and ID_CARD not in str(value) and "0003" not in str(value)
    # The stored ciphertext is bound to its row: another key cannot read it, and neither can another row.
    cipher = FieldCipher(key_ring(registry.settings))
    place = {"table": "people", "field": "phone"}
    assert cipher.decrypt(p3["phone"], row="990001/P3", **place) == PHONE
    with pytest.raises(DecryptionFailed):
        FieldCipher(generate()).decrypt(p3["phone"], row="990001/P3", **place)
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(p3["phone"], row="990001/P2", **place)


@pytest.mark.parametrize("viewer, sees", [
    (None, False), ("P2", False), ("CW2", False),  # anonymous, another resident, another community's worker
    ("DO", True), ("CW1", True), ("P3", True),     # the data officer, the worker of P3's community, P3
])
def test_replies_mask_personal_data_unless_the_viewer_may_see_it(registry, viewer, sees):
    rec = registry.rpc.registry.get(kind="person", id="P3", viewer_id=viewer).record
    listed = {p.id: p for p in registry.rpc.registry.list(kind="person", viewer_id=viewer).items}["P3"]
    expected = (PHONE, ID_CARD) if sees else (MASKED_PHONE, MASKED_ID)
    assert (rec.phone, rec.id_card) == expected
    assert (listed.phone, listed.id_card) == expected
    assert rec.name == "王五"  # names are not masked: the hub works with them


def test_every_unmasked_read_and_every_change_is_in_the_access_log(registry):
    rpc = registry.rpc.registry
    rpc.get(kind="person", id="P3", viewer_id="CW1", purpose="ticket T-1: call back about the leak")
    rpc.get(kind="person", id="P3", viewer_id="P2")  # masked: nothing to log
    rpc.upsert(actor="P-DATA", records=[{"kind": "person", "id": "P3", "name": "王五", "phone": "13900000009",
                         "id_card": ID_CARD}], request_id="change-p3-phone")
    log = rpc.access_log(actor="DO", subject_id="P3").items
    assert [(e.who, e.action, e.what) for e in log[:3]] == [
        ("P-DATA", "change", "phone"),
        ("CW1", "read", "phone,id_card"),
        ("P-DATA", "change", "phone,id_card"),  # the first load
    ]
    assert log[1].why == "ticket T-1: call back about the leak"
    assert all(e.who != "P2" for e in log)
    assert "13900000009" not in str(log) and PHONE not in str(log)  # fields named, never values
    assert rpc.access_log(actor="DO", who="CW1").total == 1


def test_a_masked_value_read_back_keeps_the_number_and_another_masked_value_is_refused(registry):
    rpc = registry.rpc.registry
    masked = rpc.get(kind="person", id="P3").record
    report = rpc.upsert(actor="P-DATA", records=[masked.model_copy(update={"name": "王五五"}).model_dump()],
                        request_id="roundtrip-masked")
    assert report.applied and report.counts["person"].updated == 1
    assert rpc.get(kind="person", id="P3", viewer_id="DO").record.phone == PHONE
    bad = rpc.upsert(actor="P-DATA", records=[{"kind": "person", "id": "P3", "name": "王五", "phone": "139****9999"}],
                     request_id="bad-masked")
    assert not bad.applied and [(e.id, e.field) for e in bad.errors] == [("P3", "phone")]


def test_export_returns_everything_about_a_person_and_is_logged(registry):
    rpc = registry.rpc.registry
    export = rpc.export_person(actor="DO", person_id="P3", purpose="resident's request 2026-118")
    assert (export.person.phone, export.person.id_card) == (PHONE, ID_CARD)
    assert sorted(h.id for h in export.households) == ["H2", "H3"]
    assert export.erased_at is None
    assert rpc.access_log(actor="DO", subject_id="P3").items[0].action == "export"
    with pytest.raises(NotFound) as err:
        rpc.export_person(actor="DO", person_id="NOBODY", purpose="x")
    assert err.value.details["field"] == "person_id"


def test_erasure_removes_what_identifies_the_person_and_keeps_the_anonymised_facts(registry):
    rpc = registry.rpc.registry
    electorate = rpc.electorate(complex_id="X1")
    reply = rpc.erase_person(actor="DO", person_id="P3", reason="resident's request 2026-119",
                             request_id="erase-p3-0001")
    rec = rpc.get(kind="person", id="P3", viewer_id="DO").record
    assert (rec.name, rec.phone, rec.id_card) == ("已删除", None, None)
    raw = next(r for r in person_rows(registry) if r["id"] == "P3")
    assert raw["phone"] is raw["id_card"] is raw["phone_hash"] is raw["id_card_hash"] is None
    assert raw["name"] == "已删除" and raw["erased_at"] is not None
    assert rpc.electorate(complex_id="X1") == electorate  # ownership and areas stay for the statistics
    assert rpc.summary().structure_version == reply.structure_version
    entry = rpc.access_log(actor="DO", subject_id="P3").items[0]
    assert (entry.action, entry.what, entry.why) == ("erase", "name,phone,id_card", "resident's request 2026-119")
    # An old dataset cannot bring the data back.
    again = rpc.upsert(actor="P-DATA", records=[{"kind": "person", "id": "P3", "name": "王五", "phone": PHONE}],
                       request_id="reimport-p3")
    assert not again.applied and [(e.id, e.field) for e in again.errors] == [("P3", "id")]
    with pytest.raises(NotFound):
        rpc.erase_person(actor="DO", person_id="NOBODY", reason="x", request_id="erase-nobody-01")


def test_the_sqlite_database_file_is_private(run_suite, small_district):
    suite = run_suite("registry")
    path = make_url(suite.settings.database_url("registry")).database
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    key_file = suite.settings.data_dir / "privacy-keys.yaml"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_rotation_re_encrypts_every_value_and_nothing_is_lost(run_suite, make_settings, backend, small_district):
    settings = make_settings(["registry"], backend)
    suite = run_suite("registry", settings=settings)
    people = [{"kind": "person", "id": f"Q{n}", "name": f"居民{n}", "phone": f"1390000{n:04d}",
               **({"id_card": f"11010119900101{n:04d}"} if n % 2 else {})} for n in range(40)]
    assert suite.rpc.registry.upsert(actor="P-DATA", records=small_district + people, request_id="rotation-people").applied
    suite.stop()
    old = key_ring(settings)
    assert cmd_keys_rotate(argparse.Namespace(new_key="k2"), settings) == 0
    rows = [r for r in person_rows(suite) if r["id"].startswith("Q")]
    assert len(rows) == 40
    for row in rows:
        assert row["phone"].startswith("enc:v1:k2:") and row["phone_hash"].startswith("k2:")
        assert row["id_card"] is None or row["id_card"].startswith("enc:v1:k2:")
    # The old key can go: the new one alone reads every value, as it was.
    new = key_ring(settings)
    only_new = settings.model_copy(update={"privacy": PrivacySettings(
        keys={"k2": base64.b64encode(new.keys["k2"]).decode()}, current_key="k2")})
    assert old.current in new.keys and old.current != "k2"
    again = run_suite("registry", settings=only_new)
    listed = again.rpc.registry.list(kind="person", viewer_id=None, limit=100).items
    assert len([p for p in listed if p.id.startswith("Q")]) == 40
    for n in range(40):
        rec = again.rpc.registry.get(kind="person", id=f"Q{n}", viewer_id=f"Q{n}").record
        assert rec.phone == f"1390000{n:04d}"
        assert rec.id_card == (f"11010119900101{n:04d}" if n % 2 else None)
    # A second run has nothing left to do.
    assert cmd_keys_rotate(argparse.Namespace(new_key=None), only_new) == 0


def test_the_migration_encrypts_the_phones_stored_before_it(make_settings, backend):
    from datetime import UTC, datetime

    from sqlalchemy import text

    from redprop.db.migrate import upgrade
    from redprop.services.registry.service import RegistryService

    settings = make_settings(["registry"], backend)
    upgrade(RegistryService, settings, "registry_0001")
    engine = build_engine(settings.database_url("registry"))
    try:
        with engine.begin() as conn:
            for pid, phone in (("P1", PHONE), ("P2", None)):
                conn.execute(text("INSERT INTO people (district, id, name, party_member, phone, updated_at) "
                                  "VALUES ('990001', :id, '老住户', false, :phone, :at)"),
                             {"id": pid, "phone": phone, "at": datetime.now(UTC)})
        upgrade(RegistryService, settings)
        with engine.connect() as conn:
            rows = {r.id: r for r in conn.execute(select(m.people))}
    finally:
        engine.dispose()
    cipher = FieldCipher(key_ring(settings))
    assert rows["P1"].phone.startswith("enc:v1:") and PHONE not in rows["P1"].phone
    assert cipher.decrypt(rows["P1"].phone, table="people", row="990001/P1", field="phone") == PHONE
    assert rows["P1"].phone_hash == cipher.lookup_hash(PHONE, field="phone")
    assert rows["P2"].phone is None and rows["P2"].phone_hash is None
