"""The key ring: every key that may have encrypted a stored value, and the one new values use.

Where it comes from (the first that is set): ``privacy.keys`` + ``privacy.current_key`` in the settings,
``privacy.key_file`` (the chart mounts the ``privacy`` Secret there), or, on a laptop with neither,
``<data_dir>/privacy-keys.yaml``, generated with mode 0600 on first use. Rotation adds a key, makes it
current and re-encrypts every stored value (``redprop registry keys rotate``); old keys are removed
only after that.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from redprop.errors import ConfigError
from redprop.privacy.files import create_private_once, write_private
from redprop.privacy.settings import KEY_BYTES, check_key_id, decode_key

DEFAULT_KEY_FILE = "privacy-keys.yaml"


@dataclass(frozen=True)
class KeyRing:
    keys: Mapping[str, bytes]
    current: str

    def __post_init__(self):
        if self.current not in self.keys:
            raise ConfigError(f"setting 'privacy.current_key': {self.current!r} is not in the key ring")

    def key(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise KeyError(f"no key {key_id!r} in the key ring") from None

    @property
    def current_key(self) -> bytes:
        return self.keys[self.current]

    def with_new_key(self, key_id: str | None = None) -> KeyRing:
        """This ring plus a freshly generated key, made current (the old ones still decrypt)."""
        key_id = check_key_id(key_id or new_key_id())
        if key_id in self.keys:
            raise ValueError(f"key id {key_id!r} is already in the key ring")
        return KeyRing({**self.keys, key_id: os.urandom(KEY_BYTES)}, key_id)

    def to_yaml(self) -> str:
        """The ring as a key file (also the shape of the chart's Secret): keep it secret."""
        return yaml.safe_dump({"current_key": self.current,
                               "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()}})


def new_key_id() -> str:
    """``k20261202-3fa9c1``: the day it was made, and random enough that two rings never share one."""
    return "k" + datetime.now(UTC).strftime("%Y%m%d") + "-" + os.urandom(3).hex()


def generate() -> KeyRing:
    """A new ring of one fresh key."""
    key_id = new_key_id()
    return KeyRing({key_id: os.urandom(KEY_BYTES)}, key_id)


def read_key_file(path: Path, current: str | None = None) -> KeyRing:
    """The ring in a key file; ``current`` (``privacy.current_key``) overrides the file's own."""
    setting = "privacy.key_file"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"setting '{setting}': {str(path)!r} does not exist") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"setting '{setting}': cannot read {str(path)!r} ({type(exc).__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), dict) or not data["keys"]:
        raise ConfigError(f"setting '{setting}': {str(path)!r} must hold 'current_key' and a mapping 'keys'")
    try:
        keys = {check_key_id(str(k)): decode_key(str(k), str(v)) for k, v in data["keys"].items()}
    except ValueError as exc:
        raise ConfigError(f"setting '{setting}': {exc}") from None
    chosen = current or data.get("current_key")
    if chosen not in keys:
        raise ConfigError(f"setting 'privacy.current_key': {chosen!r} is not a key in {str(path)!r}")
    return KeyRing(keys, chosen)


def default_key_file(settings) -> Path:
    return Path(settings.data_dir) / DEFAULT_KEY_FILE


def key_file_of(settings) -> Path | None:
    """The file the ring lives in, if it lives in one (None when the settings hold the keys)."""
    privacy = settings.privacy
    if privacy.keys:
        return None
    return privacy.key_file or default_key_file(settings)


def key_ring(settings) -> KeyRing:
    """The suite's key ring from the settings (generating the laptop's local key file if need be)."""
    privacy = settings.privacy
    if privacy.keys:
        return KeyRing({k: decode_key(k, v.get_secret_value()) for k, v in privacy.keys.items()},
                       privacy.current_key)
    if privacy.key_file is not None:
        return read_key_file(privacy.key_file, privacy.current_key)
    path = default_key_file(settings)
    if not path.exists():
        create_private_once(path, generate().to_yaml())
    return read_key_file(path, privacy.current_key)


def save_key_file(path: Path, ring: KeyRing) -> None:
    write_private(path, ring.to_yaml())
