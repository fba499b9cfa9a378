"""The ``s3`` photo store: ticket photos in one bucket of an S3-compatible server (MinIO, Ceph, OSS, COS, AWS).

Chosen with ``plugins: {gateway.photo_store: s3}`` and configured under ``services.gateway.options.photos.s3``
(``options.S3Options``); installed with the extra ``redprop-gateway[s3]`` (botocore). Each photo is the object
``<prefix><key>`` with the photo's Content-Type. The access key is read from the environment or from files,
never from the settings, and never written to a log or an error.

What goes wrong is said in terms of the setting to fix: a missing bucket names ``photos.s3.bucket``, refused
credentials name where they were read from, an unreachable server names ``photos.s3.endpoint_url``. Each is
``Unavailable`` (HTTP 503), raised before the gateway writes the photo's row, so a failed upload leaves nothing.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from redprop.errors import ConfigError, Unavailable
from redprop.services.gateway.options import PhotoOptions, S3Options
from redprop.services.gateway.photo_store import KEY, PhotoMissing, PhotoStore

try:
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
except ImportError as exc:  # an entry point that fails to load is a start-up error naming the plugin
    raise ImportError("the s3 photo store needs botocore: install 'redprop-gateway[s3]'") from exc

log = logging.getLogger(__name__)
SETTING = "services.gateway.options.photos.s3"
#: Error codes by which a server says the credentials are wrong (AWS, MinIO, Ceph and OSS agree on these).
REFUSED = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken",
                     "ExpiredToken", "AuthorizationHeaderMalformed", "403", "Forbidden"})


def _secret(name: str, env: str, file: str | None) -> str:
    """One half of the access key, from its file if one is set, else from its environment variable."""
    if file is not None:
        try:
            value = Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"setting '{SETTING}.{name}_file': cannot read {file!r} ({exc.strerror})") from None
        if not value:
            raise ConfigError(f"setting '{SETTING}.{name}_file': {file!r} is empty")
        return value
    value = os.environ.get(env, "").strip()
    if not value:
        raise ConfigError(f"setting '{SETTING}.{name}_env': the environment variable {env} is not set "
                          f"(or set '{SETTING}.{name}_file')")
    return value


class S3Store(PhotoStore):
    """``PUT``, ``GET`` and ``DELETE`` of ``<bucket>/<prefix><key>`` through botocore."""

    def __init__(self, options: PhotoOptions, folder: Path):
        super().__init__(options, folder)
        if options.s3 is None:
            raise ConfigError(f"setting '{SETTING}': the s3 photo store needs its bucket and server "
                              "(plugins.gateway.photo_store is s3)")
        self.s3: S3Options = options.s3
        access_key = _secret("access_key_id", self.s3.access_key_id_env, self.s3.access_key_id_file)
        secret_key = _secret("secret_access_key", self.s3.secret_access_key_env, self.s3.secret_access_key_file)
        config = Config(region_name=self.s3.region, connect_timeout=self.s3.connect_timeout,
                        read_timeout=self.s3.read_timeout,
                        retries={"mode": "standard", "max_attempts": self.s3.max_attempts},
                        s3={"addressing_style": self.s3.addressing_style},
                        # Checksums only where S3 requires them: several S3-compatible servers refuse the
                        # CRC32 trailers botocore sends by default since 1.36.
                        request_checksum_calculation="when_required",
                        response_checksum_validation="when_required")
        session = botocore.session.Session()
        self.client = session.create_client(
            "s3", endpoint_url=self.s3.endpoint_url, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key, verify=self.s3.ca_bundle if self.s3.ca_bundle else True,
            config=config)
        log.info("photo store: s3 bucket %s at %s (prefix %r)", self.s3.bucket,
                 self.s3.endpoint_url or f"AWS {self.s3.region}", self.s3.prefix)

    def __repr__(self) -> str:  # never the client, which holds the credentials
        return f"S3Store(bucket={self.s3.bucket!r}, endpoint_url={self.s3.endpoint_url!r})"

    def _object(self, key: str) -> str:
        if not KEY.fullmatch(key):  # keys are the gateway's own
            raise PhotoMissing(key)
        return self.s3.prefix + key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        name = self._object(key)
        with self._errors("put"):
            self.client.put_object(Bucket=self.s3.bucket, Key=name, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        name = self._object(key)
        try:
            with self._errors("get"):
                reply = self.client.get_object(Bucket=self.s3.bucket, Key=name)
                return reply["Body"].read()
        except _Missing:
            raise PhotoMissing(key) from None

    def delete(self, key: str) -> None:
        try:
            name = self._object(key)
        except PhotoMissing:
            return  # nothing the gateway could have stored under it
        with self._errors("delete"):  # S3's DELETE answers 204 for an absent key too: idempotent
            self.client.delete_object(Bucket=self.s3.bucket, Key=name)

    def _errors(self, action: str) -> _Translate:
        return _Translate(self.s3, action)


class _Missing(Exception):
    """The server has no such key (raised inside ``get``, turned into PhotoMissing)."""


class _Translate:
    """Turn botocore's errors into ``Unavailable`` naming the setting to look at (or ``_Missing``)."""

    def __init__(self, s3: S3Options, action: str):
        self.s3, self.action = s3, action

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or not isinstance(exc, (ClientError, BotoCoreError)):
            return False
        where = self.s3.endpoint_url or f"AWS {self.s3.region}"
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("NoSuchKey", "404") and self.action == "get":
                raise _Missing() from None
            if code == "NoSuchBucket":
                raise self._unavailable(f"the bucket {self.s3.bucket!r} does not exist at {where}", "bucket",
                                        code) from None
            if code in REFUSED or status == 403:
                raise self._unavailable(
                    f"the S3 server at {where} refused the access key ({code}): check the key in "
                    f"{self._key_source()} and its rights on the bucket {self.s3.bucket!r}",
                    "access_key_id", code) from None
            raise self._unavailable(f"the S3 server at {where} answered {status} {code}", "endpoint_url",
                                    code) from None
        if isinstance(exc, EndpointConnectionError):
            raise self._unavailable(f"cannot reach the S3 server at {where}", "endpoint_url",
                                    type(exc).__name__) from None
        raise self._unavailable(f"the S3 server at {where} failed: {type(exc).__name__}", "endpoint_url",
                                type(exc).__name__) from None

    def _key_source(self) -> str:
        if self.s3.access_key_id_file or self.s3.secret_access_key_file:
            return f"{SETTING}.access_key_id_file / secret_access_key_file"
        return f"the environment ({self.s3.access_key_id_env}, {self.s3.secret_access_key_env})"

    def _unavailable(self, why: str, setting: str, code: str) -> Unavailable:
        message = f"照片存储不可用 photo store unavailable: {why} (setting '{SETTING}.{setting}')"
        log.error("photo store: %s failed: %s", self.action, message)
        return Unavailable(message, {"setting": f"{SETTING}.{setting}", "store": "s3", "code": code})
