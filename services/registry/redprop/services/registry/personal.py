"""A person's personal data at rest: ``phone`` and ``id_card`` encrypted (bound to the row and field) with a
keyed hash each for lookups; the rest of the record as it is.

:func:`seal` turns a person record's values into a row, :func:`unseal` a row back into record values.
"""

from __future__ import annotations

from redprop.privacy.cipher import FieldCipher
from redprop.privacy.masking import mask_id_card, mask_phone

TABLE = "people"
#: The personal fields of a person record, and how each is masked.
PERSONAL_FIELDS = {"phone": mask_phone, "id_card": mask_id_card}
#: Row columns that are not record fields.
ROW_ONLY = ("phone_hash", "id_card_hash", "erased_at", "updated_at")
ERASED_NAME = "已删除"


def row_key(district: str, person_id: str) -> str:
    return f"{district}/{person_id}"


def seal(values: dict, cipher: FieldCipher, district: str) -> dict:
    """A person record's values as a row: each personal field encrypted, with its lookup hash."""
    row = dict(values)
    key = row_key(district, values["id"])
    for field in PERSONAL_FIELDS:
        plain = values.get(field)
        row[field] = cipher.encrypt(plain, table=TABLE, row=key, field=field)
        row[f"{field}_hash"] = cipher.lookup_hash(plain, field=field)
    return row


def unseal(row: dict, cipher: FieldCipher) -> dict:
    """A stored row as a person record's values, personal fields decrypted."""
    values = {k: v for k, v in row.items() if k not in ROW_ONLY}
    key = row_key(row["district"], row["id"])
    for field in PERSONAL_FIELDS:
        values[field] = cipher.decrypt(row.get(field), table=TABLE, row=key, field=field)
    return values


def masked(values: dict) -> dict:
    return {**values, **{f: mask(values.get(f)) for f, mask in PERSONAL_FIELDS.items()}}


def is_masked(value: str | None) -> bool:
    return value is not None and "*" in value


def present_fields(values: dict) -> list[str]:
    return [f for f in PERSONAL_FIELDS if values.get(f) is not None]
