"""The registry's bulk import of the sample district, timed.

``python -m bench.registry_import CONFIG FILE...`` runs the import the CLI runs
(``redprop registry import``, without progress bars) into a freshly migrated database and prints one
JSON line: seconds spent in the import itself, rows written and counts per kind. The parent also times
the whole process (interpreter start-up included), which is what a user of the CLI waits for.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    from redprop.config import load_settings
    from redprop.services.registry.cli import import_files

    config, *files = sys.argv[1:]
    settings = load_settings(config)
    started = time.perf_counter()
    report = import_files(settings, [Path(f) for f in files], show_progress=False)
    seconds = time.perf_counter() - started
    counts = {kind: c.created + c.updated + c.unchanged for kind, c in report.counts.items()}
    print(json.dumps({"seconds": seconds, "rows": sum(counts.values()), "counts": counts,
                      "applied": report.applied, "errors": len(report.errors),
                      "database": settings.database_url("registry").split(":")[0]}))


if __name__ == "__main__":
    main()
