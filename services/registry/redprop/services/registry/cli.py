"""``redprop registry import FILE... | keys rotate | sample DIR``: bulk import with progress, key rotation, and
the sample dataset.

The import writes straight to the registry's database (like ``redprop migrate``), in one transaction:
every file of one invocation is validated together, so they may refer to one another in any order.
A running registry service notices the new structure version within seconds and relays the change
events from the outbox.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from redprop.config import Settings
from redprop.contracts.registry import ChangeReport
from redprop.db.engine import build_engine
from redprop.privacy.cipher import FieldCipher
from redprop.privacy.keys import key_ring
from redprop.services.registry.importer import read_file
from redprop.services.registry.writer import BatchWriter


class ProgressBar:
    """A one-line progress bar on a terminal; a line per quarter when output is not a terminal."""

    def __init__(self, label: str, total: int, stream=None):
        # sys.stderr is looked up now, not at import, so a redirected stderr gets the progress.
        self.label, self.total = label, max(total, 1)
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self._last_quarter = -1
        self.started = time.monotonic()

    def update(self, done: int) -> None:
        self.total = max(self.total, done)  # the total may be a guess (JSON): never show 1,602/1,221
        fraction = min(done / self.total, 1.0)
        if self.tty:
            filled = int(fraction * 30)
            self.stream.write(f"\r  {self.label:<24} [{'#' * filled}{'.' * (30 - filled)}] {done:>7,}/{self.total:,}")
            self.stream.flush()
        elif int(fraction * 4) > self._last_quarter:
            self._last_quarter = int(fraction * 4)
            self.stream.write(f"  {self.label}: {done:,}/{self.total:,}\n")

    def done(self) -> None:
        if self.tty:
            self.stream.write(f"  ({time.monotonic() - self.started:.1f} s)\n")


def _count_lines(path: Path) -> int:
    if path.suffix.lower() == ".csv":
        with path.open("rb") as fh:
            return max(sum(1 for _ in fh) - 1, 1)
    return max(path.stat().st_size // 200, 1)  # a rough guess for JSON; the bar completes at the end


def import_files(settings: Settings, paths: list[Path], *, kind: str | None = None, valid_only: bool = False,
                 dry_run: bool = False, show_progress: bool = True) -> ChangeReport:
    """Validate and import files into the registry database; the report says what was written."""
    from sqlalchemy.orm import Session

    rows, errors = [], []
    for path in paths:
        bar = ProgressBar(f"reading {path.name}", _count_lines(path)) if show_progress else None
        file_rows, file_errors = read_file(path, kind, progress=bar.update if bar else None)
        if bar:
            bar.done()
        rows.extend(file_rows)
        errors.extend(file_errors)
    engine = build_engine(settings.database_url("registry"))
    try:
        with Session(engine) as session:
            bar = ProgressBar("writing", len(rows)) if show_progress else None
            cipher = FieldCipher(key_ring(settings))
            report = BatchWriter(session, settings.district, cipher, why="registry import").apply(
                rows, valid_only=valid_only, prior_errors=errors, progress=bar.update if bar else None)
            if bar:
                bar.done()
            if dry_run:
                session.rollback()
                report = report.model_copy(update={"applied": False})
            else:
                session.commit()
    finally:
        engine.dispose()
    return report


def print_report(report: ChangeReport, stream=None) -> None:
    stream = stream if stream is not None else sys.stdout
    for kind, counts in sorted(report.counts.items()):
        stream.write(f"  {kind:13} created {counts.created:>6,}  updated {counts.updated:>6,}  "
                     f"unchanged {counts.unchanged:>6,}  rejected {counts.rejected:>5,}\n")
    for err in report.errors[:50]:
        where = f"{err.source} row {err.row}"
        stream.write(f"  ERROR {where}: {err.field}: {err.message}\n")
    hidden = len(report.errors) - 50 + report.more_errors
    if hidden > 0:
        stream.write(f"  ... and {hidden} more errors (write them all with --report FILE)\n")
    stream.write("  written.\n" if report.applied else "  nothing written.\n")


def cmd_import(args, settings: Settings) -> int:
    report = import_files(settings, [Path(p) for p in args.files], kind=args.kind,
                          valid_only=args.valid_only, dry_run=args.dry_run)
    print_report(report)
    if args.report:
        Path(args.report).write_text(report.model_dump_json(indent=2), encoding="utf-8")
    # A clean --dry-run writes nothing by design: that is a success, not a failure.
    return 0 if (report.applied or args.dry_run) and not report.errors else 1


def cmd_sample(args, settings: Settings) -> int:
    from redprop.services.registry.sample import write_sample

    for path in write_sample(Path(args.out)):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def cmd_keys_rotate(args, settings: Settings) -> int:
    """Re-encrypt every stored phone and ID card with the current key (after adding one with --new-key)."""
    from sqlalchemy.orm import Session

    from redprop.privacy.keys import key_file_of, save_key_file
    from redprop.services.registry.rotation import rotate_keys

    if args.new_key is not None:
        path = key_file_of(settings)
        if path is None or settings.privacy.key_file is not None:
            # The Secret (or the settings) is the truth there: a key written here would be lost.
            print("the keys come from privacy.keys or privacy.key_file: add the new key there, set "
                  "privacy.current_key, restart the services, then run `redprop registry keys rotate`",
                  file=sys.stderr)
            return 2
        ring = key_ring(settings).with_new_key(args.new_key or None)
        save_key_file(path, ring)
        print(f"added key {ring.current} to {path} as the current key (restart running services)")
    cipher = FieldCipher(key_ring(settings))
    engine = build_engine(settings.database_url("registry"))
    try:
        with Session(engine) as session:
            report = rotate_keys(session, cipher)
            session.commit()
    finally:
        engine.dispose()
    print(f"re-encrypted {report.rotated} values with key {report.key_id}; {report.current} were already under it")
    return 0


def register(sub) -> None:
    p = sub.add_parser("registry", help="registry tools: import, keys, sample")
    rsub = p.add_subparsers(dest="registry_command", required=True)
    q = rsub.add_parser("import", help="import JSON datasets and CSV files (validated together, one transaction)")
    q.add_argument("files", nargs="+")
    q.add_argument("--kind", help="the kind of rows in CSV files not named after it")
    q.add_argument("--valid-only", action="store_true", help="import the valid rows even if some are invalid")
    q.add_argument("--dry-run", action="store_true", help="validate and report, write nothing")
    q.add_argument("--report", help="write the full validation report (JSON) here")
    q.set_defaults(func=cmd_import)
    q = rsub.add_parser("keys", help="the key ring of personal data at rest")
    ksub = q.add_subparsers(dest="keys_command", required=True)
    k = ksub.add_parser("rotate", help="re-encrypt every phone and ID card with the current key")
    k.add_argument("--new-key", nargs="?", const="", default=None, metavar="ID",
                   help="first add a new key (to the local key file) and make it current")
    k.set_defaults(func=cmd_keys_rotate)
    q = rsub.add_parser("sample", help="write the sample district's dataset files")
    q.add_argument("out", nargs="?", default="var/sample")
    q.set_defaults(func=cmd_sample)

