"""Photos on tickets (issue 19): a resident's picture of the leak, a company's of the repair.

Ticketing's contract takes ``media_urls`` only when a ticket is submitted and has no command to add one,
so the references live here, in the gateway's database, and are listed with the ticket
(``GET /api/v1/tickets/{id}/photos``); Open311's ``media_url`` is the ticket's first one. The bytes go to
the photo store (extension point ``gateway.photo_store``) under a random key.

What a photo may be is checked on its bytes, never on the client's Content-Type: JPEG, PNG or WebP by their
magic bytes (else 415), at most ``photos.max_bytes`` (else 413), a structure that holds together (else 422),
at most ``photos.max_per_ticket`` on one ticket (409). EXIF, XMP and text metadata are removed before it is
stored (``images.py``), so a phone's GPS position is never served to anyone. Who may add or see the photos of
a ticket is who may see the ticket, with the same 404 as a missing ticket for anyone else.

A photo is deleted (``DELETE .../photos/{id}``) by its uploader while the ticket is open, or by a community
worker of the ticket's community (their registry post ``community_worker`` there) at any time: a wrong
picture, or a face or a door number that should not be kept (PIPL Art. 47: personal information is deleted
once it is no longer needed or on the person's request).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from pathlib import Path
from typing import Literal

from nameko.extensions import DependencyProvider
from pydantic import BaseModel, Field
from sqlalchemy import func, insert, select
from werkzeug.wrappers import Response

from redprop.clock import utcnow
from redprop.config import settings_from_config
from redprop.contracts.ticketing import OPEN_STATUSES
from redprop.errors import Conflict, NotFound, PermissionDenied, RedpropError, ValidationFailed
from redprop.service import choices_of
from redprop.services.gateway import images
from redprop.services.gateway.auth import WORKERS, Principal
from redprop.services.gateway.bodies import idempotency_key
from redprop.services.gateway.edge import PayloadTooLarge
from redprop.services.gateway.http import json_response, route
from redprop.services.gateway.models import photos
from redprop.services.gateway.photo_store import KEY, PHOTO_STORE, PhotoMissing, PhotoStore

#: Room for the multipart framing around a photo of ``max_bytes`` (boundaries, part headers).
MULTIPART_SLACK = 16 * 1024
FIELD = "photo"


class UnsupportedMediaType(RedpropError):
    """The body is not a photo of an accepted type (HTTP 415)."""

    code = "unsupported_media_type"
    retryable = False


class Photo(BaseModel):
    """A photo on a ticket: what it is, not who took it (the uploader's role only)."""

    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    ticket_id: str
    content_type: Literal["image/jpeg", "image/png", "image/webp"]
    size: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Of the bytes served (metadata removed).")
    uploader_role: str
    uploaded_at: datetime
    url: str = Field(description="Where the photo itself is read, with the same key or session.")
    may_delete: bool = Field(default=False, description="Whether the caller may delete it (`DELETE` its url).")


class PhotoList(BaseModel):
    photos: list[Photo]
    #: The limits, for a form to show before anything is sent.
    max_bytes: int
    max_per_ticket: int
    types: list[str]


class PhotoStorage(DependencyProvider):
    """The chosen photo store, made once per container with its folder (``photos.path`` or the data dir)."""

    def setup(self):
        choices = choices_of(self.container)
        settings = settings_from_config(self.container.config)
        options = choices.options.photos
        folder = Path(options.path) if options.path else settings.data_dir / settings.district / "photos"
        store_cls: type[PhotoStore] = choices.plugins.photo_store
        self.store = store_cls(options, folder)

    def get_dependency(self, worker_ctx) -> PhotoStore:
        return self.store


def photo_path(ticket_id: str, photo_id: str) -> str:
    return f"/api/v1/tickets/{ticket_id}/photos/{photo_id}"


def _photo(row, may_delete: bool = False) -> dict:
    return Photo(id=row.id, ticket_id=row.ticket_id, content_type=row.content_type, size=row.size,
                 sha256=row.sha256, uploader_role=row.uploader_role, uploaded_at=row.uploaded_at,
                 url=photo_path(row.ticket_id, row.id), may_delete=may_delete).model_dump(mode="json")


def uploader_of(principal: Principal) -> str:
    """Who a photo's row records as its uploader (and so who may delete it)."""
    return principal.person_id or principal.subject


def deletion_refused(service, principal: Principal, ticket, row) -> RedpropError | None:
    """Why the caller may not delete this photo of a ticket they see, or None when they may: a community
    worker of the ticket's community at any time, its uploader while the ticket is open."""
    if community_worker_of(service, principal, ticket.location.community_id):
        return None
    if row.uploaded_by != uploader_of(principal):
        return PermissionDenied("只有上传者或本社区的社区工作者可以删除照片: only the uploader or a community worker "
                                "of the ticket's community may delete this photo", {"field": "photo_id"})
    if ticket.status not in OPEN_STATUSES:
        return Conflict(f"工单已{ticket.status}: the ticket is {ticket.status}; ask its community worker to delete "
                        "the photo", {"field": "photo_id", "status": ticket.status})
    return None


def first_photo_urls(db, district: str, ticket_ids: list[str], base_url: str) -> dict[str, str]:
    """Each ticket's first photo as an absolute URL (Open311's ``media_url``), in one query."""
    if not ticket_ids:
        return {}
    rows = db.execute(select(photos.c.ticket_id, photos.c.id).where(
        photos.c.district == district, photos.c.ticket_id.in_(ticket_ids)).order_by(
        photos.c.uploaded_at, photos.c.id)).all()
    first: dict[str, str] = {}
    for ticket_id, photo_id in rows:
        first.setdefault(ticket_id, base_url + photo_path(ticket_id, photo_id))
    return first


def read_photo(request, max_bytes: int) -> bytes:
    """The photo's bytes: the ``photo`` part of a multipart form, or the whole body."""
    if request.mimetype == "multipart/form-data":
        part = request.files.get(FIELD)
        if part is None:
            raise ValidationFailed.for_field(FIELD, "send the photo as the form part 'photo'（请选择照片）", "missing")
        data = part.stream.read(max_bytes + 1)
    else:
        data = request.get_data(cache=True)
    if not data:
        raise ValidationFailed.for_field(FIELD, "the photo is empty（照片为空）", "missing")
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"照片过大：at most {max_bytes} bytes", {"limit": max_bytes, "field": FIELD})
    return data


class PhotoRoutes:
    """Installed on GatewayService."""

    @route("POST", "/api/v1/tickets/{ticket_id}/photos", "addTicketPhoto",
           "Add a photo to a ticket one may see: a JPEG, PNG or WebP (checked by its bytes) as the multipart "
           "part `photo` or as the raw body; at most `photos.max_bytes` (413) and `photos.max_per_ticket` "
           "(409). EXIF, XMP and text metadata are removed before it is stored.",
           tags=("tickets",), permission="tickets.photos", reply=Photo, status=201, idempotent_key=True,
           upload=images.TYPES, max_body=lambda options: options.photos.max_bytes + MULTIPART_SLACK,
           extra_codes=("413", "415"))
    def add_ticket_photo(self, request, principal, ticket_id):
        options = self.options.photos
        ticket = self._visible_ticket(principal, ticket_id).ticket  # 404 like a missing ticket for anyone else
        request_id = idempotency_key(request)
        if request_id is not None:
            earlier = self.db.execute(select(photos).where(
                photos.c.district == self.district, photos.c.ticket_id == ticket_id,
                photos.c.request_id == request_id)).first()
            if earlier is not None:
                return json_response(_photo(earlier, deletion_refused(self, principal, ticket, earlier) is None), 201)
        data = read_photo(request, options.max_bytes)
        content_type = images.sniff(data)
        if content_type is None:
            raise UnsupportedMediaType("不支持的照片格式: only JPEG, PNG or WebP photos are accepted",
                                       {"field": FIELD, "accepted": list(images.TYPES)})
        try:
            data = images.strip_metadata(data, content_type)
        except images.MalformedImage as exc:
            raise ValidationFailed.for_field(FIELD, f"照片文件已损坏: {exc}", "invalid") from None
        count = self.db.execute(select(func.count()).select_from(photos).where(
            photos.c.district == self.district, photos.c.ticket_id == ticket_id)).scalar_one()
        if count >= options.max_per_ticket:
            raise Conflict(f"每张工单最多 {options.max_per_ticket} 张照片: the ticket has {count}",
                           {"field": FIELD, "limit": options.max_per_ticket})
        photo_id = secrets.token_hex(16)
        self.photo_store.put(photo_id, data, content_type)  # first the bytes: a row never points at nothing
        row = {"id": photo_id, "district": self.district, "ticket_id": ticket_id,
               "uploaded_by": uploader_of(principal), "uploader_role": principal.role,
               "content_type": content_type, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
               "request_id": request_id, "uploaded_at": utcnow()}
        try:
            self.db.execute(insert(photos).values(**row))
            self.db.commit()
        except BaseException:
            self.db.rollback()
            self.photo_store.delete(photo_id)
            raise
        stored = self.db.execute(select(photos).where(photos.c.id == photo_id)).one()
        return json_response(_photo(stored, deletion_refused(self, principal, ticket, stored) is None), 201)

    @route("GET", "/api/v1/tickets/{ticket_id}/photos", "listTicketPhotos",
           "The photos of a ticket one may see, oldest first, and the upload limits.", tags=("tickets",),
           permission="tickets.read", reply=PhotoList)
    def list_ticket_photos(self, request, principal, ticket_id):
        ticket = self._visible_ticket(principal, ticket_id).ticket
        rows = self.db.execute(select(photos).where(
            photos.c.district == self.district, photos.c.ticket_id == ticket_id).order_by(
            photos.c.uploaded_at, photos.c.id)).all()
        options = self.options.photos
        listed = [_photo(r, deletion_refused(self, principal, ticket, r) is None) for r in rows]
        return json_response(PhotoList(photos=listed, max_bytes=options.max_bytes,
                                       max_per_ticket=options.max_per_ticket,
                                       types=list(images.TYPES)).model_dump(mode="json"))

    @route("GET", "/api/v1/tickets/{ticket_id}/photos/{photo_id}", "getTicketPhoto",
           "One photo's bytes, for those who may see the ticket: its own Content-Type, `nosniff`, "
           "`Cache-Control: private`, no script or style may run in it.", tags=("tickets",),
           permission="tickets.read", reply_media=images.TYPES)
    def get_ticket_photo(self, request, principal, ticket_id, photo_id):
        self._visible_ticket(principal, ticket_id)
        row = self.db.execute(select(photos).where(
            photos.c.district == self.district, photos.c.ticket_id == ticket_id, photos.c.id == photo_id)).first()
        try:
            data = self.photo_store.get(photo_id) if row is not None else None
        except PhotoMissing:
            data = None
        if data is None or hashlib.sha256(data).hexdigest() != row.sha256:  # lost or changed in the store
            raise NotFound.entity("photo", photo_id, "photo_id")
        etag = f'"{row.sha256}"'
        headers = {"X-Content-Type-Options": "nosniff",
                   "Cache-Control": f"private, max-age={self.options.photos.cache_seconds}",
                   "Content-Security-Policy": "default-src 'none'; sandbox",
                   "Content-Disposition": f'inline; filename="{photo_id}.{images.EXTENSIONS[row.content_type]}"',
                   "ETag": etag}
        if etag in request.headers.get("If-None-Match", ""):
            return Response(status=304, headers=headers)
        return Response(data, status=200, headers=headers, content_type=row.content_type)

    @route("DELETE", "/api/v1/tickets/{ticket_id}/photos/{photo_id}", "deleteTicketPhoto",
           "Delete a photo: its uploader while the ticket is open, or a community worker of the ticket's "
           "community (registry post `community_worker` there) at any time. The bytes leave the store, then "
           "the row; 404 for a photo or ticket one may not see, 403 for one seen but not one's to delete, "
           "409 for the uploader once the ticket is closed.", tags=("tickets",),
           permission="tickets.photos.delete", status=204, extra_codes=("403",),
           path_params={"photo_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"}})
    def delete_ticket_photo(self, request, principal, ticket_id, photo_id):
        if not KEY.fullmatch(photo_id):
            raise ValidationFailed.for_field("photo_id", "a photo id is 32 lowercase hex characters", "pattern")
        ticket = self._visible_ticket(principal, ticket_id).ticket
        row = self.db.execute(select(photos).where(
            photos.c.district == self.district, photos.c.ticket_id == ticket_id, photos.c.id == photo_id)).first()
        if row is None:
            raise NotFound.entity("photo", photo_id, "photo_id")
        refused = deletion_refused(self, principal, ticket, row)
        if refused is not None:
            raise refused
        # The bytes first (idempotent): if the store fails nothing changed, and if the row's removal then
        # fails a retry finishes it; the other order could leave a resident's photo kept with no row to find it.
        self.photo_store.delete(photo_id)
        self.db.execute(photos.delete().where(photos.c.id == photo_id, photos.c.district == self.district))
        self.db.commit()
        return Response(status=204)


def community_worker_of(service, principal: Principal, community_id: str | None) -> bool:
    """Whether the caller holds the registry post ``community_worker`` of this community today."""
    if community_id is None or principal.role not in WORKERS:
        return False
    posts = principal.posts
    if not posts:  # an API key carries no posts: its person's, from the registry (cached)
        person = service.auth.person(service.registry, principal.person_id or principal.subject)
        posts = person.posts if person is not None else ()
    return any(p.role == "community_worker" and p.scope_id == community_id for p in posts)


def install(service_cls: type) -> None:
    """Add the store, its extension point and these entrypoints to the gateway's class."""
    service_cls.photo_store = PhotoStorage()
    service_cls.extension_points = (*service_cls.extension_points, PHOTO_STORE)
    for name, member in vars(PhotoRoutes).items():
        if callable(member) and not name.startswith("_"):
            setattr(service_cls, name, member)
