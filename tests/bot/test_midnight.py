"""Tehran's midnight: the bot's dates are Tehran's, whatever the date in UTC.

The demo personas are loaded at 23:59:30 Tehran time on Wednesday 1403/05/31 (20:29:30 UTC, the
minute of an end-to-end run that once failed), then the clock moves to 00:10 on Thursday
1403/06/01, which is still Wednesday 20:40 in UTC. A user at 00:10 must see Thursday: the
month «three months ago» counts from Shahrivar, a ticket is filed on 1 Shahrivar and its answer
is due in working days from there. The registry's rows stay those of the day they were loaded:
Hassan's cover still ends 365 days after Wednesday.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot import texts
from persian.jalali import format_jalali
from services.clock import FixedClock
from services.settings import Settings
from tests.bot.conftest import HASSAN, ChatDriver, Harness

JUST_BEFORE = dt.datetime(2024, 8, 21, 20, 29, 30, tzinfo=dt.UTC)  # 23:59:30 Tehran, 1403/05/31
JUST_AFTER = dt.datetime(2024, 8, 21, 20, 40, tzinfo=dt.UTC)  # 00:10 Tehran, 1403/06/01
LOADED_ON = dt.date(2024, 8, 21)


@pytest.fixture
def clock() -> FixedClock:
    """The clock of the demo data (``demo_db``) and of the bot: just before Tehran's midnight."""
    return FixedClock(JUST_BEFORE)


async def hassan(harness: Harness) -> ChatDriver:
    chat = harness.chat(first_name="حسن")
    await chat.verify(*HASSAN)
    return chat


async def test_hassans_cover_is_the_rows_day_on_either_side_of_midnight(
    harness: Harness, db_settings: Settings
) -> None:
    days = db_settings.config.eligibility.pensioner_coverage_days
    until = format_jalali(LOADED_ON + dt.timedelta(days=days))
    assert until == "۱۴۰۴/۰۵/۳۰"
    chat = await hassan(harness)
    before = chat.joined(await chat.send("بیمه دارم؟"))
    assert "حمایت درمانی دارد" in before and until in before, before
    harness.clock.set(JUST_AFTER)
    assert harness.clock.today() == LOADED_ON + dt.timedelta(days=1)
    after = chat.joined(await chat.send("بیمه دارم؟"))
    assert "حمایت درمانی دارد" in after and until in after, after


async def test_at_ten_past_midnight_the_months_count_from_tehrans_day(harness: Harness) -> None:
    chat = await hassan(harness)
    # Before midnight, Mordad: three months ago is Ordibehesht.
    before = chat.joined(await chat.send("فیش سه ماه پیش"))
    assert "فیش مستمری اردیبهشت ۱۴۰۳" in before, before
    harness.clock.set(JUST_AFTER)
    # 00:10 in Tehran is Shahrivar (UTC's date would still say Mordad): three months ago is
    # Khordad, whose slip the data of the day before holds too.
    after = chat.joined(await chat.send("فیش سه ماه پیش"))
    assert "فیش مستمری خرداد ۱۴۰۳" in after, after
    assert "اردیبهشت" not in after


async def test_a_ticket_filed_at_ten_past_midnight_is_dated_in_tehran(harness: Harness) -> None:
    harness.clock.set(JUST_AFTER)
    chat = harness.chat()
    await chat.send("میخوام شکایت ثبت کنم")
    await chat.click(texts.CATEGORY_LABELS["insurance"])
    await chat.send("کارفرمای من حق بیمهٔ سه ماه اخیر را پرداخت نکرده است.")
    await chat.click(texts.BTN_SKIP_ATTACHMENT)
    filed = chat.joined(await chat.click(texts.BTN_YES))
    assert "شکایت شما در سامانهٔ ۱۴۲۰ ثبت شد" in filed, filed
    # Filed Thursday 1 Shahrivar: three working days, Friday left out (the tests' calendar
    # has only the fixed holidays) → Monday 5 Shahrivar. From UTC's Wednesday: Sunday the 4th.
    assert "پاسخ حداکثر تا ۵ شهریور ۱۴۰۳" in filed, filed
    tracked = chat.joined(await chat.send("🔎 پیگیری درخواست"))
    assert "تاریخ ثبت: ۱ شهریور ۱۴۰۳" in tracked, tracked
    assert "۳۱ مرداد" not in tracked
