"""Log set-up: one line per record, with the logger's name."""

from __future__ import annotations

import logging
import sys


class ExpectedErrorFilter(logging.Filter):
    """nameko logs every *expected* error (a typed domain error the caller receives) as a warning with
    a traceback. Those are answers, not faults: they are counted in the metrics by outcome, so the log
    keeps one line without the traceback, at DEBUG only."""

    def __init__(self, verbose: bool):
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "nameko.containers" and str(record.msg).startswith("(expected)"):
            record.exc_info = None
            record.exc_text = None
            return self.verbose
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(ExpectedErrorFilter(verbose=level == "DEBUG"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # nameko and kombu are chatty at INFO about every connection; keep their warnings.
    for noisy in ("nameko", "kombu", "amqp", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
