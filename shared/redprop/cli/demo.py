"""``redprop demo``: the whole suite on embedded defaults, with a sample district and its stories.

1. A fresh, separate place: SQLite files under ``var/demo`` and, when RabbitMQ's management API is
   reachable, a fresh ``redprop-demo`` virtual host (so leftovers of earlier runs cannot leak in).
2. Every installed service is migrated and started in this process.
3. Each service's demo steps (entry-point group ``redprop.demo``, run in ``order``) tell their story
   through the same RPC contracts any client uses, and print what happened. A step with a
   ``configure(settings) -> settings`` attribute may adjust the settings before the suite starts.
4. The suite keeps running until Ctrl-C, and the command prints how to explore it.
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

import yaml

from redprop.config import Settings
from redprop.logs import configure_logging
from redprop.messaging.management import ManagementUnavailable, RabbitManagement
from redprop.plugins import DEMO_GROUP

DEMO_VHOST = "redprop-demo"


@dataclass
class DemoContext:
    """What a demo step gets: settings, an RPC client, and a way to print."""

    settings: Settings
    rpc: object
    config_file: Path
    hints: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def section(self, title: str) -> None:
        print(f"\n== {title} " + "=" * max(0, 70 - len(title)), flush=True)

    def say(self, text: str = "") -> None:
        print(text, flush=True)

    def table(self, headers: list[str], rows: list[list[object]]) -> None:
        cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
        widths = [max(_width(r[i]) for r in cells) for i in range(len(headers))]
        for n, row in enumerate(cells):
            print("  " + "  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)))
            if n == 0:
                print("  " + "  ".join("-" * w for w in widths))
        sys.stdout.flush()

    def hint(self, command: str) -> None:
        """Remember a command the user can try afterwards."""
        self.hints.append(command)


def _width(text: str) -> int:
    # CJK characters take two terminal columns.
    return sum(2 if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1 for ch in text)


def fresh_vhost(settings: Settings, vhost: str) -> Settings | None:
    """Recreate ``vhost`` empty through the management API; None if the API is not available."""
    try:
        RabbitManagement(settings.amqp_uri).create_vhost(vhost, fresh=True)
    except ManagementUnavailable:
        return None
    return settings.with_vhost(vhost)


def demo_steps():
    steps = []
    for ep in entry_points(group=DEMO_GROUP):
        step = ep.load()
        steps.append((getattr(step, "order", 100), ep.name, step))
    return sorted(steps, key=lambda s: (s[0], s[1]))


def cmd_demo(args, settings: Settings) -> int:
    from redprop.db.engine import make_psycopg_cooperative
    from redprop.db.migrate import has_database, upgrade
    from redprop.messaging.client import RpcClient
    from redprop.plugins import load_service
    from redprop.runner import SuiteRunner, check_broker, enabled_services

    make_psycopg_cooperative()
    if settings.log_level == "INFO":
        configure_logging("WARNING", settings.log_format)  # the scenario tells the story; service chatter would drown it
    data_dir = Path(args.data_dir)
    if data_dir.exists() and not args.keep:
        shutil.rmtree(data_dir)
    settings = settings.model_copy(update={"data_dir": data_dir})
    check_broker(settings)
    isolated = fresh_vhost(settings, DEMO_VHOST)
    if isolated is not None:
        settings = isolated
    data_dir.mkdir(parents=True, exist_ok=True)
    config_file = data_dir / "redprop.yaml"
    # A step may adjust the settings before the suite starts (e.g. the gateway's demo API keys).
    for _order, _name, step in demo_steps():
        configure = getattr(step, "configure", None)
        if configure is not None:
            settings = configure(settings)
    config_file.write_text(yaml.safe_dump({
        "district": settings.district, "district_name": settings.district_name,
        "amqp_uri": settings.amqp_uri, "data_dir": str(data_dir.resolve()),
        "services": {n: {"options": s.options} for n, s in settings.services.items() if s.options},
    }, allow_unicode=True), encoding="utf-8")
    names = enabled_services(settings)
    print(f"redprop demo: district {settings.district} ({settings.district_name})")
    print(f"  services: {', '.join(names)}")
    print(f"  broker:   {settings.redacted_amqp_uri()}"
          + ("" if isolated else "  (management API not reachable: using the configured vhost as is)"))
    print(f"  data:     {data_dir.resolve()} (SQLite, recreated for each demo)")
    for name in names:
        cls = load_service(name)
        if has_database(cls):
            upgrade(cls, settings)
    runner = SuiteRunner(settings, names)
    runner.preflight()
    runner.start()
    status = 0
    try:
        with RpcClient(settings, timeout=60) as rpc:
            ctx = DemoContext(settings=settings, rpc=rpc, config_file=config_file)
            for _order, name, step in demo_steps():
                needs = getattr(step, "services", ())
                if any(s not in names for s in needs):
                    print(f"\n(skipping demo step {name}: needs {', '.join(needs)})")
                    continue
                step(ctx)
        _print_where(ctx, names)
        if args.exit:
            return 0
        print("\nThe suite keeps running; press Ctrl-C to stop it.", flush=True)
        ending = runner.serve()
        print(f"service {ending.died} stopped by itself" if ending.died else "\nstopping the suite",
              file=sys.stderr)
        status = ending.exit_code
    except KeyboardInterrupt:
        print("\nstopping the suite", file=sys.stderr)
    finally:
        runner.stop()
    return status


def _print_where(ctx: DemoContext, names: list[str]) -> None:
    settings = ctx.settings
    ctx.section("Where things are")
    ctx.say(f"Scenario took {time.monotonic() - ctx.started:.1f} s.")
    ctx.say("Metrics, health and readiness of each service:")
    for name in names:
        port = settings.metrics_port(name)
        if port:
            ctx.say(f"  {name:11} http://127.0.0.1:{port}/metrics   /healthz   /readyz")
    ctx.say("\nCall the running suite from another terminal (in this folder):")
    ctx.say(f"  export REDPROP_CONFIG={ctx.config_file}")
    ctx.say("  .venv/bin/redprop services")
    for hint in ctx.hints:
        ctx.say(f"  .venv/bin/redprop call {hint}")


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the whole suite with the sample district")
    p.add_argument("--data-dir", default="var/demo", help="where the demo's SQLite files go (recreated)")
    p.add_argument("--keep", action="store_true", help="keep the data of an earlier demo")
    p.add_argument("--exit", action="store_true", help="stop after the scenario instead of waiting")
    p.set_defaults(func=cmd_demo)
