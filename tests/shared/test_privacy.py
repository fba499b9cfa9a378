"""redprop.privacy: field encryption bound to its place, key rings, lookup hashes, masking, the log filter,
private files."""

from __future__ import annotations

import base64
import io
import logging
import os
import stat

import pytest
import yaml

from redprop.config import Settings, load_settings
from redprop.db.engine import build_engine
from redprop.errors import ConfigError
from redprop.logs import make_handler
from redprop.privacy.cipher import DecryptionFailed, FieldCipher, is_encrypted
from redprop.privacy.keys import KeyRing, generate, key_ring, read_key_file, save_key_file
from redprop.privacy.masking import erase_contacts, mask_contacts, mask_id_card, mask_phone

PHONE = "13900000001"
ID_CARD = "110101199001011234"
PLACE = {"table": "people", "row": "990001/P1", "field": "phone"}


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- encryption --------------------------------------------------------------------------------------


def test_a_value_round_trips_and_is_not_in_the_ciphertext():
    cipher = FieldCipher(generate())
    token = cipher.encrypt(PHONE, **PLACE)
    assert is_encrypted(token) and PHONE not in token
    assert cipher.decrypt(token, **PLACE) == PHONE
    assert cipher.encrypt(PHONE, **PLACE) != token  # a fresh nonce each time: equal phones look different


def test_a_wrong_key_cannot_decrypt():
    token = FieldCipher(generate()).encrypt(PHONE, **PLACE)
    other = generate()
    # The same key id with another key's bytes: the tag does not verify.
    impostor = KeyRing({other.current: other.current_key, **{k: os.urandom(32) for k in [token.split(":")[2]]}},
                       other.current)
    with pytest.raises(DecryptionFailed, match="does not decrypt"):
        FieldCipher(impostor).decrypt(token, **PLACE)
    with pytest.raises(DecryptionFailed, match="not in the key ring"):
        FieldCipher(other).decrypt(token, **PLACE)


@pytest.mark.parametrize("moved", [{"row": "990001/P2"}, {"field": "id_card"}, {"table": "tickets"}])
def test_a_ciphertext_moved_to_another_row_field_or_table_does_not_decrypt(moved):
    cipher = FieldCipher(generate())
    token = cipher.encrypt(PHONE, **PLACE)
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(token, **{**PLACE, **moved})


def test_a_tampered_ciphertext_does_not_decrypt():
    cipher = FieldCipher(generate())
    token = cipher.encrypt(PHONE, **PLACE)
    body = bytearray(base64.b64decode(token.rsplit(":", 1)[1]))
    body[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(token.rsplit(":", 1)[0] + ":" + b64(bytes(body)), **PLACE)
    with pytest.raises(DecryptionFailed, match="not an encrypted value"):
        cipher.decrypt(PHONE, **PLACE)


def test_after_rotation_old_values_still_decrypt_and_new_ones_use_the_new_key():
    old = generate()
    token = FieldCipher(old).encrypt(PHONE, **PLACE)
    rotated = old.with_new_key("k2")
    cipher = FieldCipher(rotated)
    assert cipher.decrypt(token, **PLACE) == PHONE
    assert cipher.needs_rotation(token)
    fresh = cipher.encrypt(PHONE, **PLACE)
    assert fresh.startswith("enc:v1:k2:") and not cipher.needs_rotation(fresh)
    with pytest.raises(ValueError, match="already"):
        rotated.with_new_key("k2")


def test_lookup_hashes_find_equal_numbers_whatever_their_spacing_under_any_key_of_the_ring():
    ring = generate()
    cipher = FieldCipher(ring)
    stored = cipher.lookup_hash("139-0000-0001", field="phone")
    assert stored == cipher.lookup_hash("139 0000 0001", field="phone")
    assert stored != cipher.lookup_hash("13900000002", field="phone")
    assert stored != cipher.lookup_hash(PHONE, field="id_card")  # the field is part of the hash
    assert PHONE not in stored
    rotated = FieldCipher(ring.with_new_key("k2"))
    assert stored in rotated.lookup_hashes(PHONE, field="phone")
    assert FieldCipher(generate()).lookup_hash(PHONE, field="phone") != stored  # keyed: no rainbow table


# -- key rings from settings and files ---------------------------------------------------------------


def test_keys_from_settings(tmp_path):
    key = os.urandom(32)
    settings = Settings(data_dir=tmp_path, privacy={"keys": {"k1": b64(key)}, "current_key": "k1"})
    ring = key_ring(settings)
    assert ring.current == "k1" and ring.current_key == key
    assert "k1" in repr(settings.privacy) and b64(key) not in repr(settings.privacy)
    assert not (tmp_path / "privacy-keys.yaml").exists()


@pytest.mark.parametrize("privacy, message", [
    ({"keys": {"k1": "bm90IGEga2V5"}, "current_key": "k1"}, "must be 32 bytes"),
    ({"keys": {"k1": "!!!"}, "current_key": "k1"}, "not valid base64"),
    ({"keys": {"k 1": b64(b"x" * 32)}, "current_key": "k 1"}, "key id"),
    ({"keys": {"k1": b64(b"x" * 32)}}, "current_key is required"),
    ({"keys": {"k1": b64(b"x" * 32)}, "current_key": "k2"}, "not one of privacy.keys"),
    ({"keys": {"k1": b64(b"x" * 32)}, "current_key": "k1", "key_file": "/x"}, "not both"),
])
def test_a_wrong_key_setting_stops_start_up_naming_it(monkeypatch, tmp_path, privacy, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_settings(privacy=privacy)
    assert "privacy" in str(err.value) and message in str(err.value)
    assert b64(b"x" * 32) not in str(err.value)


def test_a_kubernetes_secret_file_is_read(tmp_path):
    path = tmp_path / "secret" / "keys.yaml"
    ring = generate().with_new_key("k2")
    path.parent.mkdir()
    path.write_text(ring.to_yaml())
    loaded = key_ring(Settings(data_dir=tmp_path, privacy={"key_file": str(path)}))
    assert loaded == ring
    older = key_ring(Settings(data_dir=tmp_path, privacy={"key_file": str(path),
                                                          "current_key": [k for k in ring.keys if k != "k2"][0]}))
    assert older.current != "k2"


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("- a list", "must hold"),
    (yaml.safe_dump({"current_key": "k9", "keys": {"k1": b64(b"x" * 32)}}), "'k9' is not a key"),
    (yaml.safe_dump({"current_key": "k1", "keys": {"k1": b64(b"short")}}), "32 bytes"),
])
def test_a_bad_key_file_is_a_config_error_naming_the_setting(tmp_path, content, message):
    path = tmp_path / "keys.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as err:
        read_key_file(path)
    assert "privacy." in str(err.value) and message in str(err.value)


def test_the_embedded_defaults_generate_a_private_local_key_file_once(tmp_path):
    settings = Settings(data_dir=tmp_path / "var")
    first = key_ring(settings)
    path = tmp_path / "var" / "privacy-keys.yaml"
    assert path.is_file() and mode(path) == 0o600
    assert key_ring(settings) == first  # the same key next time: nothing encrypted is lost
    save_key_file(path, first.with_new_key("k2"))
    assert mode(path) == 0o600 and key_ring(settings).current == "k2"


# -- masking -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("phone, masked", [
    ("13900000001", "139****0001"), ("139 0000 0001", "139****0001"), ("+86 139-0000-0001", "139****0001"),
    ("021-12345678", "021****5678"), ("12345", "***45"), (None, None),
])
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("card, masked", [
    ("110101199001011234", "1101**********1234"), ("11010119900101123x", "1101**********123X"),
    ("110101900101123", "1101*******1123"), (None, None),
])
def test_mask_id_card(card, masked):
    assert mask_id_card(card) == masked


def test_numbers_in_free_text_are_masked_or_erased_and_ids_and_timestamps_left_alone():
    text = (f"请联系王女士{PHONE}或+86 139 0000 0002，座机021-12345678，身份证{ID_CARD}。"
            "工单 T-20261202-000123，时间 1733150000000，面积 88.50")
    masked = mask_contacts(text)
    assert "139****0001" in masked and "139****0002" in masked and "021****5678" in masked
    assert "1101**********1234" in masked
    assert "T-20261202-000123" in masked and "1733150000000" in masked and "88.50" in masked
    erased = erase_contacts(text)
    for secret in (PHONE, "0000 0002", "12345678", ID_CARD, "139****"):
        assert secret not in erased
    assert erased.count("[已删除]") == 4 and "T-20261202-000123" in erased


# -- the log filter ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_phone_or_id_card_in_any_log_line_above_debug(fmt):
    buffer = io.StringIO()
    handler = make_handler("DEBUG", fmt, stream=buffer)
    log = logging.getLogger("redprop.test.privacy")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    try:
        log.debug("debug keeps it: %s", PHONE)
        log.info("a resident wrote: 楼道漏水，请联系 %s", PHONE)
        log.warning("ID card %s refused", ID_CARD)
        try:
            raise ValueError(f"bad description 电话{PHONE}")
        except ValueError:
            log.exception("submit failed")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    out = buffer.getvalue()
    loud = [line for line in out.splitlines() if "debug keeps it" not in line]
    assert loud and all(PHONE not in line and ID_CARD not in line for line in loud), out
    assert "139****0001" in out and "1101**********1234" in out
    assert PHONE in out  # only on the DEBUG line


# -- private files -----------------------------------------------------------------------------------


def test_sqlite_database_files_are_created_0600(tmp_path):
    path = tmp_path / "db" / "registry.sqlite3"
    engine = build_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        wal = [p for p in path.parent.iterdir() if p.name.endswith(("-wal", "-shm"))]
        for p in [path, *wal]:
            assert mode(p) == 0o600, p
    engine.dispose()


def test_an_older_world_readable_database_file_is_made_private(tmp_path):
    path = tmp_path / "old.sqlite3"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    build_engine(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600
