"""A photo's type is read from its bytes, and its metadata (a phone's GPS position) removed, structure kept."""

from __future__ import annotations

import pytest

from redprop.services.gateway import images
from tests.gateway.photo_files import GPS, jpeg, png, webp


@pytest.mark.parametrize(("data", "kind"), [(png(), images.PNG), (jpeg(), images.JPEG), (webp(), images.WEBP)])
def test_each_type_is_known_by_its_magic_bytes_and_loses_its_metadata(data, kind):
    assert images.sniff(data) == kind
    stripped = images.strip_metadata(data, kind)
    assert GPS in data and GPS not in stripped
    assert images.sniff(stripped) == kind
    assert images.strip_metadata(stripped, kind) == stripped  # nothing more to remove


def test_what_is_kept_is_the_image_itself():
    assert images.strip_metadata(png(), images.PNG) == png(exif=False)
    assert images.strip_metadata(jpeg(), images.JPEG) == jpeg(exif=False)
    stripped = images.strip_metadata(webp(), images.WEBP)
    assert stripped == webp(exif=False)  # the EXIF chunk gone, VP8X's EXIF flag cleared, RIFF size right


@pytest.mark.parametrize("data", [b"GIF89a" + b"\x00" * 20, b"%PDF-1.7", b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                                  b"", b"RIFF\x10\x00\x00\x00WAVEfmt ", b"\xff\xd8"])
def test_other_files_are_not_photos_whatever_they_claim(data):
    assert images.sniff(data) is None


@pytest.mark.parametrize(("data", "kind"), [
    (png()[:40], images.PNG),                       # cut short: no IEND
    (b"\x89PNG\r\n\x1a\n" + b"\xff" * 30, images.PNG),  # a chunk longer than the file
    (jpeg()[:30], images.JPEG),                     # cut before the scan
    (b"\xff\xd8\xff\xe0\x00\x01", images.JPEG),     # a segment length below 2
    (b"\xff\xd8\xff\xd9", images.JPEG),             # no image data
    (webp()[:20], images.WEBP),                     # RIFF size beyond the file
])
def test_a_broken_file_is_refused_not_half_read(data, kind):
    with pytest.raises(images.MalformedImage):
        images.strip_metadata(data, kind)
