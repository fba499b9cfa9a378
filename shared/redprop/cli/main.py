"""The ``redprop`` command.

    redprop run NAME... | --all         start installed services (until Ctrl-C / SIGTERM)
    redprop migrate NAME... | --all     bring service databases to the current schema
    redprop call SERVICE.OP [JSON]      one RPC from the shell (JSON from the argument or stdin)
    redprop demo                        the whole suite on embedded defaults with the sample district
    redprop services                    what is installed: services, operations, extension points
    redprop schema [--out DIR]          export the contracts as JSON Schema
    redprop asyncapi [--out FILE]       the AsyncAPI 3 document of every contract (YAML)
    redprop permits [--out FILE]        who may call each operation (docs/authorisation.md)
    redprop config                      the effective settings (secrets masked)
    redprop dlq list|replay SERVICE     inspect or replay dead letters
    redprop queues list|migrate         queue types on the broker; switch a queue to the configured type
Installed services may add their own commands (entry-point group ``redprop.cli``).
"""

# nameko's workers are green threads: patch the standard library before anything else imports it.
import warnings

# eventlet announces its own deprecation on import; nameko 2.x has no other concurrency model.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from importlib.metadata import entry_points  # noqa: E402

from redprop.config import Settings, load_settings  # noqa: E402
from redprop.errors import ConfigError, RedpropError  # noqa: E402
from redprop.logs import configure_logging  # noqa: E402
from redprop.plugins import CLI_GROUP  # noqa: E402


def _selected(args, settings: Settings) -> list[str]:
    from redprop.runner import enabled_services

    if args.all or not args.names:
        if not args.all:
            raise ConfigError("name the services to use, or pass --all")
        return enabled_services(settings)
    return args.names


def cmd_run(args, settings: Settings) -> int:
    from redprop.db.engine import make_psycopg_cooperative
    from redprop.runner import SuiteRunner

    make_psycopg_cooperative()
    runner = SuiteRunner(settings, _selected(args, settings))
    runner.preflight()
    runner.start()
    names = ", ".join(c.service_name for c in runner.containers)
    print(f"redprop: running {names} for district {settings.district}; Ctrl-C stops", file=sys.stderr)
    ending = runner.serve()
    if ending.died:
        print(f"redprop: service {ending.died} stopped by itself; the others were stopped", file=sys.stderr)
    else:
        print(f"redprop: stopped on {ending.signal}", file=sys.stderr)
    return ending.exit_code


def cmd_migrate(args, settings: Settings) -> int:
    from redprop.checks import require_valid
    from redprop.db.migrate import autogenerate, has_database, pending, upgrade
    from redprop.plugins import load_service

    names = _selected(args, settings)
    # A wrong option fails here, before any schema changes, not only once `run` starts the service.
    require_valid(settings, names)
    for name in names:
        cls = load_service(name)
        if not has_database(cls):
            continue
        if args.autogenerate:
            autogenerate(cls, settings, args.autogenerate)
            continue
        if args.check:
            current, expected = pending(cls, settings)
            state = "current" if current == expected else f"behind (at {sorted(current)}, want {sorted(expected)})"
            print(f"{name}: {state}")
            continue
        upgrade(cls, settings)
        print(f"{name}: migrated ({settings.redacted_database_url(name)})")
    return 0


def cmd_call(args, settings: Settings) -> int:
    from redprop.messaging.client import RpcClient

    service, _, operation = args.target.partition(".")
    if not service or not operation:
        raise ConfigError("call needs SERVICE.OPERATION, e.g. registry.resolve")
    raw = args.payload if args.payload not in (None, "-") else (sys.stdin.read() if args.payload == "-" else "{}")
    try:
        payload = json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        raise ConfigError(f"the request is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ConfigError("the request must be a JSON object of the operation's fields")
    with RpcClient(settings, timeout=args.timeout) as rpc:
        try:
            reply = rpc.call(service, operation, payload)
        except RedpropError as exc:
            print(json.dumps({"error": exc.to_wire()}, ensure_ascii=False, indent=2))
            return 1
    out = reply.model_dump(mode="json") if hasattr(reply, "model_dump") else reply
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


def cmd_services(args, settings: Settings) -> int:
    from redprop.contracts import all_contracts
    from redprop.plugins import installed_services, load_service

    contracts = all_contracts()
    for name in sorted(installed_services()):
        cls = load_service(name)
        state = "enabled" if settings.service(name).enabled else "disabled"
        print(f"{name} ({state}, metrics port {settings.metrics_port(name) or 'off'})")
        contract = contracts.get(name)
        if contract:
            for op in contract.operations.values():
                print(f"  {op.kind:7} {name}.{op.name}: {op.summary}")
            for event_type in sorted(contract.events):
                print(f"  event   {event_type}")
        for point in getattr(cls, "extension_points", ()):
            print(f"  plugin  {point.key} = {point.chosen(settings)} (installed: {', '.join(point.available())})")
    return 0


def cmd_schema(args, settings: Settings) -> int:
    from pathlib import Path

    from redprop.docs.jsonschema import write_schemas

    written = write_schemas(Path(args.out))
    print(f"wrote {len(written)} JSON Schema files to {args.out}")
    return 0


def cmd_asyncapi(args, settings: Settings) -> int:
    from pathlib import Path

    from redprop.docs.asyncapi import render_yaml

    text = render_yaml()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_permits(args, settings: Settings) -> int:
    from pathlib import Path

    from redprop.docs.permits import render_markdown

    text = render_markdown()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_config(args, settings: Settings) -> int:
    from redprop.secrets import redact_url

    if args.check:
        return _check_config(settings)
    data = settings.model_dump(mode="json")
    data["amqp_uri"] = redact_url(data["amqp_uri"])
    for service in data["services"].values():  # database URLs may carry a password too
        service["database_url"] = redact_url(service.get("database_url"))
    print(json.dumps(data, ensure_ascii=False, indent=2))
    return 0


def _check_config(settings: Settings) -> int:
    """What `run --all` would refuse, found without connecting: every problem listed, exit 2 if any."""
    from redprop.checks import check_settings
    from redprop.runner import enabled_services

    names = enabled_services(settings)
    problems = check_settings(settings, names)
    if problems:
        print("redprop: " + "\n".join(problems), file=sys.stderr)
        return 2
    print(f"settings are valid for district {settings.district}: {', '.join(names) or 'no services'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="redprop", description="redprop: Red Property governance suite")
    parser.add_argument("--config", "-c", help="YAML settings file (default: $REDPROP_CONFIG or ./redprop.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_names(p):
        p.add_argument("names", nargs="*", help="service names")
        p.add_argument("--all", action="store_true", help="every installed, enabled service")
        return p

    with_names(sub.add_parser("run", help="start services")).set_defaults(func=cmd_run)
    p = with_names(sub.add_parser("migrate", help="migrate service databases"))
    p.add_argument("--check", action="store_true", help="only report whether databases are current")
    p.add_argument("--autogenerate", metavar="MESSAGE", help="(developers) write a new revision from the models")
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser("call", help="call an operation: redprop call registry.resolve '{\"building_id\": \"B1\"}'")
    p.add_argument("target", help="SERVICE.OPERATION")
    p.add_argument("payload", nargs="?", help="JSON object of request fields, or - for stdin")
    p.add_argument("--timeout", type=float, default=None, help="seconds to wait for the reply")
    p.set_defaults(func=cmd_call)
    sub.add_parser("services", help="list installed services").set_defaults(func=cmd_services)
    p = sub.add_parser("schema", help="export contracts as JSON Schema")
    p.add_argument("--out", default="docs/schemas")
    p.set_defaults(func=cmd_schema)
    p = sub.add_parser("asyncapi", help="print the AsyncAPI 3 document of the contracts")
    p.add_argument("--out", help="write it to this file instead of standard output")
    p.set_defaults(func=cmd_asyncapi)
    p = sub.add_parser("permits", help="print who may call each operation (Markdown)")
    p.add_argument("--out", help="write it to this file instead of standard output")
    p.set_defaults(func=cmd_permits)
    p = sub.add_parser("config", help="print the effective settings (secrets masked)")
    p.add_argument("--check", action="store_true",
                   help="validate everything `run --all` would (services, options, plugins) and exit non-zero if wrong")
    p.set_defaults(func=cmd_config)

    from redprop.cli import demo, dlq, queues

    demo.register(sub)
    dlq.register(sub)
    queues.register(sub)
    for ep in entry_points(group=CLI_GROUP):
        ep.load()(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from kombu.exceptions import OperationalError as BrokerUnreachable

    from redprop.checks import check_service_names
    from redprop.secrets import (
        install_excepthook,
        install_log_redaction,
        redact,
        redact_url,
        settings_passwords,
    )

    args = build_parser().parse_args(argv)
    secrets: set[str] = set()
    try:
        settings = load_settings(args.config)
        secrets = settings_passwords(settings)
        install_excepthook(secrets)
        configure_logging(settings.log_level, settings.log_format)
        install_log_redaction(settings)
        check_service_names(settings)  # a misspelt service under `services:` is a typo, whatever the command
        return args.func(args, settings) or 0
    except ConfigError as exc:
        print(f"redprop: {redact(str(exc), secrets)}", file=sys.stderr)
        return 2
    except BrokerUnreachable as exc:  # kombu's OperationalError: a command could not reach the broker
        print(f"redprop: setting 'amqp_uri': cannot reach RabbitMQ at {redact_url(settings.amqp_uri)} "
              f"({redact(str(exc), secrets)})", file=sys.stderr)
        return 2
    except RedpropError as exc:
        print(f"redprop: {exc.code}: {redact(exc.message, secrets)}", file=sys.stderr)
        for field in exc.details.get("fields", []):
            print(f"  {field['field']}: {redact(field['message'], secrets)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
