"""The log filter that keeps phone and ID-card numbers out of every log line above DEBUG.

Services log ids and counts, not what residents wrote (``redprop.logs``); this filter is the second line
of defence for what slips through: an error message quoting a request, a traceback, a library's line.
``redprop.logs`` installs it on every handler it makes.
"""

from __future__ import annotations

import logging

from redprop.privacy.masking import mask_contacts


class PersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logging's problem to report, not ours
            return True
        cleaned = mask_contacts(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_contacts(record.exc_text)
            # Formatters prefer exc_info to exc_text (the JSON one does): only the masked text is left.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = mask_contacts(record.stack_info)
        return True
