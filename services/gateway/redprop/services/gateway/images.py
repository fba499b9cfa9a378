"""What a photo is, by its first bytes (never by the client's Content-Type), and the same photo without the
metadata a phone writes into it: EXIF (often the GPS position of the resident's home and the time), XMP,
IPTC and text chunks. Standard library only: the image data itself is copied byte for byte, never decoded.

A file whose structure does not hold together is refused (``MalformedImage``) rather than stored half-read.
"""

from __future__ import annotations

import struct

JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"
TYPES = (JPEG, PNG, WEBP)
EXTENSIONS = {JPEG: "jpg", PNG: "png", WEBP: "webp"}

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: JPEG segments dropped: APP1 (Exif, XMP), APP12 (Ducky / picture info), APP13 (Photoshop IPTC), COM.
JPEG_DROP = {0xE1, 0xEC, 0xED, 0xFE}
#: PNG chunks dropped: EXIF, text (which may hold XMP) and the time of the last change.
PNG_DROP = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}
#: WebP chunks dropped, and the VP8X flags that announce them (EXIF 0x08, XMP 0x04).
WEBP_DROP = {b"EXIF", b"XMP "}
WEBP_META_FLAGS = 0x08 | 0x04


class MalformedImage(ValueError):
    """The bytes start like an image of a type but do not hold together as one."""


def sniff(data: bytes) -> str | None:
    """The type by magic bytes: JPEG ``FF D8 FF``, PNG's 8-byte signature, WebP ``RIFF....WEBP``."""
    if data[:3] == b"\xff\xd8\xff":
        return JPEG
    if data[:8] == PNG_SIGNATURE:
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def strip_metadata(data: bytes, content_type: str) -> bytes:
    return {JPEG: _jpeg, PNG: _png, WEBP: _webp}[content_type](data)


def _jpeg(data: bytes) -> bytes:
    out, pos = [data[:2]], 2
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise MalformedImage("a JPEG segment is cut short or does not start with FF")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0xD9:  # end of image before any scan
            raise MalformedImage("a JPEG without image data")
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # stand-alone markers carry no length
            out.append(data[pos:pos + 2])
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise MalformedImage("a JPEG segment is longer than the file")
        if marker == 0xDA:  # start of scan: the compressed image follows to the end, copied as it is
            out.append(data[pos:])
            return b"".join(out)
        if marker not in JPEG_DROP:
            out.append(data[pos:end])
        pos = end


def _png(data: bytes) -> bytes:
    out, pos = [PNG_SIGNATURE], len(PNG_SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise MalformedImage("a PNG chunk is cut short (no IEND)")
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise MalformedImage("a PNG chunk is longer than the file")
        if kind not in PNG_DROP:
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            return b"".join(out)


def _webp(data: bytes) -> bytes:
    (declared,) = struct.unpack("<I", data[4:8])
    if declared + 8 > len(data) or declared < 4:
        raise MalformedImage("the WebP (RIFF) size is larger than the file")
    body, pos, chunks = data[:8 + declared], 12, []
    while pos < len(body):
        if pos + 8 > len(body):
            raise MalformedImage("a WebP chunk is cut short")
        kind = body[pos:pos + 4]
        (length,) = struct.unpack("<I", body[pos + 4:pos + 8])
        end = pos + 8 + length + (length & 1)  # chunks are padded to an even size
        if pos + 8 + length > len(body):
            raise MalformedImage("a WebP chunk is longer than the file")
        chunk = body[pos:min(end, len(body))]
        if kind == b"VP8X" and length >= 1:
            chunk = chunk[:8] + bytes([chunk[8] & ~WEBP_META_FLAGS & 0xFF]) + chunk[9:]
        if kind not in WEBP_DROP:
            chunks.append(chunk)
        pos = end
    if not chunks:
        raise MalformedImage("a WebP without image data")
    payload = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(payload)) + payload
