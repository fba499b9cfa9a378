"""``redprop queues list|migrate``: the suite's queues on the broker, and moving one to the configured type.

    redprop queues list [--mismatched]        one JSON line per queue: type, arguments, messages,
                                              consumers, the type the settings want, whether it matches
    redprop queues migrate QUEUE... [--force] drain and switch each (docs/queues.md); --all for every
                                              mismatched queue of the suite

Exit codes: 0 done (or nothing to do), 1 ``list --mismatched`` found some, 2 a migration refused.
"""

from __future__ import annotations

import json
import sys

from redprop.config import Settings
from redprop.messaging.management import MANAGEMENT_PORT, RabbitManagement
from redprop.messaging.queues import Migration, MigrationRefused, list_queues


def _management(args, settings: Settings) -> RabbitManagement:
    return RabbitManagement(settings.amqp_uri, port=args.management_port)


def cmd_list(args, settings: Settings) -> int:
    reports = list_queues(settings.amqp_uri, settings.messaging, _management(args, settings))
    shown = [r for r in reports if r.matches is False] if args.mismatched else reports
    for report in shown:
        print(json.dumps(report.as_dict(), ensure_ascii=False, sort_keys=True))
    mismatched = sum(1 for r in reports if r.matches is False)
    print(f"{len(reports)} queue(s); {mismatched} not of the configured type ({settings.messaging.queue_type})"
          + ("; `redprop queues migrate --all` switches them" if mismatched else ""))
    return 1 if args.mismatched and mismatched else 0


def cmd_migrate(args, settings: Settings) -> int:
    management = _management(args, settings)
    names = list(args.queues)
    if args.all:
        names += [r.name for r in list_queues(settings.amqp_uri, settings.messaging, management)
                  if r.matches is False and r.expected_type == settings.messaging.queue_type
                  and r.name not in names]
    if not names:
        print("no queue to migrate (name queues, or --all for every mismatched queue of the suite)")
        return 0
    refused = 0
    for name in names:
        try:
            Migration(settings.amqp_uri, settings.messaging, management, name, force=args.force).run()
        except MigrationRefused as exc:
            print(f"refused: {exc}", file=sys.stderr)
            refused += 1
    return 2 if refused else 0


def register(sub) -> None:
    p = sub.add_parser("queues", help="the suite's queues on the broker: list, or migrate to the configured type")
    qsub = p.add_subparsers(dest="queues_command", required=True)
    q = qsub.add_parser("list", help="each queue's type, arguments, messages, consumers and whether it matches")
    q.add_argument("--mismatched", action="store_true", help="only queues not of the configured type (exit 1 if any)")
    q.set_defaults(func=cmd_list)
    q = qsub.add_parser("migrate", help="drain a queue and declare it again with the configured type")
    q.add_argument("queues", nargs="*", help="queue names")
    q.add_argument("--all", action="store_true", help="every queue of the suite not of the configured type")
    q.add_argument("--force", action="store_true", help="migrate even while consumers are attached")
    q.set_defaults(func=cmd_migrate)
    for parser in qsub.choices.values():
        parser.add_argument("--management-port", type=int, default=MANAGEMENT_PORT,
                            help=f"the broker's management API port (default {MANAGEMENT_PORT})")
