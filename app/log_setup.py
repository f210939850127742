"""Logging of every ``tamin-bot`` command: one line format, ``LOG_LEVEL``, and no personal data.

The scrubber itself (:class:`bot.pii.ScrubbingFormatter`) lives beside the bot, whose updates
carry what users type; this module only installs it on the root logger's handlers, so lines
from our code, aiogram, uvicorn and tracebacks are all masked the same way.

``TAMIN_LOG_FORMAT=json`` writes each record as one JSON object per line (time, level, logger,
message, and the traceback as ``exc``) for a log shipper; the same scrubbing applies to the
message and the traceback before they are encoded.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from typing import Final, Literal

from bot.pii import ScrubbingFormatter, scrub

LOG_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"

LogFormat = Literal["text", "json"]


class JsonFormatter(ScrubbingFormatter):
    """One JSON object per record: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, and ``exc`` / ``stack`` when there are; Persian stays readable (UTF-8)."""

    def format(self, record: logging.LogRecord) -> str:
        # Masked like the text lines: the message here, the traceback by formatException.
        body: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            body["stack"] = self.formatStack(record.stack_info)
        return json.dumps(body, ensure_ascii=False)


def _formatter(fmt: LogFormat) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else ScrubbingFormatter(LOG_FORMAT)


def configure_logging(level: int | str = logging.INFO, fmt: LogFormat | None = None) -> None:
    """Log at ``level`` through root handlers that scrub their lines (adds one if there is none).

    Safe to call again: ``tamin-bot`` calls it before parsing settings, and ``run`` again with
    ``LOG_LEVEL`` and ``TAMIN_LOG_FORMAT`` once the settings are read; a handler already
    scrubbing in the format asked for is left as it is. Without ``fmt``, ``TAMIN_LOG_FORMAT``
    decides (read here, before the settings are, so the first lines have the right format).
    """
    if fmt is None:
        fmt = (
            "json" if os.environ.get("TAMIN_LOG_FORMAT", "").strip().lower() == "json" else "text"
        )
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level, format=LOG_FORMAT)
    # Something may have configured the root logger already; the level asked for still decides.
    root.setLevel(level)
    wanted = JsonFormatter if fmt == "json" else ScrubbingFormatter
    for handler in root.handlers:
        if type(handler.formatter) is not wanted:
            handler.setFormatter(_formatter(fmt))
