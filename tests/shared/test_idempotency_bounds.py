"""The idempotency key's bounds are those of the column it is stored in (messaging/tables.py).

A key the contract accepts but the column cannot hold would pass validation and then fail the
command's commit (PostgreSQL: value too long) as an internal error; one the column could hold but the
contract refuses is merely strict. So the contract's maximum must be the column's length, exactly.
"""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import TypeAdapter, ValidationError

from redprop.contracts import all_contracts
from redprop.messaging.tables import IdempotencyRecord

REQUEST_ID_COLUMN = IdempotencyRecord.__table__.c.request_id.type.length
OPERATION_COLUMN = IdempotencyRecord.__table__.c.operation.type.length

COMMANDS = [(f"{contract.service}.{op.name}", op.request)
            for contract in all_contracts().values()
            for op in contract.operations.values() if op.kind == "command"]


def test_there_are_commands_to_check():
    assert len(COMMANDS) > 10


@pytest.mark.parametrize(("name", "model"), COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_command_accepts_exactly_the_request_ids_its_column_holds(name, model):
    field = model.model_fields["request_id"]
    request_id = TypeAdapter(Annotated[field.annotation, *field.metadata])
    assert request_id.validate_python("k" * REQUEST_ID_COLUMN) == "k" * REQUEST_ID_COLUMN
    for bad in ("k" * (REQUEST_ID_COLUMN + 1), "", "k" * 7, "楼" * 8, "with space"):
        with pytest.raises(ValidationError):
            request_id.validate_python(bad)
    assert len(name) <= OPERATION_COLUMN  # the stored reply's key is the qualified operation name
