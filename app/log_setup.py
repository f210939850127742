"""Logging of every ``tamin-bot`` command: one line format, ``LOG_LEVEL``, and no personal data.

The scrubber itself (:class:`bot.pii.ScrubbingFormatter`) lives beside the bot, whose updates
carry what users type; this module only installs it on the root logger's handlers, so lines
from our code, aiogram, uvicorn and tracebacks are all masked the same way.
"""

from __future__ import annotations

import logging
from typing import Final

from bot.pii import ScrubbingFormatter

LOG_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: int | str = logging.INFO) -> None:
    """Log at ``level`` through root handlers that scrub their lines (adds one if there is none).

    Safe to call again: ``tamin-bot`` calls it before parsing settings, and ``run`` again with
    ``LOG_LEVEL`` once the settings are read; handlers already scrubbing are left as they are.
    """
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level, format=LOG_FORMAT)
    # Something may have configured the root logger already; the level asked for still decides.
    root.setLevel(level)
    for handler in root.handlers:
        if not isinstance(handler.formatter, ScrubbingFormatter):
            handler.setFormatter(ScrubbingFormatter(LOG_FORMAT))
