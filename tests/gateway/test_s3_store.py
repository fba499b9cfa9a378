"""The s3 photo store against a real S3 server on this machine (moto's, which checks signatures): the round
trip, the gateway's upload and download through it, a tampered object refused by the SHA-256 check, and
misconfiguration (no settings, no key, a missing bucket, a wrong secret) named by its setting with nothing
half-written."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from redprop.errors import ConfigError, Unavailable
from redprop.services.gateway.options import PhotoOptions
from redprop.services.gateway.photo_store import PHOTO_STORE, PhotoMissing
from tests.gateway.conftest import start_gateway
from tests.gateway.photo_files import jpeg, png
from tests.gateway.s3_server import MotoS3

pytestmark = pytest.mark.integration
KEY_ENV, SECRET_ENV = "PHOTOS_S3_ACCESS_KEY_ID", "PHOTOS_S3_SECRET_ACCESS_KEY"
S3 = "services.gateway.options.photos.s3"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    with MotoS3(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture
def bucket(s3) -> str:
    return s3.make_bucket(f"photos-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def key_in_env(s3, monkeypatch):
    monkeypatch.setenv(KEY_ENV, s3.key.access_key_id)
    monkeypatch.setenv(SECRET_ENV, s3.key.secret_access_key)
    return s3.key


def s3_options(s3, bucket: str, **extra) -> dict:
    return {"endpoint_url": s3.endpoint_url, "bucket": bucket, "prefix": "310101/photos/", **extra}


def store(s3, bucket: str, tmp_path: Path, **extra):
    cls = PHOTO_STORE.load("s3")  # through its entry point, as the gateway finds it
    return cls(PhotoOptions(s3=s3_options(s3, bucket, **extra)), tmp_path)


def test_put_get_delete_round_trip_under_the_prefix(s3, bucket, key_in_env, tmp_path):
    photos = store(s3, bucket, tmp_path)
    key = uuid.uuid4().hex
    photos.put(key, png(), "image/png")
    assert photos.get(key) == png()
    stored = s3.client().get_object(Bucket=bucket, Key=f"310101/photos/{key}")
    assert stored["ContentType"] == "image/png" and stored["Body"].read() == png()
    photos.put(key, jpeg(), "image/jpeg")  # the same key again replaces it
    assert photos.get(key) == jpeg()
    with pytest.raises(PhotoMissing):
        photos.get(uuid.uuid4().hex)
    with pytest.raises(PhotoMissing):
        photos.get("../../other-bucket/x")  # never a key the gateway did not make
    photos.delete(key)
    photos.delete(key)  # idempotent
    photos.delete("not-a-key")
    with pytest.raises(PhotoMissing):
        photos.get(key)
    assert "Contents" not in s3.client().list_objects_v2(Bucket=bucket)
    assert key_in_env.secret_access_key not in repr(photos)


def test_misconfiguration_names_the_setting(s3, bucket, tmp_path, monkeypatch):
    cls = PHOTO_STORE.load("s3")
    with pytest.raises(ConfigError, match=r"photos\.s3'"):
        cls(PhotoOptions(), tmp_path)  # s3 chosen, its settings forgotten
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv(SECRET_ENV, "x")
    with pytest.raises(ConfigError, match=rf"photos\.s3\.access_key_id_env'.*{KEY_ENV} is not set"):
        store(s3, bucket, tmp_path)
    with pytest.raises(ConfigError, match=r"photos\.s3\.access_key_id_file'.*cannot read"):
        store(s3, bucket, tmp_path, access_key_id_file=str(tmp_path / "missing"))
    monkeypatch.setenv(KEY_ENV, "x")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match=r"photos\.s3\.secret_access_key_file'.*is empty"):
        store(s3, bucket, tmp_path, secret_access_key_file=str(tmp_path / "empty"))
    for bad in ({"bucket": "Photos_Bucket"}, {"bucket": "ok-bucket", "endpoint_url": "minio:9000"},
                {"bucket": "ok-bucket", "prefix": "/abs"}, {"bucket": "ok-bucket", "addressing_style": "dns"}):
        with pytest.raises(ValidationError) as info:
            PhotoOptions(s3=bad)
        assert info.value.errors()[0]["loc"][0] == "s3"


def test_a_missing_bucket_or_a_wrong_secret_is_a_clear_error_without_the_secret(s3, bucket, key_in_env, tmp_path,
                                                                               monkeypatch):
    with pytest.raises(Unavailable) as missing:
        store(s3, "no-such-bucket-here", tmp_path).put(uuid.uuid4().hex, png(), "image/png")
    assert missing.value.details["setting"] == f"{S3}.bucket" and "no-such-bucket-here" in missing.value.message
    monkeypatch.setenv(SECRET_ENV, "wrong-secret-0123456789")
    wrong = store(s3, bucket, tmp_path)
    for action in (lambda: wrong.put(uuid.uuid4().hex, png(), "image/png"), lambda: wrong.get(uuid.uuid4().hex),
                   lambda: wrong.delete(uuid.uuid4().hex)):
        with pytest.raises(Unavailable) as refused:
            action()
        assert refused.value.details["setting"] == f"{S3}.access_key_id"
        assert SECRET_ENV in refused.value.message and "wrong-secret" not in str(refused.value.to_wire())
    unreachable = store(s3, bucket, tmp_path, endpoint_url="http://127.0.0.1:9", max_attempts=1, connect_timeout=2)
    with pytest.raises(Unavailable) as down:
        unreachable.get(uuid.uuid4().hex)
    assert down.value.details["setting"] == f"{S3}.endpoint_url"


def _secret_files(tmp_path: Path, key, secret: str | None = None) -> dict:
    (tmp_path / "access_key_id").write_text(key.access_key_id + "\n")
    (tmp_path / "secret_access_key").write_text((secret or key.secret_access_key) + "\n")
    return {"access_key_id_file": str(tmp_path / "access_key_id"),
            "secret_access_key_file": str(tmp_path / "secret_access_key")}


def test_the_gateway_keeps_photos_in_the_bucket_and_refuses_a_tampered_one(s3, bucket, run_suite, small_district,
                                                                          tmp_path):
    options = {"s3": s3_options(s3, bucket, **_secret_files(tmp_path, s3.key))}  # the key from a mounted Secret
    gateway = start_gateway(run_suite, small_district, plugins={"gateway.photo_store": "s3"}, photos=options)
    ticket = gateway.submit("resident")["id"]
    added = gateway.call("POST", f"/api/v1/tickets/{ticket}/photos", "resident",
                         files={"photo": ("leak.png", png(), "image/png")})
    assert added.status_code == 201, added.text
    photo = added.json()
    stored = s3.client().get_object(Bucket=bucket, Key=f"310101/photos/{photo['id']}")
    assert stored["ContentType"] == "image/png" and hashlib.sha256(stored["Body"].read()).hexdigest() == photo["sha256"]
    got = gateway.call("GET", photo["url"], "grid_worker")
    assert got.status_code == 200 and got.content == png(exif=False)
    assert not any((tmp_path / "data").rglob("photos"))  # nothing went to the filesystem store's folder
    # Someone with access to the bucket changes the object: the gateway no longer serves it.
    s3.client().put_object(Bucket=bucket, Key=f"310101/photos/{photo['id']}", Body=png(exif=False)[:-1] + b"\x00",
                           ContentType="image/png")
    assert gateway.call("GET", photo["url"], "resident").status_code == 404
    # Deleting it through the gateway removes the object from the bucket.
    assert gateway.call("DELETE", photo["url"], "resident").status_code == 204
    assert "Contents" not in s3.client().list_objects_v2(Bucket=bucket)
    assert gateway.call("GET", f"/api/v1/tickets/{ticket}/photos", "resident").json()["photos"] == []


@pytest.mark.parametrize("fault", ["missing bucket", "wrong secret"])
def test_a_store_fault_is_a_503_naming_the_setting_and_leaves_no_row(fault, s3, bucket, run_suite, small_district,
                                                                    tmp_path):
    secret = "wrong-secret-0123456789" if fault == "wrong secret" else None
    name = f"not-made-yet-{uuid.uuid4().hex[:8]}" if fault == "missing bucket" else bucket
    options = {"s3": s3_options(s3, name, **_secret_files(tmp_path, s3.key, secret))}
    gateway = start_gateway(run_suite, small_district, plugins={"gateway.photo_store": "s3"}, photos=options)
    ticket = gateway.submit("resident")["id"]
    refused = gateway.call("POST", f"/api/v1/tickets/{ticket}/photos", "resident", data=png(),
                           headers={"Content-Type": "image/png"})
    assert refused.status_code == 503, refused.text
    error = refused.json()["error"]
    setting = f"{S3}.bucket" if fault == "missing bucket" else f"{S3}.access_key_id"
    assert error["code"] == "unavailable" and error["details"]["setting"] == setting
    assert "wrong-secret" not in refused.text
    assert gateway.call("GET", f"/api/v1/tickets/{ticket}/photos", "resident").json()["photos"] == []
    from sqlalchemy import func, select

    from redprop.services.gateway.models import photos

    with gateway.database() as db:
        assert db.execute(select(func.count()).select_from(photos)).scalar_one() == 0
    if fault == "missing bucket":  # made now, the same gateway stores the photo: the bucket was all it lacked
        s3.make_bucket(name)
        retry = gateway.call("POST", f"/api/v1/tickets/{ticket}/photos", "resident", data=png(),
                             headers={"Content-Type": "image/png"})
        assert retry.status_code == 201, retry.text
