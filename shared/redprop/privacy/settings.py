"""The ``privacy.*`` settings: which keys encrypt personal data at rest.

Either ``keys`` (key id -> base64 of a 32-byte AES-256 key) with ``current_key``, or ``key_file``: a
YAML file of the same two fields, as a Kubernetes Secret mounts it (the chart's ``privacy`` Secret). With
neither, a laptop's embedded defaults generate ``<data_dir>/privacy-keys.yaml`` (mode 0600) on first use.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

#: A key id is written into every ciphertext and lookup hash, so it is short and has no separator.
KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,16}$")
KEY_BYTES = 32


def decode_key(key_id: str, value: str) -> bytes:
    """The raw key from its base64 text; a ValueError names the key id (never the key)."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"key {key_id!r} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"key {key_id!r} must be {KEY_BYTES} bytes (AES-256), not {len(raw)}")
    return raw


def check_key_id(key_id: str) -> str:
    if not KEY_ID.match(key_id):
        raise ValueError(f"key id {key_id!r} must be 1-16 letters, digits, '.', '_' or '-'")
    return key_id


class PrivacySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Key id -> base64 of a 32-byte key. Kept secret: printed as ``**********``.
    keys: dict[str, SecretStr] = Field(default_factory=dict)
    #: The key new values are encrypted with; the others only decrypt (until ``keys rotate``).
    current_key: str | None = None
    #: A YAML file holding ``current_key`` and ``keys`` (a mounted Kubernetes Secret).
    key_file: Path | None = None

    @field_validator("keys")
    @classmethod
    def _valid_keys(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for key_id, secret in value.items():
            check_key_id(key_id)
            decode_key(key_id, secret.get_secret_value())
        return value

    @model_validator(mode="after")
    def _one_source(self):
        if self.keys and self.key_file is not None:
            raise ValueError("give either privacy.keys or privacy.key_file, not both")
        if self.keys:
            if self.current_key is None:
                raise ValueError("privacy.current_key is required with privacy.keys")
            if self.current_key not in self.keys:
                raise ValueError(f"privacy.current_key {self.current_key!r} is not one of privacy.keys")
        elif self.current_key is not None and self.key_file is None:
            raise ValueError("privacy.current_key names a key, but privacy.keys is empty")
        return self
