"""The clock every service reads the time from, so that tests can fix it.

All business dates are Tehran dates: a ticket filed at 01:00 Tehran time on Saturday belongs to
Saturday even though it is still Friday in UTC.

A process's clock comes from :func:`product_clock`: the system's, unless ``TAMIN_CLOCK_START``
(``EnvSettings.tamin_clock_start``, refused beside a bot token) starts it at another moment, from
which it runs at the real pace. The end-to-end tests start ``tamin-bot demo-data`` and
``tamin-bot run`` on one such moment, so that the demo data, the bot and the tests' expectations
share one today whatever the hour of the run (tests/e2e/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from services.settings import Settings

TEHRAN = ZoneInfo("Asia/Tehran")
# A bare date as a clock's moment means 10:00 Tehran time that day: inside office hours, far
# from midnight.
BARE_DATE_TIME = dt.time(10, 0)

logger = logging.getLogger(__name__)


class Clock(Protocol):
    """What services need from time."""

    def now(self) -> dt.datetime:
        """Return the current moment, aware, in Asia/Tehran."""
        ...

    def today(self) -> dt.date:
        """Return today's date in Asia/Tehran."""
        ...


class SystemClock:
    """The real clock."""

    def __init__(self, tz: ZoneInfo = TEHRAN) -> None:
        self._tz = tz

    def now(self) -> dt.datetime:
        return dt.datetime.now(self._tz)

    def today(self) -> dt.date:
        return self.now().date()


class FixedClock:
    """A clock that stands still until told to move (tests, benchmarks, demo data of a day)."""

    def __init__(self, moment: dt.datetime | dt.date, tz: ZoneInfo = TEHRAN) -> None:
        self._tz = tz
        self._now = self._coerce(moment)

    def _coerce(self, moment: dt.datetime | dt.date) -> dt.datetime:
        if not isinstance(moment, dt.datetime):
            # A bare date means 10:00 that day: inside office hours, far from midnight.
            moment = dt.datetime.combine(moment, BARE_DATE_TIME)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self._tz)
        return moment.astimezone(self._tz)

    def now(self) -> dt.datetime:
        return self._now

    def today(self) -> dt.date:
        return self._now.date()

    def set(self, moment: dt.datetime | dt.date) -> None:
        """Move the clock to ``moment`` (naive values are Tehran time)."""
        self._now = self._coerce(moment)

    def advance(self, delta: dt.timedelta) -> None:
        """Move the clock forward by ``delta``."""
        self._now = (self._now + delta).astimezone(self._tz)


class StartedClock:
    """A clock that reads ``start`` when made and runs on at the real pace from there.

    Unlike :class:`FixedClock` it never stands still, so timers, leases and paces behave as on
    the system clock; only the moment differs (by a constant).
    """

    def __init__(self, start: dt.datetime, tz: ZoneInfo = TEHRAN) -> None:
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("a clock's start must be an aware datetime")
        self._tz = tz
        self._start = start.astimezone(tz)
        self._started = time.monotonic()

    def now(self) -> dt.datetime:
        elapsed = dt.timedelta(seconds=time.monotonic() - self._started)
        return (self._start + elapsed).astimezone(self._tz)

    def today(self) -> dt.date:
        return self.now().date()


def clock_moment(value: str | dt.datetime | dt.date) -> dt.datetime:
    """Read a clock's moment: ISO 8601, naive values in Tehran time, a bare date at 10:00."""
    if isinstance(value, str):
        text = value.strip()
        value = dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, BARE_DATE_TIME)
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=TEHRAN)
    return value.astimezone(TEHRAN)


def product_clock(settings: Settings) -> Clock:
    """The clock of a process: the system's, or one started at ``TAMIN_CLOCK_START``."""
    start = settings.env.tamin_clock_start
    if start is None:
        return SystemClock()
    logger.warning("TAMIN_CLOCK_START: this process's clock starts at %s", start.isoformat())
    return StartedClock(start)
