"""Issue 18 around the desk: counts for the menu, the audit log in Persian with filters, the
bot's answers in the transcript, chat files downloaded and audited, the dashboard's rate line
with gaps, and the demo's canned replies and labels."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from console.charts import messages_chart
from demo.desk import DEMO_CANNED_REPLIES, DEMO_LABELS, ensure_demo_catalogue
from sandbox.media import make_png
from services.agents import AgentRole
from services.clock import FixedClock
from services.dashboard import DashboardService, DayIntents
from services.db.handoff_models import CannedReply, IntentLogEntry, Label
from services.db.models import AuditLog, Ticket
from services.dependants import DependantsService
from services.enums import MessageKind, Relation, TicketCategory
from services.identity import ChatUserInfo
from services.intent_log import IntentLogWriter
from services.settings import Settings
from services.tickets import TicketService
from tests.console.conftest import AgentFactory, ConsoleFactory
from tests.handoff.conftest import Handoff
from tests.services.helpers import log_message, make_national_id


async def test_counts_for_the_menu_and_title(
    console_factory: ConsoleFactory,
    queued: int,
    maryam: ChatUserInfo,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    sara = await console_factory("sara")
    first = (await sara.get("/counts", headers={"accept": "application/json"})).json()
    assert first == {
        "queue": 1,
        "mine": 0,
        "requests": 0,
        "tickets": 0,
        "newest_queued": queued,
    }
    handoff = Handoff(session, db_settings, clock)
    assert (await sara.post(f"/conversations/{queued}/take")).status_code == 303
    await handoff.escalation.record_user_message(queued, text="هنوز منتظرم")
    await DependantsService(session, db_settings, clock).record_application(
        maryam.id, Relation.SON, make_national_id(812), clock.today() - dt.timedelta(days=400)
    )
    ticket = await TicketService(session, db_settings, clock).create(
        maryam.id, TicketCategory.OTHER, "پرسشی دارم"
    )
    await session.commit()
    counts = (await sara.get("/counts")).json()
    assert counts["queue"] == 0 and counts["mine"] == 1 and counts["requests"] == 1
    assert counts["tickets"] == 0  # not due yet
    # Its answer date comes (moved here rather than the clock, which would end the session).
    row = await session.scalar(select(Ticket).where(Ticket.tracking_code == ticket.tracking_code))
    assert row is not None
    row.due_date = clock.today()
    await session.commit()
    assert (await sara.get("/counts")).json()["tickets"] == 1
    # Sara answers: nothing of hers is waiting any more.
    assert (await sara.post(f"/conversations/{queued}/reply", {"text": "بررسی شد."})).status_code
    assert (await sara.get("/counts")).json()["mine"] == 0
    assert ticket.tracking_code
    page = await sara.get("/queue")
    assert 'data-counts="/counts"' in page.text and 'id="count-queue"' in page.text


async def test_audit_log_reads_in_persian_with_filters(
    console_factory: ConsoleFactory,
    queued: int,
    session: AsyncSession,
    clock: FixedClock,
) -> None:
    sara = await console_factory("sara")
    await sara.post(f"/conversations/{queued}/take")
    clock.advance(dt.timedelta(days=2))
    boss = await console_factory("boss")
    page = await boss.get("/settings/audit")
    assert page.status_code == 200
    assert "برداشتن گفتگو از صف" in page.text and "ورود به میز کار" in page.text
    assert "کارشناس sara" in page.text  # the agent's display name, not «agent:sara»
    assert ">conversation.take<" not in page.text

    only_take = await boss.get("/settings/audit", params={"action": "conversation.take"})
    assert only_take.text.count('data-action="conversation.take"') == 1
    assert 'data-action="agent.login"' not in only_take.text
    family = await boss.get("/settings/audit", params={"action": "agent"})
    assert 'data-action="agent.login"' in family.text
    assert 'data-action="conversation.take"' not in family.text
    by_boss = await boss.get("/settings/audit", params={"actor": "agent:boss"})
    assert 'data-action="agent.login"' in by_boss.text
    assert 'data-action="conversation.take"' not in by_boss.text
    today = clock.today().isoformat()
    recent = await boss.get("/settings/audit", params={"date_from": today})
    assert 'data-action="conversation.take"' not in recent.text  # two days ago
    assert 'data-action="agent.login"' in recent.text  # boss, today
    # Jalali days in Persian digits work too.
    jalali = await boss.get("/settings/audit", params={"date_to": "۱۳۹۰/۰۱/۰۱"})
    assert "کاری با این ویژگی‌ها ثبت نشده است" in jalali.text
    agent = await console_factory("sara")  # signed in again (two days passed)
    assert (await agent.get("/settings/audit")).status_code == 403


async def test_the_transcript_shows_the_bots_answers(
    console_factory: ConsoleFactory,
    agent_factory: AgentFactory,
    maryam: ChatUserInfo,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    await agent_factory("boss", AgentRole.SUPERVISOR)
    await log_message(
        session,
        clock,
        platform=maryam.platform,
        chat_id=maryam.platform_user_id,
        text="کد ملی من ۶۵۰۸۱۲۴۲۲۶ است؛ بیمه دارم؟",
        intent="check_eligibility",
        confidence=0.9,
        fallback=False,
    )
    session.add(
        IntentLogEntry(
            platform=maryam.platform,
            chat_id=maryam.platform_user_id,
            text="مریم رضایی: حمایت درمانی دارد",
            intent=None,
            confidence=None,
            is_fallback=False,
            from_bot=True,
            created_at=clock.now(),
        )
    )
    await session.commit()
    handoff = Handoff(session, db_settings, clock)
    outcome = await handoff.escalation.escalate(
        platform=maryam.platform,
        chat_id=maryam.platform_user_id,
        chat_user_id=maryam.id,
        ticket_text="گفتگو",
    )
    await session.commit()
    conversation_id = getattr(outcome, "conversation_id", None)
    assert conversation_id is not None
    boss = await console_factory("boss")
    page = await boss.get(f"/conversations/{conversation_id}")
    assert page.status_code == 200
    assert 'class="bot-line"' in page.text and "مریم رضایی: حمایت درمانی دارد" in page.text
    # The user's line is masked as before.
    assert "۶۵۰*****۲۶" in page.text or "650*****26" in page.text


async def test_bot_answers_stay_out_of_the_dashboard(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    writer = IntentLogWriter(session_factory, clock)
    writer.record(
        platform="telegram", chat_id=5, text="سلام", intent="greet", confidence=0.9, fallback=False
    )
    writer.record_answer(platform="telegram", chat_id=5, text="سلام، در خدمتم.")
    await writer.close()
    rows = (await session.execute(select(IntentLogEntry.text, IntentLogEntry.from_bot))).all()
    assert sorted(tuple(r) for r in rows) == [("سلام", False), ("سلام، در خدمتم.", True)]
    overview = await DashboardService(session, db_settings, clock).overview(days=1)
    assert overview.days[-1].total == 1  # the user's line only


async def test_chat_files_download_and_each_opening_is_audited(
    console_factory: ConsoleFactory,
    queued: int,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    handoff = Handoff(session, db_settings, clock)
    png = make_png(30, 20)
    message_id = await handoff.escalation.record_user_message(
        queued, kind=MessageKind.PHOTO, file_id="AgAD", mime_type="image/png", content=png
    )
    await session.commit()
    sara = await console_factory("sara")
    await sara.post(f"/conversations/{queued}/take")
    url = f"/conversations/{queued}/files/{message_id}"
    page = await sara.get(f"/conversations/{queued}")
    assert f'href="{url}?download=1"' in page.text
    inline = await sara.get(url)
    assert inline.headers["content-type"] == "image/png" and inline.content == png
    download = await sara.get(url + "?download=1")
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.content == png
    opened = list(
        await session.scalars(
            select(AuditLog.actor).where(AuditLog.action == "conversation.open_attachment")
        )
    )
    assert opened == ["agent:sara", "agent:sara"]


def test_the_rate_line_breaks_on_days_without_messages() -> None:
    day = dt.date(2026, 12, 1)
    days = [
        DayIntents(day, 10, 5, {}),
        DayIntents(day + dt.timedelta(days=1), 0, 0, {}),
        DayIntents(day + dt.timedelta(days=2), 4, 1, {}),
        DayIntents(day + dt.timedelta(days=3), 8, 2, {}),
        DayIntents(day + dt.timedelta(days=4), 0, 0, {}),
    ]
    chart = messages_chart(days)
    # The lone first day is a dot; days 3–4 are one line; no point sits at 0 % for the gaps.
    assert len(chart.rate_dots) == 1 and len(chart.rate_lines) == 1
    assert len(chart.rate_lines[0].split()) == 2
    zero_y = chart.baseline
    assert all(float(p.split(",")[1]) < zero_y for p in chart.rate_lines[0].split())
    assert chart.rate_dots[0][1] < zero_y
    assert not messages_chart([DayIntents(day, 0, 0, {})]).rate_lines


async def test_demo_catalogue_is_idempotent(session: AsyncSession, clock: FixedClock) -> None:
    added = await ensure_demo_catalogue(session, clock)
    assert added == (len(DEMO_CANNED_REPLIES), len(DEMO_LABELS))
    assert await ensure_demo_catalogue(session, clock) == (0, 0)
    await session.commit()
    codes = set(await session.scalars(select(CannedReply.short_code)))
    assert {"greeting", "dependant-documents", "closing"} <= codes
    assert "افراد تحت تکفل" in set(await session.scalars(select(Label.name)))
