"""Small photos made with the standard library, each carrying the metadata a phone writes (a GPS position)."""

from __future__ import annotations

import struct
import zlib

GPS = b"GPSLatitude=31.2304N;GPSLongitude=121.4737E"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (30, 120, 200), exif: bool = True) -> bytes:
    """A real, decodable PNG of one colour; with ``exif`` an eXIf and a tEXt chunk holding ``GPS``."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    chunks = [_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))]
    if exif:
        chunks += [_chunk(b"eXIf", b"MM\x00*" + GPS), _chunk(b"tEXt", b"Comment\x00" + GPS)]
    chunks += [_chunk(b"IDAT", zlib.compress(raw)), _chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def jpeg(exif: bool = True) -> bytes:
    """A JPEG's segment structure (SOI, APP0 JFIF, APP1 Exif, DQT, SOS and scan data, EOI)."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    app1 = b"\xff\xe1" + struct.pack(">H", 2 + 6 + len(GPS)) + b"Exif\x00\x00" + GPS
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + bytes(range(1, 65))
    sos = b"\xff\xda" + struct.pack(">H", 8) + b"\x01\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + app0 + (app1 if exif else b"") + dqt + sos + b"\x12\x34\x56\x78" * 64 + b"\xff\xd9"


def webp(exif: bool = True) -> bytes:
    """A WebP's RIFF structure: VP8X announcing EXIF, a VP8L image chunk, an EXIF chunk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")

    flags = 0x08 if exif else 0
    body = chunk(b"VP8X", bytes([flags, 0, 0, 0]) + b"\x07\x00\x00\x07\x00\x00")
    body += chunk(b"VP8L", b"\x2f\x07\xc0\x01\x00" + b"\x55" * 11)
    if exif:
        body += chunk(b"EXIF", b"MM\x00*" + GPS)
    payload = b"WEBP" + body
    return b"RIFF" + struct.pack("<I", len(payload)) + payload
