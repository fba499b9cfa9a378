"""Files only their owner may read or write (0600): SQLite databases, the local key file."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_MODE = 0o600


def private_file(path: str | Path) -> Path:
    """Create ``path`` (and its folder) if missing, and make it 0600 either way.

    SQLite creates its ``-wal`` and ``-shm`` files with the database file's mode, so a database made
    here keeps all three private.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_MODE)  # O_CREAT: an existing file is kept as is
    os.close(fd)
    os.chmod(path, PRIVATE_MODE)  # an older file may have been made 0644
    return path


def write_private(path: str | Path, text: str) -> Path:
    """Write ``text`` to a 0600 file, replacing it atomically (never world-readable, even for a moment)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, PRIVATE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, PRIVATE_MODE)
    os.replace(tmp, path)
    return path


def create_private_once(path: str | Path, text: str) -> bool:
    """Create ``path`` (0600) holding ``text`` unless it exists; False if another process was first.

    The file appears whole or not at all (written aside, then hard-linked into place), so two services
    starting together never each make a key file, one overwriting the other's key.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, PRIVATE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
