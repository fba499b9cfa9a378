"""``redprop gateway key ROLE SUBJECT`` (a new API key and its configuration entry) and
``redprop gateway openapi [--out FILE]`` (the OpenAPI document)."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

from redprop.services.gateway.auth import hash_key
from redprop.services.gateway.options import ROLES


def cmd_key(args, settings) -> int:
    key = secrets.token_urlsafe(32)
    entry = {"name": args.name or f"{args.role}-{args.subject}", "role": args.role, "subject": args.subject,
             "district": args.district or settings.district, "sha256": hash_key(key)}
    print(f"key (give it to the holder; it is not stored): {key}", file=sys.stderr)
    print("add to services.gateway.options.api_keys:", file=sys.stderr)
    print(json.dumps(entry, ensure_ascii=False))
    return 0


def cmd_openapi(args, settings) -> int:
    from redprop.services.gateway.openapi import render_json
    from redprop.services.gateway.service import GatewayService

    text = render_json(GatewayService)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def register(sub) -> None:
    parser = sub.add_parser("gateway", help="gateway tools: API keys, the OpenAPI document")
    commands = parser.add_subparsers(dest="gateway_command", required=True)
    p = commands.add_parser("key", help="make an API key and its configuration entry")
    p.add_argument("role", choices=ROLES)
    p.add_argument("subject", help="whom the key acts as: a person, worker, company or department id")
    p.add_argument("--name")
    p.add_argument("--district", help="default: the configured district")
    p.set_defaults(func=cmd_key)
    p = commands.add_parser("openapi", help="print the OpenAPI document")
    p.add_argument("--out")
    p.set_defaults(func=cmd_openapi)
