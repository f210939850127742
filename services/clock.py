"""The clock every service reads the time from, so that tests can fix it.

All business dates are Tehran dates: a ticket filed at 01:00 Tehran time on Saturday belongs to
Saturday even though it is still Friday in UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

TEHRAN = ZoneInfo("Asia/Tehran")


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
            moment = dt.datetime.combine(moment, dt.time(10, 0))
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
