"""``redprop gateway accounts add|list|disable|enable`` (people's logins), ``redprop gateway keys
add|rotate|revoke|list`` (API keys in the gateway's database), ``redprop gateway key ROLE SUBJECT`` (a key
and its entry for ``options.api_keys``, the configured seed) and ``redprop gateway openapi [--out FILE]``.

Accounts and keys are written to the gateway's database (``redprop migrate gateway`` first); a running
gateway sees them at once (a revoked key within ``auth_cache_ttl`` seconds), with no restart.
"""

from __future__ import annotations

import getpass
import json
import secrets
import sys
from contextlib import contextmanager
from pathlib import Path

from redprop.errors import RedpropError
from redprop.services.gateway.keys import hash_key
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


# -- the gateway's database ------------------------------------------------------------------------------


@contextmanager
def database(settings):
    """A session on the gateway's database (migrated: ``redprop migrate gateway``), committed at the end."""
    from sqlalchemy.orm import Session

    from redprop.db.engine import build_engine
    from redprop.db.migrate import check_current
    from redprop.services.gateway.service import GatewayService

    check_current(GatewayService, settings)
    engine = build_engine(settings.database_url("gateway"))
    try:
        with Session(engine) as session, session.begin():
            yield session
    finally:
        engine.dispose()


def registry_person(settings, person_id: str, timeout: float) -> str:
    """The registry's name for the person (the registry must be running): accounts and keys are for people."""
    from redprop.messaging.client import RpcClient

    with RpcClient(settings, timeout=timeout) as rpc:
        return rpc.registry.get(kind="person", id=person_id).record.name


def _checked_person(args, settings) -> None:
    if args.person and not args.no_registry_check:
        name = registry_person(settings, args.person, args.timeout)
        print(f"person {args.person}: {name}", file=sys.stderr)


def _password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("the passwords differ")
    return first


def _report(func):
    def run(args, settings) -> int:
        try:
            return func(args, settings)
        except RedpropError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
    return run


@_report
def cmd_accounts_add(args, settings) -> int:
    from redprop.services.gateway import accounts

    args.person = args.person_id
    _checked_person(args, settings)
    password = _password(args)
    with database(settings) as db:
        account = accounts.add(db, settings.district, args.username, args.person_id, password)
    print(f"account {account.username} for person {account.person_id}")
    return 0


@_report
def cmd_accounts_list(args, settings) -> int:
    from redprop.services.gateway import accounts

    with database(settings) as db:
        for account in accounts.listing(db, settings.district):
            print(f"{account.username}\t{account.person_id}\t{'disabled' if account.disabled else 'enabled'}")
    return 0


@_report
def cmd_accounts_disable(args, settings) -> int:
    from redprop.services.gateway import accounts, sessions

    with database(settings) as db:
        accounts.set_disabled(db, settings.district, args.username, not args.enable)
        if not args.enable:
            sessions.end_all(db, settings.district, accounts.normalise(args.username))
    print(f"account {args.username} {'enabled' if args.enable else 'disabled (its sessions ended)'}")
    return 0


def _print_key(key: str, stored) -> None:
    print(f"key (give it to the holder; it is not stored): {key}", file=sys.stderr)
    until = stored.expires_at.isoformat() if stored.expires_at else "until revoked"
    print(json.dumps({"name": stored.name, "role": stored.role, "subject": stored.subject,
                      "person_id": stored.person_id, "expires_at": until}, ensure_ascii=False))


@_report
def cmd_keys_add(args, settings) -> int:
    from redprop.services.gateway import keys

    if args.person is None and args.role not in ("property_company", "department"):
        args.person = args.subject  # a person's key: its subject is the holder
    _checked_person(args, settings)
    with database(settings) as db:
        key, stored = keys.add(db, settings.district, args.name, args.role, args.subject,
                               args.person, args.days)
    _print_key(key, stored)
    return 0


@_report
def cmd_keys_rotate(args, settings) -> int:
    from redprop.services.gateway import keys

    with database(settings) as db:
        key, stored = keys.rotate(db, settings.district, args.name, args.days, args.grace_hours)
    _print_key(key, stored)
    print(f"the old key works {args.grace_hours:g} more hours", file=sys.stderr)
    return 0


@_report
def cmd_keys_revoke(args, settings) -> int:
    from redprop.services.gateway import keys

    with database(settings) as db:
        count = keys.revoke(db, settings.district, args.name)
    print(f"revoked {count} key(s) named {args.name}")
    return 0


@_report
def cmd_keys_list(args, settings) -> int:
    from redprop.clock import utcnow
    from redprop.services.gateway import keys

    with database(settings) as db:
        now = utcnow()
        for k in keys.listing(db, settings.district):
            until = k.expires_at.isoformat() if k.expires_at else "-"
            print(f"{k.name}\t{k.role}\t{k.subject}\t{k.person_id or '-'}\t{k.state(now)}\t{until}\t{k.sha256[:12]}")
    return 0


def register(sub) -> None:
    parser = sub.add_parser("gateway", help="gateway tools: accounts, API keys, the OpenAPI document")
    commands = parser.add_subparsers(dest="gateway_command", required=True)
    p = commands.add_parser("key", help="make an API key and its entry for options.api_keys (the seed)")
    p.add_argument("role", choices=ROLES)
    p.add_argument("subject", help="whom the key acts as: a person, worker, company or department id")
    p.add_argument("--name")
    p.add_argument("--district", help="default: the configured district")
    p.set_defaults(func=cmd_key)
    p = commands.add_parser("openapi", help="print the OpenAPI document")
    p.add_argument("--out")
    p.set_defaults(func=cmd_openapi)

    accounts = commands.add_parser("accounts", help="people's logins (username and password)")
    acc = accounts.add_subparsers(dest="accounts_command", required=True)
    p = acc.add_parser("add", help="an account for a registry person (the password is asked for)")
    p.add_argument("username")
    p.add_argument("person_id", help="the registry person who logs in")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    _registry_check(p)
    p.set_defaults(func=cmd_accounts_add)
    p = acc.add_parser("list", help="the accounts")
    p.set_defaults(func=cmd_accounts_list)
    for name, enable in (("disable", False), ("enable", True)):
        p = acc.add_parser(name, help=f"{name} an account" + ("" if enable else " and end its sessions"))
        p.add_argument("username")
        p.set_defaults(func=cmd_accounts_disable, enable=enable)

    keys = commands.add_parser("keys", help="API keys in the gateway's database (expiry, rotation, revocation)")
    ks = keys.add_subparsers(dest="keys_command", required=True)
    p = ks.add_parser("add", help="a new key")
    p.add_argument("name", help="the key's name (unique among active keys)")
    p.add_argument("role", choices=ROLES)
    p.add_argument("subject", help="whom the key acts as: a person, or the company/department a handler is")
    p.add_argument("--person", help="the registry person holding the key (default: the subject for a person role)")
    p.add_argument("--days", type=float, default=365.0, help="valid this many days (default 365)")
    _registry_check(p)
    p.set_defaults(func=cmd_keys_add)
    p = ks.add_parser("rotate", help="a new key for the same holder; the old one ends after --grace-hours")
    p.add_argument("name")
    p.add_argument("--days", type=float, default=365.0)
    p.add_argument("--grace-hours", type=float, default=24.0)
    p.set_defaults(func=cmd_keys_rotate)
    p = ks.add_parser("revoke", help="stop a key now (a running gateway within auth_cache_ttl seconds)")
    p.add_argument("name")
    p.set_defaults(func=cmd_keys_revoke)
    p = ks.add_parser("list", help="the keys, with their state (active, expired, revoked)")
    p.set_defaults(func=cmd_keys_list)


def _registry_check(parser) -> None:
    parser.add_argument("--no-registry-check", action="store_true",
                        help="do not ask the registry whether the person exists (it must be running otherwise)")
    parser.add_argument("--timeout", type=float, default=10.0)
