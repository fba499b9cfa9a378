"""JSON Schema export of the contracts (``redprop schema``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from redprop.contracts import all_contracts
from redprop.contracts.base import ServiceContract
from redprop.errors import ERROR_TYPES


def with_contract_major(schema: dict[str, Any], major: int) -> dict[str, Any]:
    """A reply's or an event's schema, its ``schema_version`` defaulting to the contract's major version
    (what the service sets as it sends them); a request's (default null) is left as it is."""
    version = schema.get("properties", {}).get("schema_version")
    if version is not None and version.get("default") is not None:
        version["default"] = major
    return schema


def contract_schemas(contract: ServiceContract) -> dict[str, Any]:
    """JSON Schemas of one service's requests, replies and events, keyed by message name."""
    schemas: dict[str, Any] = {}
    for op in contract.operations.values():
        schemas[f"{contract.service}.{op.name}.request"] = op.request.model_json_schema()
        schemas[f"{contract.service}.{op.name}.reply"] = with_contract_major(
            op.reply.model_json_schema(mode="serialization"), contract.major)
    for event_type, event in contract.events.items():
        schemas[event_type] = with_contract_major(event.model_json_schema(mode="serialization"), contract.major)
    return schemas


def error_schema() -> dict[str, Any]:
    return {
        "title": "RpcError",
        "type": "object",
        "required": ["code", "message", "details", "exc_type", "exc_path", "exc_args"],
        "properties": {
            "code": {"enum": sorted({e.code for e in ERROR_TYPES} | {"bad_request"})},
            "message": {"type": "string"},
            "details": {"type": "object"},
            "exc_type": {"type": "string"},
            "exc_path": {"type": "string"},
            "exc_args": {"type": "array"},
            "value": {"type": "string"},
        },
    }


def write_schemas(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for contract in all_contracts().values():
        for name, schema in contract_schemas(contract).items():
            path = out_dir / f"{name}.schema.json"
            path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            written.append(path)
    path = out_dir / "error.schema.json"
    path.write_text(json.dumps(error_schema(), indent=2) + "\n", encoding="utf-8")
    written.append(path)
    return written
