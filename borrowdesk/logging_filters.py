"""Logging filters named by settings.LOGGING."""

from __future__ import annotations

import logging


class OneLineRefusals(logging.Filter):
    """A refused request (a 4xx: 403, 404, a suspicious host) logs its one line, not a traceback.

    Django logs ``Forbidden (Permission denied): /path`` on ``django.request`` with the exception
    attached, so every 403 printed a full traceback; a refusal is the app working, not a bug. Server
    errors (5xx) keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if record.name.startswith("django.security") or (status is not None and status < 500):
            record.exc_info = None
            record.exc_text = None
        return True
