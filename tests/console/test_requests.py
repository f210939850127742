"""The dependant requests desk (issue 18): decide a request, tell the user, search, reveal.

Service level (DependantsService.approve/reject, notify_request_decided: the decision reaches
the user as a ``request_decided`` notice, through its opt-in switch and the quiet hours) and
the console's pages over ASGI, on SQLite and PostgreSQL with the demo personas.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts as bot_texts
from bot.outbound import notice_text
from bot.platform import Platform
from bot.render import Renderer, visible_text
from demo import MARYAM_NID
from services import notices
from services.agents import AgentRole
from services.clock import FixedClock
from services.db.models import AuditLog, Dependant, DependantRequest, Outbox
from services.db.notice_models import Notice
from services.dependants import DependantsService
from services.eligibility import EligibilityService
from services.enums import (
    DependantRejectReason,
    DependantRequestStatus,
    NoticeKind,
    NoticeStatus,
    OutboxKind,
    Relation,
    TicketCategory,
)
from services.errors import AlreadyDependant, DependantRequestDecided, InvalidDecision
from services.identity import ChatUserInfo
from services.settings import Settings
from services.tickets import TicketService
from tests.console.conftest import AgentFactory, ConsoleFactory
from tests.services.helpers import make_national_id

SON = make_national_id(611)
FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def fa(text: str) -> str:
    return text.translate(FA)


async def file_son(
    session: AsyncSession, settings: Settings, clock: FixedClock, user: ChatUserInfo
) -> str:
    """Maryam applies to add a four-year-old son; return the tracking code."""
    application = await DependantsService(session, settings, clock).record_application(
        user.id, Relation.SON, SON, clock.today() - dt.timedelta(days=4 * 366)
    )
    await session.commit()
    return application.tracking_code


async def outbox_payloads(session: AsyncSession, chat_id: int) -> list[dict[str, object]]:
    rows = await session.scalars(select(Outbox.payload).where(Outbox.chat_id == chat_id))
    return [dict(p) for p in rows]


def notice_seen(payload: dict[str, object], settings: Settings) -> str:
    """The notice as the user reads it (``bot.outbound`` adds the footer to every notice)."""
    template, values = notice_text(payload, settings)
    rendered = Renderer(Platform.TELEGRAM)(template + "\n\n" + bot_texts.NOTICE_FOOTER, **values)
    return visible_text(rendered.text)


async def test_approve_puts_the_dependant_in_the_registry_covered_and_tells_the_user(
    maryam: ChatUserInfo, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    code = await file_son(session, db_settings, clock, maryam)
    service = DependantsService(session, db_settings, clock)
    before = await EligibilityService(session, db_settings, clock).inquire(maryam.id)
    assert SON not in {row.national_id for row in before.rows}

    # The code may be typed in Persian digits.
    decided = await service.approve(
        fa(code), actor="agent:sara", first_name=" علی ", last_name="رضایی"
    )
    await session.commit()
    assert decided.status is DependantRequestStatus.APPROVED
    assert decided.decided_at.date() == clock.today()
    assert decided.notified is True

    dependant = await session.scalar(select(Dependant).where(Dependant.national_id == SON))
    assert dependant is not None and dependant.first_name == "علی"
    assert dependant.relation == "son" and dependant.gender == "male"
    after = await EligibilityService(session, db_settings, clock).inquire(maryam.id)
    son = next(row for row in after.rows if row.national_id == SON)
    assert son.covered and son.coverage_until is not None
    assert son.coverage_until >= clock.today()

    # One path: the decision is a request_decided notice, handed to the outbox at once
    # (10:00 Tehran is outside the quiet hours), covered from the decision date.
    (payload,) = await outbox_payloads(session, maryam.platform_user_id)
    assert payload["kind"] == OutboxKind.NOTICE.value
    assert payload["notice"] == NoticeKind.REQUEST_DECIDED.value
    assert payload["code"] == code and payload["approved"] is True
    assert payload["covered_from"] == clock.today().isoformat()
    notice = await session.scalar(select(Notice).where(Notice.subject == code))
    assert notice is not None and notice.status == NoticeStatus.SENT.value
    text = notice_seen(payload, db_settings)
    # The code is isolated (LRI … PDI) so that it reads left to right inside Persian text.
    assert f"کد رهگیری \u2066{fa(code)}\u2069" in text and "تأیید شد" in text and "پسر" in text
    assert "۱۴۰۳" in text  # the cover's start date, Jalali
    assert bot_texts.NOTICE_FOOTER in text

    with pytest.raises(DependantRequestDecided):
        await service.reject(
            code, actor="agent:reza", reason=DependantRejectReason.DOCUMENTS_MISSING
        )
    actions = list(await session.scalars(select(AuditLog.action)))
    assert "dependants.approve" in actions


async def test_reject_with_a_reason_and_note_reaches_the_user(
    maryam: ChatUserInfo, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    code = await file_son(session, db_settings, clock, maryam)
    service = DependantsService(session, db_settings, clock)
    with pytest.raises(InvalidDecision):
        # «Other» says nothing without the agent's words.
        await service.reject(code, actor="agent:sara", reason=DependantRejectReason.OTHER)
    decided = await service.reject(
        code,
        actor="agent:sara",
        reason=DependantRejectReason.DOCUMENTS_MISSING,
        note="تصویر شناسنامه خوانا نیست.",
    )
    await session.commit()
    assert decided.reject_reason is DependantRejectReason.DOCUMENTS_MISSING
    assert await session.scalar(select(Dependant).where(Dependant.national_id == SON)) is None
    assert decided.notified is True
    (payload,) = await outbox_payloads(session, maryam.platform_user_id)
    assert payload["notice"] == NoticeKind.REQUEST_DECIDED.value
    assert payload["reason"] == "documents_missing" and payload["approved"] is False
    text = notice_seen(payload, db_settings)
    assert "پذیرفته نشد" in text and fa(code) in text
    assert bot_texts.DEPENDANT_REJECT_REASONS["documents_missing"] in text
    assert "تصویر شناسنامه خوانا نیست." in text
    assert "به شعبه مراجعه کنید" in text and bot_texts.NOTICE_FOOTER in text


async def test_a_decision_honours_the_users_switch_and_the_quiet_hours(
    maryam: ChatUserInfo,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
    agent_factory: AgentFactory,
    console_factory: ConsoleFactory,
) -> None:
    await agent_factory("sara")
    sara = await console_factory("sara")
    # Switched off: decided all the same, nothing is sent, the desk says why.
    code = await file_son(session, db_settings, clock, maryam)
    await notices.NoticePreferences(session, clock).set(
        maryam.id, NoticeKind.REQUEST_DECIDED, False
    )
    await session.commit()
    refused = await sara.post(f"/requests/{code}/reject", {"reason": "conditions_not_met"})
    assert refused.status_code == 303
    flashed = await sara.get(refused.headers["location"])
    assert "کاربر اعلان نتیجهٔ درخواست‌ها را خاموش کرده است" in flashed.text
    row = await DependantsService(session, db_settings, clock).request_row(code)
    await session.refresh(row)
    assert row.status == DependantRequestStatus.REJECTED.value
    assert await outbox_payloads(session, maryam.platform_user_id) == []
    page = await sara.get(f"/requests/{code}")
    assert "کاربر این اعلان را خاموش کرده است" in page.text

    # Switched on again, decided at 23:00 Tehran: the notice waits for 08:00, then goes once.
    await notices.NoticePreferences(session, clock).set(
        maryam.id, NoticeKind.REQUEST_DECIDED, True
    )
    await session.commit()
    late = FixedClock(clock.now().replace(hour=23))
    second = await DependantsService(session, db_settings, late).record_application(
        maryam.id, Relation.DAUGHTER, make_national_id(612), late.today() - dt.timedelta(days=900)
    )
    await session.commit()
    decided = await DependantsService(session, db_settings, late).reject(
        second.tracking_code,
        actor="agent:sara",
        reason=DependantRejectReason.OTHER,
        note="گواهی تولد فرستاده نشده است.",
    )
    await session.commit()
    assert decided.notified is True
    assert await outbox_payloads(session, maryam.platform_user_id) == []
    waiting = await sara.get(f"/requests/{second.tracking_code}")
    assert "پس از ساعت‌های سکوت فرستاده می‌شود" in waiting.text
    morning = FixedClock(late.now().replace(hour=8) + dt.timedelta(days=1))
    assert await notices.release_now(session, morning, db_settings.config.notices, maryam.id) == 1
    await session.commit()
    (payload,) = await outbox_payloads(session, maryam.platform_user_id)
    text = notice_seen(payload, db_settings)
    assert fa(second.tracking_code) in text and "گواهی تولد فرستاده نشده است." in text
    assert bot_texts.DEPENDANT_REJECT_REASONS["other"] in text
    assert await notices.release_now(session, morning, db_settings.config.notices, maryam.id) == 0
    shown = await sara.get(f"/requests/{second.tracking_code}")
    assert "در صف ارسال" in shown.text


async def test_approve_refuses_a_person_already_covered_and_keeps_the_request_open(
    maryam: ChatUserInfo, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    code = await file_son(session, db_settings, clock, maryam)
    service = DependantsService(session, db_settings, clock)
    with pytest.raises(InvalidDecision):
        await service.approve(code, actor="agent:sara", first_name="", last_name="رضایی")
    # Meanwhile the branch registered him some other way.
    row = await service.request_row(code)
    insured = await session.scalar(
        select(Dependant.insured_id).where(Dependant.national_id != SON).limit(1)
    )
    session.add(
        Dependant(
            insured_id=insured,
            national_id=SON,
            first_name="علی",
            last_name="رضایی",
            relation="son",
            birth_date=row.birth_date,
            gender="male",
        )
    )
    await session.flush()
    with pytest.raises(AlreadyDependant):
        await service.approve(code, actor="agent:sara", first_name="علی", last_name="رضایی")
    await session.refresh(row)
    assert row.status == DependantRequestStatus.UNDER_BRANCH_REVIEW.value
    assert await outbox_payloads(session, maryam.platform_user_id) == []


async def test_requests_desk_pages_filters_reveal_and_decisions(
    maryam: ChatUserInfo,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
    agent_factory: AgentFactory,
    console_factory: ConsoleFactory,
) -> None:
    await agent_factory("sara")
    await agent_factory("reza")
    await agent_factory("boss", AgentRole.SUPERVISOR)
    code = await file_son(session, db_settings, clock, maryam)
    sara = await console_factory("sara")
    reza = await console_factory("reza")

    listed = await sara.get("/requests")
    assert listed.status_code == 200 and f'data-code="{code}"' in listed.text
    assert "۶۵۰*****۲۶" in listed.text and MARYAM_NID not in listed.text
    assert f'data-code="{code}"' not in (await sara.get("/requests?status=approved")).text
    assert f'data-code="{code}"' in (await sara.get("/requests?relation=son")).text
    assert f'data-code="{code}"' not in (await sara.get("/requests?relation=father")).text
    assert f'data-code="{code}"' in (await sara.get("/requests?assigned=unassigned")).text
    assert f'data-code="{code}"' not in (await sara.get("/requests?assigned=mine")).text
    today = clock.today()
    tomorrow = fa((today + dt.timedelta(days=1)).isoformat())
    assert f'data-code="{code}"' not in (await sara.get(f"/requests?date_from={tomorrow}")).text
    assert f'data-code="{code}"' in (await sara.get(f"/requests?date_to={today}")).text

    page = await sara.get(f"/requests/{code}")
    assert page.status_code == 200 and "۶۵۰*****۲۶" in page.text
    assert "(۴ سال تمام)" in page.text
    # The heading isolates the code so that it reads left to right inside Persian text.
    assert f'<bdi dir="ltr" class="code">{fa(code)}</bdi>' in page.text
    assert f"/requests/{code}/reveal" not in page.text
    assert (await sara.post(f"/requests/{code}/reveal")).status_code == 403

    assert (await sara.post(f"/requests/{code}/take")).status_code == 303
    assert f'data-code="{code}"' in (await sara.get("/requests?assigned=mine")).text
    assert f'data-code="{code}"' in (await reza.get("/requests?assigned=others")).text
    shown = await sara.post(f"/requests/{code}/reveal")
    assert shown.status_code == 200 and fa(MARYAM_NID) in shown.text and fa(SON) in shown.text
    reveals = await session.scalars(
        select(AuditLog.actor).where(AuditLog.action == "dependants.reveal_identity")
    )
    assert list(reveals) == ["agent:sara"]

    refused = await sara.post(f"/requests/{code}/reject", {"reason": ""})
    assert refused.status_code == 303
    assert "لطفاً دلیل رد را" in (await sara.get(refused.headers["location"])).text
    incomplete = await sara.post(f"/requests/{code}/approve", {"first_name": "علی"})
    assert incomplete.status_code == 400 and "نام و نام خانوادگی" in incomplete.text
    approved = await sara.post(
        f"/requests/{code}/approve", {"first_name": "علی", "last_name": "رضایی"}
    )
    assert approved.status_code == 303
    after = await sara.get(f"/requests/{code}")
    assert "تأییدشده" in after.text and "agent:sara" in after.text
    assert 'id="approve-form"' not in after.text
    again = await reza.post(f"/requests/{code}/approve", {"first_name": "x", "last_name": "y"})
    assert again.status_code == 409
    assert f'data-code="{code}"' in (await sara.get("/requests?status=approved")).text


async def test_search_by_code_national_id_mobile_and_text(
    maryam: ChatUserInfo,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
    agent_factory: AgentFactory,
    console_factory: ConsoleFactory,
) -> None:
    await agent_factory("sara")
    code = await file_son(session, db_settings, clock, maryam)
    ticket = await TicketService(session, db_settings, clock).create(
        maryam.id, TicketCategory.MEDICAL, "دفترچهٔ پسرم اعتبار ندارد"
    )
    await session.commit()
    sara = await console_factory("sara")
    ticket_code = ticket.tracking_code  # 1420-NNNNNN

    async def found(q: str) -> tuple[bool, bool]:
        page = await sara.get("/search", params={"q": q})
        assert page.status_code == 200
        return (f'data-code="{ticket_code}"' in page.text, f'data-code="{code}"' in page.text)

    assert await found(fa(ticket_code)) == (True, False)  # Persian digits, with the dash
    assert await found(ticket_code.replace("-", "")) == (True, False)  # without it
    assert await found(ticket_code[-6:]) == (True, False)  # its six digits
    assert await found(fa(code)) == (False, True)
    assert await found("۰۹۱۲***۴۵۶۷") == (True, True)  # a masked mobile, as the console shows
    assert await found("0912 123 4567") == (True, True)
    assert await found(fa(MARYAM_NID)) == (True, True)
    assert await found("اعتبار ندارد") == (True, False)
    assert await found("هیچ‌چیز") == (False, False)
    page = await sara.get("/search", params={"q": "هیچ‌چیز"})
    assert "چیزی پیدا نشد" in page.text

    audited = list(
        await session.execute(
            select(AuditLog.action, AuditLog.subject).where(AuditLog.action.like("desk.search%"))
        )
    )
    assert [a for a, _ in audited] == [
        "desk.search_mobile",
        "desk.search_mobile",
        "desk.search_national_id",
    ]
    # The audit log keeps masked identifiers only.
    assert all(MARYAM_NID not in (s or "") and "09121234567" not in (s or "") for _, s in audited)


async def test_request_row_counts_documents_and_the_page_lists_them(
    maryam: ChatUserInfo,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
    agent_factory: AgentFactory,
    console_factory: ConsoleFactory,
) -> None:
    await agent_factory("sara")
    code = await file_son(session, db_settings, clock, maryam)
    service = DependantsService(session, db_settings, clock)
    await service.add_document(
        code, platform="telegram", file_id="AgAD-photo", kind="photo", mime_type="image/jpeg"
    )
    await service.add_document(
        code,
        platform="telegram",
        file_id="BQAD-doc",
        kind="document",
        file_name="birth.pdf",
        mime_type="application/pdf",
    )
    await session.commit()
    sara = await console_factory("sara")
    page = await sara.get(f"/requests/{code}")
    assert f'src="/requests/{code}/files/0"' in page.text
    assert f'href="/requests/{code}/files/1?download=1"' in page.text
    assert "birth.pdf" in page.text
    # No Bot API token in these settings: the file is unavailable, politely, and the
    # opening is audited all the same.
    missing = await sara.get(f"/requests/{code}/files/0")
    assert missing.status_code == 502 and "در دسترس نیست" in missing.text
    assert (await sara.get(f"/requests/{code}/files/7")).status_code == 403
    opened = await session.scalars(
        select(AuditLog.subject).where(AuditLog.action == "dependants.open_document")
    )
    assert list(opened) == [code]
    rows = await session.scalars(select(DependantRequest.id))
    assert len(list(rows)) == 1
