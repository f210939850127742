"""One today for the demo data, the bot and the tests (tests/e2e/conftest.py).

A run begun at 20:29 UTC, 23:59 in Tehran, once loaded the demo data on one day and checked
Hassan's cover, 365 days from it, against the next day's date. Both commands of the product now
start on the session's clock (``TAMIN_CLOCK_START``), and the tests' expectations use its day.
"""

from __future__ import annotations

import datetime as dt

import pytest

from persian.jalali import format_jalali
from sandbox import SandboxClient
from services.clock import BARE_DATE_TIME
from services.settings import Settings
from tests.e2e.conftest import (
    HASSAN,
    RunningProduct,
    product_clock_start,
    product_today,
)
from tests.e2e.test_dialogues import verified_chat

pytestmark = pytest.mark.e2e


def test_the_product_runs_on_the_sessions_clock(product: RunningProduct) -> None:
    start = product_clock_start()
    assert start.date() == product_today() and start.timetz() == BARE_DATE_TIME.replace(
        tzinfo=start.tzinfo
    )
    # demo-data printed the day it loaded; the bot process said where its clock starts.
    assert product.demo_day == product_today()
    said = product.stderr_path.read_text(encoding="utf-8", errors="replace")
    assert f"this process's clock starts at {start.isoformat()}" in said


async def test_hassans_cover_ends_365_days_after_the_products_day(
    client: SandboxClient, settings: Settings
) -> None:
    chat = await verified_chat(client, HASSAN, "حسن")
    text = (await chat.say("بیمه دارم؟")).text
    days = settings.config.eligibility.pensioner_coverage_days
    until = product_today() + dt.timedelta(days=days)
    assert "حمایت درمانی دارد" in text and format_jalali(until) in text, text
