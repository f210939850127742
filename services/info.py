"""Official channels, the USSD code, contact-centre hours, and whether 1420 is open right now.

Hours (seed «خدمات غیرحضوری»: Saturday–Wednesday 8:00–20:00, Thursday 8:00–16:00) and
``always_open`` come from ``config.yml``; Friday and official holidays (the same calendar as
ticket due dates) are closed. Times are Tehran times.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from services.calendar import WorkingCalendar
from services.clock import TEHRAN, Clock
from services.settings import WEEKDAY_NUMBERS, Settings, Weekday

# The Iranian week starts on Saturday.
WEEK_ORDER: Final[tuple[Weekday, ...]] = (
    "saturday",
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
)
_WEEKDAY_NAMES: Final = {number: name for name, number in WEEKDAY_NUMBERS.items()}
# How far to look for the next opening (a long Nowruz break plus weekends stays well inside).
_SEARCH_DAYS: Final = 60


class ClosedReason(StrEnum):
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    OUTSIDE_HOURS = "outside_hours"


@dataclass(frozen=True, slots=True)
class DayHours:
    """One weekday's hours; ``None`` when closed that day."""

    weekday: Weekday
    opens: dt.time | None
    closes: dt.time | None


@dataclass(frozen=True, slots=True)
class Channels:
    """The official channels (seed «خدمات غیرحضوری تأمین اجتماعی»)."""

    phone: str
    ussd: str
    app_name: str
    account_url: str
    portal_url: str
    eservices_url: str
    eligibility_urls: tuple[str, ...]
    always_open: bool
    hours: tuple[DayHours, ...]  # Saturday first


@dataclass(frozen=True, slots=True)
class OpenStatus:
    """Whether the contact centre is open at ``at``; when not, why and when it opens."""

    at: dt.datetime
    open: bool
    closes_at: dt.datetime | None
    reason: ClosedReason | None
    holiday_name: str | None
    next_opening: dt.datetime | None


class InfoService:
    """Static facts about the channels and the contact centre's opening hours."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self._config = settings.config.contact_centre
        self._calendar = WorkingCalendar(settings.config.tickets)
        self._clock = clock

    def channels(self) -> Channels:
        c = self._config
        return Channels(
            phone=c.phone,
            ussd=c.ussd,
            app_name=c.app_name,
            account_url=c.account_url,
            portal_url=c.portal_url,
            eservices_url=c.eservices_url,
            eligibility_urls=c.eligibility_urls,
            always_open=c.always_open,
            hours=tuple(DayHours(day, *c.hours.get(day, (None, None))) for day in WEEK_ORDER),
        )

    def _hours_on(self, day: dt.date) -> tuple[dt.time, dt.time] | None:
        if self._calendar.is_holiday(day):
            return None
        return self._config.hours.get(_WEEKDAY_NAMES[day.weekday()])

    def is_open(self, at: dt.datetime | None = None) -> OpenStatus:
        """Return whether 1420 answers at ``at`` (default: now), in Tehran time."""
        if at is None:
            moment = self._clock.now().astimezone(TEHRAN)
        elif at.tzinfo is None:  # a naive moment is taken as Tehran time
            moment = at.replace(tzinfo=TEHRAN)
        else:
            moment = at.astimezone(TEHRAN)
        if self._config.always_open:
            return OpenStatus(moment, True, None, None, None, None)
        day = moment.date()
        hours = self._hours_on(day)
        if hours is not None:
            opens = dt.datetime.combine(day, hours[0], TEHRAN)
            closes = dt.datetime.combine(day, hours[1], TEHRAN)
            if opens <= moment < closes:
                return OpenStatus(moment, True, closes, None, None, None)
        if self._calendar.is_holiday(day):
            reason = ClosedReason.HOLIDAY
        elif _WEEKDAY_NAMES[day.weekday()] not in self._config.hours:
            reason = ClosedReason.WEEKEND
        else:
            reason = ClosedReason.OUTSIDE_HOURS
        return OpenStatus(
            at=moment,
            open=False,
            closes_at=None,
            reason=reason,
            holiday_name=self._calendar.holiday_name(day) or None,
            next_opening=self._next_opening(moment),
        )

    def _next_opening(self, moment: dt.datetime) -> dt.datetime | None:
        day = moment.date()
        for offset in range(_SEARCH_DAYS):
            candidate = day + dt.timedelta(days=offset)
            hours = self._hours_on(candidate)
            if hours is None:
                continue
            opens = dt.datetime.combine(candidate, hours[0], TEHRAN)
            if opens > moment:
                return opens
        return None
