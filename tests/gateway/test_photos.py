"""Photos on tickets through the gateway: upload (multipart or raw), limits checked on the bytes, metadata
removed, served with safe headers only to those who may see the ticket (404 like a missing one otherwise)."""

from __future__ import annotations

import hashlib

import pytest
import requests

from tests.gateway.conftest import start_gateway
from tests.gateway.photo_files import GPS, jpeg, png, webp

pytestmark = pytest.mark.integration
MISSING = "T20990101-0000000000"
OTHER_RESIDENT = "test-key-resident-P3"
LIMIT = 4096


@pytest.fixture
def gateway(run_suite, small_district):
    return start_gateway(run_suite, small_district, photos={"max_bytes": LIMIT, "max_per_ticket": 3})


def upload(gateway, ticket, data, role="resident", key=None, content_type="image/png", multipart=False, **kw):
    path = f"/api/v1/tickets/{ticket}/photos"
    if multipart:
        return gateway.call("POST", path, role, key=key, files={"photo": ("leak.jpg", data, content_type)}, **kw)
    headers = {"Content-Type": content_type, **kw.pop("headers", {})}
    return gateway.call("POST", path, role, key=key, data=data, headers=headers, **kw)


def error(response) -> tuple[int, str, str | None]:
    body = response.json()["error"]
    fields = body["details"].get("fields") or [{}]
    return response.status_code, body["code"], body["details"].get("field") or fields[0].get("field")


def test_a_resident_adds_photos_and_gets_them_back_without_their_metadata(gateway):
    ticket = gateway.submit("resident")["id"]
    raw = upload(gateway, ticket, png())
    assert raw.status_code == 201, raw.text
    part = upload(gateway, ticket, jpeg(), multipart=True, content_type="application/octet-stream")
    assert part.status_code == 201, part.text
    first, second = raw.json(), part.json()
    assert (first["content_type"], second["content_type"]) == ("image/png", "image/jpeg")  # by bytes, not label
    assert first["uploader_role"] == "resident" and len(first["id"]) == 32 and first["id"] != second["id"]
    listed = gateway.call("GET", f"/api/v1/tickets/{ticket}/photos", "resident").json()
    assert [p["id"] for p in listed["photos"]] == [first["id"], second["id"]]
    assert (listed["max_bytes"], listed["max_per_ticket"]) == (LIMIT, 3)
    for photo, original in ((first, png()), (second, jpeg())):
        got = gateway.call("GET", photo["url"], "resident")
        assert got.status_code == 200
        assert got.headers["Content-Type"] == photo["content_type"]
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert got.headers["Cache-Control"].startswith("private")
        assert "sandbox" in got.headers["Content-Security-Policy"]
        assert GPS in original and GPS not in got.content  # the phone's position is not served
        assert hashlib.sha256(got.content).hexdigest() == photo["sha256"] and len(got.content) == photo["size"]
    # The workers and the district's operator see them too; a 304 for a browser that has it.
    seen = gateway.call("GET", first["url"], "grid_worker")
    assert seen.status_code == 200 and seen.content == png(exif=False)
    again = gateway.call("GET", first["url"], "grid_worker", headers={"If-None-Match": seen.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""


def test_the_type_is_checked_on_the_bytes_and_a_broken_photo_is_not_stored(gateway):
    ticket = gateway.submit("resident")["id"]
    gif = upload(gateway, ticket, b"GIF89a" + b"\x00" * 64, content_type="image/jpeg")
    assert error(gif) == (415, "unsupported_media_type", "photo")
    svg = upload(gateway, ticket, b"<svg onload='alert(1)'/>", multipart=True, content_type="image/png")
    assert error(svg) == (415, "unsupported_media_type", "photo")
    broken = upload(gateway, ticket, png()[:40])
    assert error(broken) == (422, "validation_failed", "photo")
    empty = upload(gateway, ticket, b"")
    assert error(empty) == (422, "validation_failed", "photo")
    no_part = gateway.call("POST", f"/api/v1/tickets/{ticket}/photos", "resident", files={"image": ("a", png())})
    assert error(no_part) == (422, "validation_failed", "photo")
    assert gateway.call("GET", f"/api/v1/tickets/{ticket}/photos", "resident").json()["photos"] == []


def test_size_and_count_limits_name_the_field(gateway):
    ticket = gateway.submit("resident")["id"]
    padded = png(exif=False)[:-12] + b"\x00\x00\x10\x00tEXt" + b"x" * 4096 + b"\x00" * 4 + png()[-12:]
    over = upload(gateway, ticket, padded)  # within the multipart slack, over max_bytes once read
    assert error(over) == (413, "payload_too_large", "photo")
    assert over.json()["error"]["details"]["limit"] == LIMIT
    huge = upload(gateway, ticket, b"\xff\xd8\xff" + b"\x00" * (LIMIT + 64 * 1024))  # refused from Content-Length
    assert error(huge) == (413, "payload_too_large", "photo")
    assert gateway.call("GET", f"/api/v1/tickets/{ticket}/photos", "resident").json()["photos"] == []
    for data in (png(), jpeg(), webp()):
        assert upload(gateway, ticket, data).status_code == 201
    fourth = upload(gateway, ticket, png())
    assert error(fourth) == (409, "conflict", "photo")


def test_another_residents_ticket_and_its_photos_are_404_like_missing_ones(gateway):
    ticket = gateway.submit("resident")["id"]
    photo = upload(gateway, ticket, png()).json()
    for method, path in (("POST", "/api/v1/tickets/{}/photos"), ("GET", "/api/v1/tickets/{}/photos"),
                         ("GET", f"/api/v1/tickets/{{}}/photos/{photo['id']}")):
        kwargs = {"data": png(), "headers": {"Content-Type": "image/png"}} if method == "POST" else {}
        theirs = gateway.call(method, path.format(ticket), key=OTHER_RESIDENT, **kwargs)
        missing = gateway.call(method, path.format(MISSING), key=OTHER_RESIDENT, **kwargs)
        assert theirs.status_code == missing.status_code == 404, (method, path)
        assert theirs.text.replace(ticket, "ID") == missing.text.replace(MISSING, "ID")
    # A handler sees only what is dispatched to it; a photo id under another ticket is no photo at all.
    assert gateway.call("GET", photo["url"], "department").status_code == 404  # the leak is the company's
    other = gateway.submit("resident")["id"]
    assert gateway.call("GET", f"/api/v1/tickets/{other}/photos/{photo['id']}", "resident").status_code == 404
    assert gateway.call("GET", f"/api/v1/tickets/{ticket}/photos/{'0' * 32}", "resident").status_code == 404
    assert len(gateway.call("GET", f"/api/v1/tickets/{ticket}/photos", "resident").json()["photos"]) == 1


def test_a_session_needs_the_csrf_header_and_a_retry_stores_nothing_twice(gateway):
    ticket = gateway.submit("resident")["id"]
    gateway.add_account("zhang.san", "P2")
    client = requests.Session()
    assert gateway.login("zhang.san", client=client).status_code == 200
    url = gateway.base_url + f"/api/v1/tickets/{ticket}/photos"
    forged = client.post(url, files={"photo": ("a.png", png())}, timeout=30)
    assert forged.status_code == 403 and forged.json()["error"]["details"] == {"header": "X-Requested-With"}
    headers = {"X-Requested-With": "redprop", "Idempotency-Key": "photo-retry-0001"}
    first = client.post(url, files={"photo": ("a.png", png())}, headers=headers, timeout=30)
    retry = client.post(url, files={"photo": ("a.png", png())}, headers=headers, timeout=30)
    assert first.status_code == retry.status_code == 201 and first.json() == retry.json()
    assert len(client.get(url, timeout=30).json()["photos"]) == 1


def test_open311_media_url_is_the_first_photo(gateway):
    ticket = gateway.submit("resident")["id"]
    assert gateway.call("GET", f"/open311/v2/requests/{ticket}.json", "resident").json()[0]["media_url"] is None
    photo = upload(gateway, ticket, webp()).json()
    upload(gateway, ticket, png())
    one = gateway.call("GET", f"/open311/v2/requests/{ticket}.json", "resident").json()[0]
    assert one["media_url"].endswith(photo["url"]) and one["media_url"].startswith("http")
    listed = gateway.call("GET", "/open311/v2/requests.json", "resident").json()
    assert [r["media_url"] for r in listed if r["service_request_id"] == ticket] == [one["media_url"]]


def stored_files(gateway) -> set[str]:
    folder = gateway.suite.settings.data_dir / gateway.suite.settings.district / "photos"
    return {p.name for p in folder.rglob("*") if p.is_file()}


def test_the_uploader_deletes_a_photo_while_the_ticket_is_open(gateway):
    ticket = gateway.submit("resident")["id"]
    kept, wrong = (upload(gateway, ticket, data).json() for data in (png(), jpeg()))
    assert stored_files(gateway) == {kept["id"], wrong["id"]}
    deleted = gateway.call("DELETE", wrong["url"], "resident")
    assert deleted.status_code == 204 and deleted.content == b""
    assert gateway.call("GET", wrong["url"], "resident").status_code == 404
    listed = gateway.call("GET", f"/api/v1/tickets/{ticket}/photos", "resident").json()["photos"]
    assert [p["id"] for p in listed] == [kept["id"]] and stored_files(gateway) == {kept["id"]}  # bytes gone too
    assert error(gateway.call("DELETE", wrong["url"], "resident"))[:2] == (404, "not_found")  # already gone
    # Once the ticket is cancelled the photo is the record's: the uploader may no longer remove it ...
    cancel = gateway.call("POST", f"/api/v1/tickets/{ticket}/cancel", "resident", json={"reason": "不需要了"})
    assert cancel.status_code == 200, cancel.text
    assert error(gateway.call("DELETE", kept["url"], "resident")) == (409, "conflict", "photo_id")
    # ... but the community's worker (P-CW, community_worker of C1) may, at any time.
    assert gateway.call("DELETE", kept["url"], "grid_worker").status_code == 204
    assert stored_files(gateway) == set()


def test_who_may_delete_a_photo(gateway):
    ticket = gateway.submit("resident")["id"]
    photo = upload(gateway, ticket, png()).json()
    theirs = gateway.call("DELETE", photo["url"], key=OTHER_RESIDENT)  # another resident: as if missing
    missing = gateway.call("DELETE", f"/api/v1/tickets/{MISSING}/photos/{photo['id']}", key=OTHER_RESIDENT)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text.replace(ticket, "ID") == missing.text.replace(MISSING, "ID")
    assert gateway.call("DELETE", photo["url"], "department").status_code == 404  # not dispatched to it
    # Workers who see the ticket but are not the community's worker (a subdistrict officer, the district's
    # operator), and the company it was dispatched to, may not delete what the resident took.
    for role in ("community_admin", "operator", "property_company"):
        assert error(gateway.call("DELETE", photo["url"], role)) == (403, "permission_denied", "photo_id"), role
    # The list tells each caller whether they may (the workbench shows its delete button by it).
    may = {role: gateway.call("GET", f"/api/v1/tickets/{ticket}/photos", role).json()["photos"][0]["may_delete"]
           for role in ("resident", "grid_worker", "community_admin", "operator", "property_company")}
    assert may == {"resident": True, "grid_worker": True, "community_admin": False, "operator": False,
                   "property_company": False}
    assert photo["may_delete"] is True  # the uploader, on an open ticket
    # A worker deletes a photo they took themselves.
    own = upload(gateway, ticket, jpeg(), role="community_admin").json()
    assert gateway.call("DELETE", own["url"], "community_admin").status_code == 204
    assert [p["id"] for p in gateway.call("GET", f"/api/v1/tickets/{ticket}/photos", "resident").json()["photos"]] \
        == [photo["id"]]


def test_deleting_with_bad_input(gateway):
    ticket = gateway.submit("resident")["id"]
    photo = upload(gateway, ticket, png()).json()
    for bad in ("ZZZ", photo["id"].upper(), photo["id"] + "0", "..%2F..%2Fetc"):
        refused = gateway.call("DELETE", f"/api/v1/tickets/{ticket}/photos/{bad}", "resident")
        assert refused.status_code in (404, 422), (bad, refused.text)
        if refused.status_code == 422:
            assert error(refused) == (422, "validation_failed", "photo_id")
    assert error(gateway.call("DELETE", f"/api/v1/tickets/{ticket}/photos/ZZZ", "resident")) == \
        (422, "validation_failed", "photo_id")
    assert error(gateway.call("DELETE", f"/api/v1/tickets/{ticket}/photos/{'0' * 32}", "resident"))[:2] == \
        (404, "not_found")
    other = gateway.submit("resident")["id"]  # the photo under another of the same resident's tickets: none
    assert gateway.call("DELETE", f"/api/v1/tickets/{other}/photos/{photo['id']}", "resident").status_code == 404
    gateway.add_account("zhang.san", "P2")
    client = requests.Session()
    assert gateway.login("zhang.san", client=client).status_code == 200
    forged = client.delete(gateway.base_url + photo["url"], timeout=30)  # a session without the CSRF header
    assert forged.status_code == 403 and forged.json()["error"]["details"] == {"header": "X-Requested-With"}
    assert len(gateway.call("GET", f"/api/v1/tickets/{ticket}/photos", "resident").json()["photos"]) == 1
    done = client.delete(gateway.base_url + photo["url"], headers={"X-Requested-With": "redprop"}, timeout=30)
    assert done.status_code == 204
