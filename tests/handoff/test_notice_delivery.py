"""Proactive notices end to end over real HTTP: the scheduler hands them to the outbox, the one
sender delivers them through the real aiogram Bot to the sandbox, each worded in Persian with
who sends it and how to stop it; a kind switched off never reaches the chat."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import texts
from bot.factory import build_bot
from bot.outbound import OutboundSender
from bot.platform import Platform
from bot.render import visible_text
from sandbox.client import SandboxClient
from sandbox.config import DEMO_TELEGRAM_TOKEN
from sandbox.server import SandboxServer
from services import notices
from services.clock import FixedClock
from services.db.models import Person, Ticket, VoluntaryContract
from services.enums import NoticeKind
from services.identity import IdentityService
from services.notices import NoticePreferences, NoticeScheduler
from services.settings import OutboxConfig, Settings
from tests.handoff.conftest import MARYAM


async def test_notices_reach_the_chat_worded_and_signed(
    demo_db: AsyncEngine,
    sandbox: SandboxServer,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    today = clock.today()
    async with SandboxClient(sandbox.url) as control:
        person = await control.create_user("نرگس")
        uid = int(person["id"])
        await control.send_command(uid, "start")
        # Verified (the registry's reminders go to verified users only) as the demo's مریم.
        identity = IdentityService(session, db_settings, clock)
        user = await identity.ensure_user("telegram", uid, "مریم")
        await identity.register_contact(user.id, contact_user_id=uid, phone_number=MARYAM[1])
        await identity.verify(user.id, MARYAM[0])
        # What the reminders are about: her open ticket past its target, an unpaid contract.
        filed = clock.now() - dt.timedelta(days=5)
        session.add(
            Ticket(
                tracking_code="1420-022185",
                chat_user_id=user.id,
                category="insurance",
                text="شکایت آزمایشی دربارهٔ سابقه",
                status="open",
                due_date=today - dt.timedelta(days=1),
                created_at=filed,
                updated_at=filed,
            )
        )
        person_id = await session.scalar(select(Person.id).where(Person.national_id == MARYAM[0]))
        session.add(
            VoluntaryContract(
                person_id=person_id,
                contract_number="14030512",
                contract_date=today - dt.timedelta(days=20),
                wage_base=150_000_000,
                rate_percent=27,
                paid_through=None,
                medical_exam_exempt=False,
            )
        )
        prefs = NoticePreferences(session, clock)
        for kind in (NoticeKind.TICKET_OVERDUE, NoticeKind.VOLUNTARY_PAYMENT):
            await prefs.set(user.id, kind, True)
        # Medical-exam reminders switched on, then off again: that one must not arrive.
        await prefs.set(user.id, NoticeKind.MEDICAL_EXAM, True)
        await session.commit()
        for kind, subject, payload in (
            (
                NoticeKind.TICKET_OVERDUE,
                "1420-022185",
                notices.notice_payload(
                    NoticeKind.TICKET_OVERDUE,
                    code="1420-022185",
                    due=today.isoformat(),
                    new_date=(today + dt.timedelta(days=2)).isoformat(),
                ),
            ),
            (
                NoticeKind.VOLUNTARY_PAYMENT,
                "V1",
                notices.notice_payload(
                    NoticeKind.VOLUNTARY_PAYMENT, number="14030512", deadline=today.isoformat()
                ),
            ),
            (
                NoticeKind.MEDICAL_EXAM,
                "V1",
                notices.notice_payload(
                    NoticeKind.MEDICAL_EXAM, number="14030512", deadline=today.isoformat()
                ),
            ),
        ):
            assert await notices.record(
                session,
                clock,
                db_settings.config.notices,
                chat_user_id=user.id,
                kind=kind,
                subject=subject,
                due_on=today,
                payload=payload,
            )
        await prefs.set(user.id, NoticeKind.MEDICAL_EXAM, False)
        await notices.request_decided(
            session,
            clock,
            db_settings,
            chat_user_id=user.id,
            tracking_code="5872061341",
            relation="son",
            approved=True,
            covered_from=today,
        )
        # A rejection carries the desk's reason key and the agent's note.
        await notices.request_decided(
            session,
            clock,
            db_settings,
            chat_user_id=user.id,
            tracking_code="5872061342",
            relation="daughter",
            approved=False,
            reason="documents_missing",
            note="تصویر شناسنامه خوانا نیست.",
        )
        await session.commit()
        # The decisions went out at once and took the user's due notices with it; a scheduler's
        # round finds nothing left (and the switched-off reminder dropped).
        assert await NoticeScheduler(session_factory, db_settings, clock).release() == 0

        bot = build_bot(Platform.TELEGRAM, DEMO_TELEGRAM_TOKEN, sandbox.api_base)
        sender = OutboundSender(
            session_factory=session_factory,
            bots={"telegram": bot},
            clock=clock,
            settings=db_settings,
            config=OutboxConfig(per_chat_interval_seconds=0),
        )
        try:
            await sender.drain(within=30)
        finally:
            await bot.session.close()
        shown = [
            visible_text(m["rendered_text"] or "")
            for m in await control.messages(uid, sender="bot")
        ]
    assert len(shown) == 4, shown
    overdue, payment, decided, rejected = shown
    for text in shown:
        assert text.endswith(texts.NOTICE_FOOTER)
    assert "پسر" in decided and "\u2066۵۸۷۲۰۶۱۳۴۱\u2069" in decided
    assert "۱۳ مرداد ۱۴۰۳" in decided  # the clock's today, in Jalali
    assert (
        "دختر" in rejected and "\u2066۵۸۷۲۰۶۱۳۴۲\u2069" in rejected and "پذیرفته نشد" in rejected
    )
    assert texts.DEPENDANT_REJECT_REASONS["documents_missing"] in rejected
    assert "توضیح کارشناس: تصویر شناسنامه خوانا نیست." in rejected
    assert "به شعبه مراجعه کنید" in rejected
    assert "پوزش" in overdue and "\u2066۱۴۲۰-۰۲۲۱۸۵\u2069" in overdue
    assert "۱۵ مرداد ۱۴۰۳" in overdue  # the new date
    assert "۲۰ روز" in payment and db_settings.config.contact_centre.eservices_url in payment
    assert not any("معاینهٔ پزشکی" in text for text in shown)
