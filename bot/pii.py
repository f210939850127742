"""Keep national IDs, mobiles and tokens out of the logs.

Log lines are written by our code, by aiogram and by tracebacks whose exception messages may
quote what a user typed. Rather than trusting every call site, :class:`ScrubbingFormatter`
(which ``app.log_setup`` puts on every log handler) masks the finished line, traceback
included, with ``persian.mask_identifiers``, the masking the agent console uses too.
"""

from __future__ import annotations

import logging
import re
from typing import Final

from persian import mask_identifiers

# Bot API tokens, alone or as they appear in request URLs (".../bot123456:AA…/sendMessage").
# Not ``\b`` before the digits: in "bot123456:" they follow a letter, no word boundary there,
# and such tokens went to the logs unmasked (found by the JSON log test).
_TOKEN: Final = re.compile(r"(?<!\d)(\d{5,}):[A-Za-z0-9_-]{20,}")


def scrub(text: str) -> str:
    """Return ``text`` with national IDs, mobiles, long numbers and bot tokens masked."""
    text = _TOKEN.sub(lambda m: m.group(1) + ":***", text)
    return mask_identifiers(text)


class ScrubbingFormatter(logging.Formatter):
    """A formatter that masks personal identifiers in the message and the traceback.

    The time stamp and other record fields are left alone (a date and time in a row of digits
    would otherwise look like a number to mask).
    """

    def format(self, record: logging.LogRecord) -> str:
        clean = logging.makeLogRecord(record.__dict__)
        clean.msg = scrub(record.getMessage())
        clean.args = None
        # Another handler may have cached an unscrubbed traceback on the shared record.
        clean.exc_text = None
        return super().format(clean)

    def formatException(self, ei: object) -> str:
        return scrub(super().formatException(ei))  # type: ignore[arg-type]

    def formatStack(self, stack_info: str) -> str:
        return scrub(super().formatStack(stack_info))
