"""The product's clock: Tehran's date on either side of Tehran's midnight, and the clock a
process starts at ``TAMIN_CLOCK_START`` (the end-to-end tests' one source of today)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from pydantic import ValidationError

from services.clock import (
    TEHRAN,
    FixedClock,
    StartedClock,
    SystemClock,
    clock_moment,
    product_clock,
)
from services.settings import EnvSettings, Settings

# The failed run's minute: 20:29 UTC is 23:59 in Tehran (UTC+03:30), and 20:31 UTC is already
# the next day there. 1403/05/31 is Wednesday 2024-08-21, the last day of Mordad.
BEFORE = dt.datetime(2024, 8, 21, 20, 29, 30, tzinfo=dt.UTC)
AFTER = dt.datetime(2024, 8, 21, 20, 31, 0, tzinfo=dt.UTC)
DAY = dt.date(2024, 8, 21)
NEXT_DAY = dt.date(2024, 8, 22)


def test_a_fixed_clock_gives_tehrans_date_not_utcs() -> None:
    clock = FixedClock(BEFORE)
    assert clock.now() == dt.datetime(2024, 8, 21, 23, 59, 30, tzinfo=TEHRAN)
    assert clock.today() == DAY
    clock.set(AFTER)
    assert AFTER.date() == DAY  # still Wednesday in UTC …
    assert clock.today() == NEXT_DAY  # … Thursday in Tehran
    assert clock.now().hour == 0 and clock.now().minute == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-08-21", dt.datetime(2024, 8, 21, 10, 0, tzinfo=TEHRAN)),
        ("2024-08-21T23:59:30", dt.datetime(2024, 8, 21, 23, 59, 30, tzinfo=TEHRAN)),
        ("2024-08-21T20:29:30Z", dt.datetime(2024, 8, 21, 23, 59, 30, tzinfo=TEHRAN)),
        ("2024-08-21T20:31:00+00:00", dt.datetime(2024, 8, 22, 0, 1, tzinfo=TEHRAN)),
        (dt.date(2024, 8, 21), dt.datetime(2024, 8, 21, 10, 0, tzinfo=TEHRAN)),
    ],
)
def test_clock_moment_reads_tehran_time(value: str | dt.date, expected: dt.datetime) -> None:
    moment = clock_moment(value)
    assert moment == expected and moment.tzinfo is TEHRAN
    assert (moment.hour, moment.minute) == (expected.hour, expected.minute)


def test_a_started_clock_runs_across_tehrans_midnight() -> None:
    start = dt.datetime(2024, 8, 21, 23, 59, 59, 900_000, tzinfo=TEHRAN)
    clock = StartedClock(start)
    assert clock.today() == DAY
    time.sleep(0.25)
    now = clock.now()
    assert clock.today() == NEXT_DAY
    assert now.astimezone(dt.UTC).date() == DAY  # UTC is still on the 21st
    assert dt.timedelta(seconds=0.2) <= now - start < dt.timedelta(seconds=5)


def test_a_started_clock_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="aware"):
        StartedClock(dt.datetime(2024, 8, 21, 10, 0))


def _settings(settings: Settings, env: EnvSettings) -> Settings:
    return settings.model_copy(update={"env": env})


def test_the_clock_of_a_process_comes_from_tamin_clock_start(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TELEGRAM_BOT_TOKEN", "BALE_BOT_TOKEN", "TAMIN_CLOCK_START"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(product_clock(_settings(settings, EnvSettings())), SystemClock)
    for value, day in (("2024-08-21T20:29:30Z", DAY), ("2024-08-21T20:31:00Z", NEXT_DAY)):
        monkeypatch.setenv("TAMIN_CLOCK_START", value)
        env = EnvSettings()
        assert env.tamin_clock_start == clock_moment(value)
        clock = product_clock(_settings(settings, env))
        assert isinstance(clock, StartedClock) and clock.today() == day
    monkeypatch.setenv("TAMIN_CLOCK_START", " ")
    assert EnvSettings().tamin_clock_start is None


def test_a_shifted_clock_is_refused_beside_a_bot_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAMIN_CLOCK_START", "2024-08-21")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1234567:TEST-telegram-token-0000000000")
    with pytest.raises(ValidationError, match="TAMIN_CLOCK_START is for the sandbox"):
        EnvSettings()
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    monkeypatch.setenv("BALE_BOT_TOKEN", "7654321:TEST-bale-token-00000000000000")
    with pytest.raises(ValidationError, match="TAMIN_CLOCK_START is for the sandbox"):
        EnvSettings()
