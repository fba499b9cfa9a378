"""Extension point ``gateway.photo_store``: where the bytes of ticket photos are kept.

The gateway keeps each photo's metadata (ticket, uploader, type, size, SHA-256) in its own database and
hands the bytes to the chosen store under a random key (32 hex characters, never a name a client chose).
The default, ``filesystem``, writes one file per photo under ``photos.path`` (default
``<data_dir>/<district>/photos``): a volume in the chart. A production district can register another
store, e.g. an S3-compatible bucket, in the entry point group ``redprop.gateway.photo_stores``:

    class BucketStore(PhotoStore):
        def __init__(self, options: PhotoOptions, folder: Path): ...   # read its own settings
        def put(self, key, data, content_type): ...   # PUT /<bucket>/<prefix><key>, Content-Type given
        def get(self, key): ...                       # the bytes, or raise PhotoMissing
        def delete(self, key): ...                    # idempotent

The gateway checks each photo's SHA-256 against its database when it reads it back, so a store need not
be trusted for integrity, only for keeping the bytes.
"""

from __future__ import annotations

import os
import re
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

from redprop.plugins import ExtensionPoint
from redprop.services.gateway.options import PhotoOptions

KEY = re.compile(r"^[0-9a-f]{32}$")


class PhotoMissing(LookupError):
    """The store has nothing under this key."""


class PhotoStore(ABC):
    def __init__(self, options: PhotoOptions, folder: Path):
        self.options = options
        self.folder = folder

    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    @abstractmethod
    def get(self, key: str) -> bytes: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...


class FilesystemStore(PhotoStore):
    """One file per photo, ``<folder>/<first two hex>/<key>``, written to a temporary name and renamed into
    place, so a reader never sees half a photo."""

    def _path(self, key: str) -> Path:
        if not KEY.fullmatch(key):  # keys are the gateway's own; refuse anything that could leave the folder
            raise PhotoMissing(key)
        return self.folder / key[:2] / key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise PhotoMissing(key) from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


PHOTO_STORE = ExtensionPoint(key="gateway.photo_store", group="redprop.gateway.photo_stores", interface=PhotoStore,
                             default="filesystem", summary="Where the bytes of ticket photos are kept.",
                             instantiate=False)
