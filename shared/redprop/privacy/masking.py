"""Masking personal numbers for people who may not see them, and finding them in free text.

``mask_phone("13900000001")`` is ``139****0001``; ``mask_id_card("110101199001011234")`` is
``1101**********1234``. :func:`mask_contacts` masks every phone- or ID-card-like number in a text (the
log filter uses it); :func:`erase_contacts` removes them altogether (erasure on a resident's request).
"""

from __future__ import annotations

import re

#: A resident ID card (居民身份证): 18 characters (17 digits and a check digit or X), or the old 15 digits.
ID_CARD = re.compile(r"(?<![0-9A-Za-z])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")
#: A mainland mobile number (1[3-9]x xxxx xxxx), optionally with +86 and spaces or dashes between groups.
MOBILE = re.compile(r"(?<![0-9A-Za-z+])(?:\+?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?![0-9A-Za-z])")
#: A fixed line with its area code and a dash (021-12345678, 0571-8765432).
LANDLINE = re.compile(r"(?<![0-9A-Za-z-])0[0-9]{2,3}-[0-9]{7,8}(?![0-9A-Za-z])")
ERASED = "[已删除]"


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit() or ch in "Xx")


def mask_phone(value: str | None) -> str | None:
    """First three and last four digits shown (a leading +86 dropped), the rest as ``*``."""
    if value is None:
        return None
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * max(len(digits) - 2, 1) + digits[-2:]


def mask_id_card(value: str | None) -> str | None:
    """First four characters (the region) and last four shown, the rest as ``*``."""
    if value is None:
        return None
    chars = _digits(value).upper()
    if len(chars) <= 8:
        return "*" * len(chars)
    return chars[:4] + "*" * (len(chars) - 8) + chars[-4:]


def mask_contacts(text: str) -> str:
    """``text`` with each ID-card, mobile and fixed-line number masked."""
    if not text or not any(ch.isdigit() for ch in text):
        return text
    text = ID_CARD.sub(lambda m: mask_id_card(m.group()), text)
    text = MOBILE.sub(lambda m: mask_phone(m.group()), text)
    return LANDLINE.sub(lambda m: mask_phone(m.group()), text)


def erase_contacts(text: str | None) -> str | None:
    """``text`` with each ID-card, mobile and fixed-line number replaced by ``[已删除]``."""
    if not text:
        return text
    for pattern in (ID_CARD, MOBILE, LANDLINE):
        text = pattern.sub(ERASED, text)
    return text
