"""Authenticated encryption of single fields (AES-256-GCM), and keyed hashes for equality lookups.

A stored value reads ``enc:v1:<key id>:<base64 of nonce + ciphertext + tag>``. The table, the row's
key and the field are the associated data: a ciphertext copied to another row or field does not
decrypt there, and neither does one altered or read with a wrong key (:class:`DecryptionFailed`).

A lookup hash (``<key id>:<hex>``) is an HMAC-SHA256 of the normalised value with a key derived from
the ring's key (HKDF), so a person can be found by phone without storing the phone in the clear; a
lookup tries the hashes under every key of the ring, so it works while a rotation is under way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from redprop.privacy.keys import KeyRing

PREFIX = "enc:v1:"
NONCE_BYTES = 12
HASH_HEX = 40  # 160 bits: plenty against collisions among a district's people


class DecryptionFailed(Exception):
    """A stored value that this key ring cannot decrypt (wrong key, tampered, or moved to another row)."""


def is_encrypted(value: str | None) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def key_id_of(token: str) -> str:
    return token[len(PREFIX):].split(":", 1)[0]


def _aad(table: str, row: str, field: str) -> bytes:
    return "\x1f".join(("redprop", table, row, field)).encode()


@cache
def _lookup_key(key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"redprop lookup v1").derive(key)


def normalise(value: str) -> str:
    """Spaces and dashes do not make another phone number; an ID card's check letter is upper case."""
    return "".join(value.split()).replace("-", "").upper()


class FieldCipher:
    def __init__(self, ring: KeyRing):
        self.ring = ring

    def encrypt(self, value: str | None, *, table: str, row: str, field: str) -> str | None:
        if value is None:
            return None
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.ring.current_key).encrypt(nonce, value.encode(), _aad(table, row, field))
        return f"{PREFIX}{self.ring.current}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str | None, *, table: str, row: str, field: str) -> str | None:
        if token is None:
            return None
        if not is_encrypted(token):
            raise DecryptionFailed(f"{table}.{field} of {row!r} is not an encrypted value")
        key_id, _, body = token[len(PREFIX):].partition(":")
        try:
            key = self.ring.key(key_id)
        except KeyError:
            raise DecryptionFailed(f"{table}.{field} of {row!r} was encrypted with key {key_id!r}, "
                                   "which is not in the key ring") from None
        try:
            raw = base64.b64decode(body, validate=True)
            plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(table, row, field))
        except (InvalidTag, ValueError):
            raise DecryptionFailed(f"{table}.{field} of {row!r} does not decrypt with key {key_id!r}") from None
        return plain.decode()

    def needs_rotation(self, token: str | None) -> bool:
        return token is not None and (not is_encrypted(token) or key_id_of(token) != self.ring.current)

    # -- equality lookups ------------------------------------------------------------------------

    def lookup_hash(self, value: str | None, *, field: str, key_id: str | None = None) -> str | None:
        if value is None:
            return None
        key_id = key_id or self.ring.current
        digest = hmac.new(_lookup_key(self.ring.key(key_id)), f"{field}\x1f{normalise(value)}".encode(),
                          hashlib.sha256).hexdigest()
        return f"{key_id}:{digest[:HASH_HEX]}"

    def lookup_hashes(self, value: str, *, field: str) -> list[str]:
        """The value's hash under every key of the ring: what a stored row may carry."""
        return [self.lookup_hash(value, field=field, key_id=k) for k in self.ring.keys]
