"""Proactive notices: opt-in, quiet hours, the rules, and once-only with several schedulers."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services import notices
from services.clock import TEHRAN, FixedClock
from services.db import create_engine, create_session_factory
from services.db.models import Outbox, Ticket, VoluntaryContract
from services.db.notice_models import Notice
from services.enums import NoticeKind, NoticeStatus, OutboxKind
from services.notices import NoticePreferences, NoticeScheduler, is_quiet, next_allowed
from services.retention import RetentionService
from services.settings import NoticesConfig, Settings
from tests.services.helpers import add_person, make_national_id, verified_user

CONFIG = NoticesConfig()
ROOT = Path(__file__).resolve().parents[2]


def tehran(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=TEHRAN)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (tehran(2024, 8, 3, 21, 59), tehran(2024, 8, 3, 21, 59)),
        (tehran(2024, 8, 3, 22, 0), tehran(2024, 8, 4, 8, 0)),
        (tehran(2024, 8, 3, 23, 0), tehran(2024, 8, 4, 8, 0)),
        (tehran(2024, 8, 4, 7, 59), tehran(2024, 8, 4, 8, 0)),
        (tehran(2024, 8, 4, 8, 0), tehran(2024, 8, 4, 8, 0)),
    ],
)
def test_quiet_hours_move_a_notice_to_eight(moment: dt.datetime, expected: dt.datetime) -> None:
    assert next_allowed(moment, CONFIG) == expected
    assert is_quiet(moment, CONFIG) == (moment != expected)


def test_quiet_hours_are_tehran_time() -> None:
    # 19:30 UTC is 23:00 in Tehran (UTC+3:30).
    utc = dt.datetime(2024, 8, 3, 19, 30, tzinfo=dt.UTC)
    assert is_quiet(utc, CONFIG)
    assert next_allowed(utc, CONFIG) == tehran(2024, 8, 4, 8, 0)


async def _subscriber(
    engine: AsyncEngine,
    session: AsyncSession,
    settings: Settings,
    clock: FixedClock,
    seed: int,
    *,
    coverage_until: dt.date | None,
    kinds: tuple[NoticeKind, ...] = (NoticeKind.COVER_ENDING,),
) -> int:
    national_id = make_national_id(seed)
    mobile = f"0912{seed:07d}"
    await add_person(engine, national_id=national_id, mobile=mobile, coverage_until=coverage_until)
    user = await verified_user(session, settings, clock, national_id, mobile)
    for kind in kinds:
        await NoticePreferences(session, clock).set(user.id, kind, True)
    await session.commit()
    return user.id


async def _outbox(session: AsyncSession) -> list[Outbox]:
    session.expire_all()
    return list((await session.scalars(select(Outbox).order_by(Outbox.id))).all())


async def test_defaults_answers_on_reminders_off(
    engine: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await _subscriber(engine, session, db_settings, clock, 1, coverage_until=None, kinds=())
    prefs = await NoticePreferences(session, clock).all(user)
    assert {k for k, on in prefs.items() if on} == {
        NoticeKind.TICKET_ANSWERED,
        NoticeKind.REQUEST_DECIDED,
    }


async def test_a_notice_switched_off_is_not_sent(
    engine: AsyncEngine,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    ending = clock.today() + dt.timedelta(days=10)
    # Never switched on (off by default), and switched on then off again.
    await _subscriber(engine, session, db_settings, clock, 2, coverage_until=ending, kinds=())
    off = await _subscriber(engine, session, db_settings, clock, 3, coverage_until=ending)
    await NoticePreferences(session, clock).set(off, NoticeKind.COVER_ENDING, False)
    await session.commit()
    on = await _subscriber(engine, session, db_settings, clock, 4, coverage_until=ending)
    scheduler = NoticeScheduler(session_factory, db_settings, clock)
    assert await scheduler.tick() == 1
    [sent] = await _outbox(session)
    assert sent.payload["notice"] == "cover_ending"
    assert sent.payload["until"] == ending.isoformat() and sent.payload["days"] == 10
    notice = await session.scalar(select(Notice).where(Notice.chat_user_id == on))
    assert notice is not None and notice.outbox_id == sent.id
    # Once only: later rounds find it sent.
    clock.advance(dt.timedelta(hours=1))
    assert await scheduler.tick() == 0
    # Switched off after it was planned but before its moment: dropped, not sent.
    await NoticePreferences(session, clock).set(on, NoticeKind.COVER_ENDING, False)
    await session.commit()


async def test_switched_off_between_planning_and_sending_is_dropped(
    engine: AsyncEngine,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    clock.set(tehran(2024, 8, 3, 23, 0))
    ending = clock.today() + dt.timedelta(days=3)
    user = await _subscriber(engine, session, db_settings, clock, 5, coverage_until=ending)
    scheduler = NoticeScheduler(session_factory, db_settings, clock)
    assert await scheduler.tick() == 0  # quiet hours: planned only
    await NoticePreferences(session, clock).set(user, NoticeKind.COVER_ENDING, False)
    await session.commit()
    clock.set(tehran(2024, 8, 4, 8, 0))
    assert await scheduler.tick() == 0
    assert await _outbox(session) == []
    status = await session.scalar(select(Notice.status).where(Notice.chat_user_id == user))
    assert status == NoticeStatus.DROPPED.value


async def test_a_notice_due_at_23_waits_for_8(
    engine: AsyncEngine,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    clock.set(tehran(2024, 8, 3, 23, 0))
    ending = clock.today() + dt.timedelta(days=14)
    await _subscriber(engine, session, db_settings, clock, 6, coverage_until=ending)
    scheduler = NoticeScheduler(session_factory, db_settings, clock)
    assert await scheduler.tick() == 0
    notice = await session.scalar(select(Notice))
    assert notice is not None and notice.not_before == tehran(2024, 8, 4, 8, 0)
    for moment in (
        tehran(2024, 8, 3, 23, 59),
        tehran(2024, 8, 4, 3, 0),
        tehran(2024, 8, 4, 7, 59),
    ):
        clock.set(moment)
        assert await scheduler.release() == 0
    assert await _outbox(session) == []
    clock.set(tehran(2024, 8, 4, 8, 0))
    assert await scheduler.release() == 1
    [sent] = await _outbox(session)
    assert sent.created_at == tehran(2024, 8, 4, 8, 0)


async def test_cover_notice_only_within_the_window_and_not_for_pensioners(
    engine: AsyncEngine,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    today = clock.today()
    await _subscriber(
        engine, session, db_settings, clock, 7, coverage_until=today + dt.timedelta(days=15)
    )
    await _subscriber(
        engine, session, db_settings, clock, 8, coverage_until=today - dt.timedelta(days=1)
    )
    assert await NoticeScheduler(session_factory, db_settings, clock).tick() == 0


async def _contract(
    engine: AsyncEngine, user_seed: int, contract_date: dt.date, *, exempt: bool, paid: bool
) -> None:
    from services.db.models import Person

    async with engine.begin() as conn:
        person_id = await conn.scalar(
            select(Person.id).where(Person.national_id == make_national_id(user_seed))
        )
        await conn.execute(
            insert(VoluntaryContract).values(
                person_id=person_id,
                contract_number=f"V{user_seed:08d}",
                contract_date=contract_date,
                wage_base=150_000_000,
                rate_percent=27,
                paid_through=contract_date + dt.timedelta(days=30) if paid else None,
                medical_exam_exempt=exempt,
            )
        )


async def test_voluntary_payment_and_medical_exam_reminders(
    engine: AsyncEngine,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    today = clock.today()
    both = (NoticeKind.VOLUNTARY_PAYMENT, NoticeKind.MEDICAL_EXAM)
    # Contract 17 days ago: payment due in 3 days (20 days, DOMAIN.md), exam not yet near.
    await _subscriber(engine, session, db_settings, clock, 9, coverage_until=None, kinds=both)
    await _contract(engine, 9, today - dt.timedelta(days=17), exempt=False, paid=False)
    # Contract 50 days ago, paid, no exemption: exam due within 2 Jalali months.
    await _subscriber(engine, session, db_settings, clock, 10, coverage_until=None, kinds=both)
    await _contract(engine, 10, today - dt.timedelta(days=50), exempt=False, paid=True)
    # Exempt and paid: nothing.
    await _subscriber(engine, session, db_settings, clock, 11, coverage_until=None, kinds=both)
    await _contract(engine, 11, today - dt.timedelta(days=50), exempt=True, paid=True)
    assert await NoticeScheduler(session_factory, db_settings, clock).tick() == 2
    sent = {o.payload["notice"]: o.payload for o in await _outbox(session)}
    assert sent["voluntary_payment"]["number"] == "V00000009"
    assert sent["voluntary_payment"]["deadline"] == (today + dt.timedelta(days=3)).isoformat()
    assert sent["medical_exam"]["number"] == "V00000010"
    deadline = dt.date.fromisoformat(sent["medical_exam"]["deadline"])
    assert 0 <= (deadline - today).days <= CONFIG.medical_exam_days_before


async def test_overdue_ticket_apologises_with_a_new_date(
    engine: AsyncEngine,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    user = await _subscriber(
        engine,
        session,
        db_settings,
        clock,
        12,
        coverage_until=None,
        kinds=(NoticeKind.TICKET_OVERDUE,),
    )
    filed = clock.now() - dt.timedelta(days=5)
    for code, status, due in (
        ("1420-000001", "open", clock.today() - dt.timedelta(days=1)),
        ("1420-000002", "answered", clock.today() - dt.timedelta(days=1)),
        ("1420-000003", "open", clock.today() + dt.timedelta(days=1)),
    ):
        session.add(
            Ticket(
                tracking_code=code,
                chat_user_id=user,
                category="insurance",
                text="شکایت آزمایشی دربارهٔ سابقه",
                status=status,
                due_date=due,
                created_at=filed,
                updated_at=filed,
            )
        )
    await session.commit()
    assert await NoticeScheduler(session_factory, db_settings, clock).tick() == 1
    [sent] = await _outbox(session)
    assert sent.payload["code"] == "1420-000001"
    # Filed 5 days ago: the legal 10 working days from filing are still ahead.
    assert dt.date.fromisoformat(sent.payload["new_date"]) > clock.today()


async def test_request_decided_goes_at_once_or_after_the_quiet_hours(
    engine: AsyncEngine,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    user = await _subscriber(
        engine, session, db_settings, clock, 13, coverage_until=None, kinds=()
    )
    assert await notices.request_decided(
        session,
        clock,
        db_settings,
        chat_user_id=user,
        tracking_code="D-1",
        relation="son",
        approved=True,
        covered_from=clock.today(),
    )
    await session.commit()
    [sent] = await _outbox(session)
    assert sent.payload["notice"] == "request_decided" and sent.payload["approved"] is True
    # The same decision told again is the same notice: not sent twice.
    assert not await notices.request_decided(
        session,
        clock,
        db_settings,
        chat_user_id=user,
        tracking_code="D-1",
        relation="son",
        approved=True,
        covered_from=clock.today(),
    )
    clock.set(tehran(2024, 8, 3, 23, 0))
    assert await notices.request_decided(
        session,
        clock,
        db_settings,
        chat_user_id=user,
        tracking_code="D-2",
        relation="son",
        approved=False,
        reason="documents_missing",
        note="تصویر شناسنامه خوانا نیست.",
    )
    await session.commit()
    assert len(await _outbox(session)) == 1
    clock.set(tehran(2024, 8, 4, 8, 0))
    assert await NoticeScheduler(session_factory, db_settings, clock).release() == 1
    # The desk's reason key and the agent's note travel with the notice (bot.outbound words them).
    late = (await _outbox(session))[-1].payload
    assert late["reason"] == "documents_missing" and late["note"] == "تصویر شناسنامه خوانا نیست."
    # Switched off: a later decision is not told.
    await NoticePreferences(session, clock).set(user, NoticeKind.REQUEST_DECIDED, False)
    assert not await notices.request_decided(
        session,
        clock,
        db_settings,
        chat_user_id=user,
        tracking_code="D-3",
        relation="son",
        approved=True,
    )
    await session.commit()
    assert len(await _outbox(session)) == 2


async def _plan_many(
    session: AsyncSession, clock: FixedClock, engine: AsyncEngine, settings: Settings, n: int
) -> None:
    for i in range(n):
        user = await _subscriber(
            engine, session, settings, clock, 100 + i, coverage_until=None, kinds=()
        )
        await notices.record(
            session,
            clock,
            CONFIG,
            chat_user_id=user,
            kind=NoticeKind.COVER_ENDING,
            subject="cover",
            due_on=clock.today(),
            payload=notices.notice_payload(NoticeKind.COVER_ENDING, until="2024-08-10", days=7),
            check_preference=False,
        )
        # Switched on so the hand-over still wants it.
        await NoticePreferences(session, clock).set(user, NoticeKind.COVER_ENDING, True)
        await session.commit()


async def test_two_schedulers_with_their_own_engines_send_each_notice_once(
    engine: AsyncEngine,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    await _plan_many(session, clock, engine, db_settings, 30)
    engines = [create_engine(db_settings) for _ in range(2)]
    try:
        schedulers = [
            NoticeScheduler(create_session_factory(e), db_settings, clock) for e in engines
        ]
        counts = await asyncio.gather(*(s.release() for s in schedulers))
        assert sum(counts) == 30
    finally:
        for e in engines:
            await e.dispose()
    rows = await _outbox(session)
    assert len(rows) == 30
    outbox_ids = [i for i in (await session.scalars(select(Notice.outbox_id))).all() if i]
    assert sorted(outbox_ids) == sorted(r.id for r in rows)


async def test_two_scheduler_processes_send_each_notice_once(
    engine: AsyncEngine,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    # Planned for a moment long past, so the processes' real clocks find them all due.
    await _plan_many(session, clock, engine, db_settings, 40)
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    # Quiet hours off: the processes run on the real clock, whatever the hour of this test.
    config["notices"].update(quiet_start="00:00", quiet_end="00:00")
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": db_settings.env.database_url, "LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "app.cli", "--config", str(path), "scheduler", "--once"]
    procs = [
        await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE
        )
        for _ in range(2)
    ]
    results = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 120)
    outputs = [out.decode() for out, _ in results]
    assert [p.returncode for p in procs] == [0, 0], outputs
    counts = [int(o.strip().rsplit(" ", 1)[-1]) for o in outputs]
    assert sum(counts) == 40, outputs
    rows = await _outbox(session)
    assert len(rows) == 40
    per_chat = await session.execute(select(Outbox.chat_id, func.count()).group_by(Outbox.chat_id))
    assert all(n == 1 for _, n in per_chat.all())
    assert {r.payload["kind"] for r in rows} == {OutboxKind.NOTICE.value}


async def test_a_reminder_no_longer_true_or_for_a_logged_out_user_is_dropped(
    engine: AsyncEngine,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    from services.identity import IdentityService

    clock.set(tehran(2024, 8, 3, 23, 0))
    kinds = (NoticeKind.TICKET_OVERDUE, NoticeKind.COVER_ENDING)
    ending = clock.today() + dt.timedelta(days=5)
    answered = await _subscriber(
        engine, session, db_settings, clock, 14, coverage_until=None, kinds=kinds
    )
    left = await _subscriber(
        engine, session, db_settings, clock, 15, coverage_until=ending, kinds=kinds
    )
    filed = clock.now() - dt.timedelta(days=5)
    session.add(
        Ticket(
            tracking_code="1420-000009",
            chat_user_id=answered,
            category="insurance",
            text="شکایت آزمایشی دربارهٔ سابقه",
            status="open",
            due_date=clock.today() - dt.timedelta(days=1),
            created_at=filed,
            updated_at=filed,
        )
    )
    await session.commit()
    scheduler = NoticeScheduler(session_factory, db_settings, clock)
    assert await scheduler.tick() == 0  # 23:00: both planned for 08:00
    assert len((await session.scalars(select(Notice))).all()) == 2
    # Overnight the ticket is answered and the other user logs out.
    ticket = await session.scalar(select(Ticket).where(Ticket.tracking_code == "1420-000009"))
    assert ticket is not None
    ticket.status = "answered"
    await IdentityService(session, db_settings, clock).logout(left)
    await session.commit()
    clock.set(tehran(2024, 8, 4, 8, 0))
    assert await scheduler.release() == 0
    assert await _outbox(session) == []
    session.expire_all()
    statuses = set((await session.scalars(select(Notice.status))).all())
    assert statuses == {NoticeStatus.DROPPED.value}


async def test_retention_forgets_old_notices_but_not_an_open_tickets_apology(
    engine: AsyncEngine,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    user = await _subscriber(
        engine,
        session,
        db_settings,
        clock,
        21,
        coverage_until=clock.today() + dt.timedelta(days=3),
        kinds=(NoticeKind.COVER_ENDING, NoticeKind.TICKET_OVERDUE),
    )
    filed = clock.now() - dt.timedelta(days=20)
    ticket = Ticket(
        tracking_code="1420-000021",
        chat_user_id=user,
        category="insurance",
        text="شکایت آزمایشی دربارهٔ سابقه",
        status="open",
        due_date=clock.today() - dt.timedelta(days=1),
        created_at=filed,
        updated_at=filed,
    )
    session.add(ticket)
    await session.commit()
    scheduler = NoticeScheduler(session_factory, db_settings, clock)
    assert await scheduler.tick() == 2  # the cover reminder and the overdue apology

    async def notice_kinds() -> set[str]:
        session.expire_all()
        return set((await session.scalars(select(Notice.kind))).all())

    async def retention() -> int:
        async with session_factory() as own, own.begin():
            return (await RetentionService(own, db_settings, clock).apply()).notices

    assert await retention() == 0  # not old yet
    clock.advance(dt.timedelta(days=db_settings.config.retention.notice_days + 5))
    assert await retention() == 1
    # The ticket is still open: its apology's row stays, so the next scan does not send it again.
    assert await notice_kinds() == {NoticeKind.TICKET_OVERDUE.value}
    assert await scheduler.tick() == 0
    ticket.status = "answered"
    session.add(ticket)
    await session.commit()
    assert await retention() == 1
    assert await notice_kinds() == set()
    # Nothing forgotten comes back: the cover date has passed, the ticket is answered.
    assert await scheduler.tick() == 0
    assert len(await _outbox(session)) == 2
