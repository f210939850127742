"""Tickets in the console (filters, overdue, answer to the user, close) and the dashboard."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import FixedClock
from services.db.models import Outbox
from services.enums import TicketCategory
from services.identity import ChatUserInfo
from services.settings import Settings
from services.tickets import TicketService
from tests.console.conftest import ConsoleFactory
from tests.services.helpers import log_message


async def test_ticket_list_filters_overdue_answer_close(
    console_factory: ConsoleFactory,
    queued: int,
    maryam: ChatUserInfo,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    tickets = TicketService(session, db_settings, clock)
    old = await tickets.create(maryam.id, TicketCategory.INSURANCE, "سابقهٔ من ناقص است")
    clock.advance(dt.timedelta(days=6))
    fresh = await tickets.create(maryam.id, TicketCategory.MEDICAL, "دفترچه")
    await session.commit()
    sara = await console_factory("sara")

    page = await sara.get("/tickets")
    assert page.status_code == 200
    assert f'class="due-overdue" data-code="{old.tracking_code}"' in page.text
    assert f'class="due-on_time" data-code="{fresh.tracking_code}"' in page.text
    overdue = await sara.get("/tickets?due=overdue")
    assert old.tracking_code in overdue.text and fresh.tracking_code not in overdue.text
    medical = await sara.get("/tickets?category=medical&status=open")
    assert fresh.tracking_code in medical.text and old.tracking_code not in medical.text
    assert (await sara.get("/tickets?status=bogus&due=whenever")).status_code == 200

    one = await sara.get(f"/tickets/{old.tracking_code}")
    assert one.status_code == 200 and "سابقهٔ من ناقص است" in one.text
    answered = await sara.post(f"/tickets/{old.tracking_code}/answer", {"text": "سابقه اصلاح شد."})
    assert answered.status_code == 303
    payload = await session.scalar(select(Outbox.payload).order_by(Outbox.id.desc()))
    assert payload == {
        "kind": "ticket_answer",
        "tracking_code": old.tracking_code,
        "text": "سابقه اصلاح شد.",
    }
    page = await sara.get(f"/tickets/{old.tracking_code}")
    assert "سابقه اصلاح شد." in page.text and "در صف ارسال" in page.text
    closed = await sara.post(f"/tickets/{old.tracking_code}/close")
    assert closed.status_code == 303
    again = await sara.post(f"/tickets/{old.tracking_code}/close")
    assert again.status_code == 409
    assert (await sara.get("/tickets/1420-000000")).status_code == 404
    no_csrf = await sara.post(f"/tickets/{fresh.tracking_code}/answer", {"text": "x"}, csrf=False)
    assert no_csrf.status_code == 403


async def test_dashboard_is_for_supervisors(
    console_factory: ConsoleFactory,
    queued: int,
    session: AsyncSession,
    clock: FixedClock,
) -> None:
    for intent, fallback in (("check_eligibility", False), ("pension_slip", False), (None, True)):
        await log_message(
            session,
            clock,
            platform="telegram",
            chat_id=1,
            text="x",
            intent=intent,
            confidence=0.5,
            fallback=fallback,
        )
    sara = await console_factory("sara")
    assert (await sara.get("/dashboard")).status_code == 403
    boss = await console_factory("boss")
    page = await boss.get("/dashboard")
    assert page.status_code == 200
    assert '<svg class="chart" id="messages-chart"' in page.text
    assert '<svg class="chart" id="intents-chart"' in page.text
    assert "استعلام استحقاق درمان" in page.text
    assert "۳۳٫۳٪" in page.text  # fallback rate, with the Persian decimal separator
    assert 'id="kpi-queue"><span>در صف انتظار</span><strong>۱</strong>' in page.text
    audit = await boss.get("/settings/audit")
    assert audit.status_code == 200 and "agent.login" in audit.text
