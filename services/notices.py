"""Proactive notices (issue 18): what the assistant tells a user without being asked, and when.

Kinds (``services.enums.NoticeKind``) and their rules:

- ``ticket_answered`` — an agent answered the user's ticket (the answer itself, with its code);
- ``request_decided`` — the branch approved or rejected the user's dependant request;
- ``ticket_overdue`` — an open ticket passed its answer target (3/7/10 working days, DOMAIN.md
  § Complaints): an apology and a new date, the legal maximum of ``tickets.max_working_days``
  from filing when still ahead (article 13), else ``overdue_extension_working_days`` from today;
- ``cover_ending`` — the registry's coverage-until date (DOMAIN.md § Treatment eligibility) is
  within ``cover_ending_days``; pensioners are left out (they stay covered, same section);
- ``voluntary_payment`` — an unpaid voluntary contract's payment deadline (20 days from the
  contract, DOMAIN.md § Voluntary insurance) is within ``voluntary_payment_days_before``;
- ``medical_exam`` — a contract without the exam exemption: the exam is due within 2 months
  of the contract (same section); reminded ``medical_exam_days_before`` ahead.

Opt-in (the user's ``/settings``): the two answers to something the user asked for themselves
(``ticket_answered``, ``request_decided``) are on until switched off, as they always were;
every reminder the user did not ask for is off until switched on. No row in
``notice_preferences`` means the kind's default.

Quiet hours: nothing is handed to the outbox between ``notices.quiet_start`` and
``quiet_end`` (Tehran time); a notice due then waits for ``quiet_end`` (``not_before``).

Once only, whatever the number of processes: a notice is a row unique per (user, kind,
subject, due date), inserted with ON CONFLICT DO NOTHING (SQLite and PostgreSQL alike); the
scheduler hands a row to the outbox in the transaction whose ``UPDATE … WHERE status =
'pending'`` moved it, so of two schedulers racing for it exactly one sees a row changed.
The outbox sender then paces the sending (``bot.outbound``); the scheduler releases at most
``max_per_minute`` notices a minute into it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.calendar import WorkingCalendar
from services.clock import TEHRAN, Clock
from services.db.models import ChatUser, Outbox, Ticket
from services.db.notice_models import Notice, NoticePreference
from services.enums import InsuranceRelation, NoticeKind, NoticeStatus, OutboxKind, TicketStatus
from services.outbox import _insert, enqueue
from services.registry import SqlRegistryGateway
from services.settings import NoticesConfig, Settings
from services.voluntary import VoluntaryService

logger = logging.getLogger(__name__)

# On until switched off: answers to the user's own ticket or request, which they asked for.
DEFAULT_ON: frozenset[NoticeKind] = frozenset(
    {NoticeKind.TICKET_ANSWERED, NoticeKind.REQUEST_DECIDED}
)
# The kinds read from the registry: they need a verified user (a logged-out one gets none).
REGISTRY_KINDS: frozenset[NoticeKind] = frozenset(
    {NoticeKind.COVER_ENDING, NoticeKind.VOLUNTARY_PAYMENT, NoticeKind.MEDICAL_EXAM}
)
_OPEN_TICKETS = (TicketStatus.OPEN.value, TicketStatus.IN_PROGRESS.value)


# --- quiet hours -----------------------------------------------------------------------------
def is_quiet(moment: dt.datetime, config: NoticesConfig) -> bool:
    """Whether ``moment`` falls in the quiet hours (Tehran time; the window may wrap midnight)."""
    local = moment.astimezone(TEHRAN).time()
    start, end = config.quiet_start, config.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def next_allowed(moment: dt.datetime, config: NoticesConfig) -> dt.datetime:
    """``moment`` itself, or the end of the quiet hours it falls in (Tehran time)."""
    if not is_quiet(moment, config):
        return moment
    local = moment.astimezone(TEHRAN)
    end = dt.datetime.combine(local.date(), config.quiet_end, tzinfo=TEHRAN)
    if end <= local:
        end = dt.datetime.combine(local.date() + dt.timedelta(days=1), config.quiet_end, TEHRAN)
    return end


# --- preferences -----------------------------------------------------------------------------
def default_enabled(kind: NoticeKind) -> bool:
    return kind in DEFAULT_ON


class NoticePreferences:
    """A user's switches (the caller's unit of work commits)."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def all(self, chat_user_id: int) -> dict[NoticeKind, bool]:
        """Every kind with the user's choice, or its default."""
        rows = await self._session.execute(
            select(NoticePreference.kind, NoticePreference.enabled).where(
                NoticePreference.chat_user_id == chat_user_id
            )
        )
        chosen = {kind: bool(enabled) for kind, enabled in rows.all()}
        return {kind: chosen.get(kind.value, default_enabled(kind)) for kind in NoticeKind}

    async def enabled(self, chat_user_id: int, kind: NoticeKind) -> bool:
        value = await self._session.scalar(
            select(NoticePreference.enabled).where(
                NoticePreference.chat_user_id == chat_user_id,
                NoticePreference.kind == kind.value,
            )
        )
        return default_enabled(kind) if value is None else bool(value)

    async def set(self, chat_user_id: int, kind: NoticeKind, enabled: bool) -> None:
        insert = _insert(self._session)
        statement = insert(NoticePreference).values(
            chat_user_id=chat_user_id,
            kind=kind.value,
            enabled=enabled,
            updated_at=self._clock.now(),
        )
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=["chat_user_id", "kind"],
                set_={
                    "enabled": statement.excluded.enabled,
                    "updated_at": statement.excluded.updated_at,
                },
            )
        )


# --- recording a notice ----------------------------------------------------------------------
async def record(
    session: AsyncSession,
    clock: Clock,
    config: NoticesConfig,
    *,
    chat_user_id: int,
    kind: NoticeKind,
    subject: str,
    due_on: dt.date,
    payload: Mapping[str, Any],
    check_preference: bool = True,
) -> bool:
    """Plan a notice unless the user switched its kind off or it exists; True when planned.

    Outside the quiet hours an event's notice (an answer, a decision) goes to the outbox at
    once, in the caller's transaction; inside them it waits for the scheduler at their end.
    """
    if check_preference and not await NoticePreferences(session, clock).enabled(
        chat_user_id, kind
    ):
        return False
    now = clock.now()
    insert = _insert(session)
    result = await session.execute(
        insert(Notice)
        .values(
            chat_user_id=chat_user_id,
            kind=kind.value,
            subject=subject[:64],
            due_on=due_on,
            payload=dict(payload),
            status=NoticeStatus.PENDING.value,
            not_before=next_allowed(now, config),
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["chat_user_id", "kind", "subject", "due_on"])
    )
    return bool(getattr(result, "rowcount", 0))


async def ticket_answered(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    *,
    chat_user: ChatUser,
    tracking_code: str,
    text: str,
) -> bool:
    """The agent's answer to the user's ticket (the outbox payload the console's log reads)."""
    planned = await record(
        session,
        clock,
        settings.config.notices,
        chat_user_id=chat_user.id,
        kind=NoticeKind.TICKET_ANSWERED,
        subject=answer_subject(tracking_code, text),
        due_on=clock.today(),
        payload={
            "kind": OutboxKind.TICKET_ANSWER.value,
            "tracking_code": tracking_code,
            "text": text,
        },
    )
    if planned:
        await release_now(session, clock, settings.config.notices, chat_user.id)
    return planned


def answer_subject(tracking_code: str, text: str) -> str:
    """A ticket answer's notice subject: two answers to one ticket are two notices, the same
    answer saved twice is one."""
    return f"{tracking_code}:{hashlib.sha256(text.encode()).hexdigest()[:12]}"


async def delivery_log(
    session: AsyncSession, chat_user_id: int, kind: NoticeKind, subjects: Sequence[str]
) -> list[tuple[str, dt.datetime, str]]:
    """What became of the user's notices of ``kind`` about ``subjects``, for the console's desks:
    ``(subject, moment, state)`` in the order they were planned, where state is the outbox's
    status once handed over, ``waiting`` (with its ``not_before``) while the quiet hours hold
    it, and ``off`` when it was dropped (switched off before its moment). A subject with no row
    was never planned: the user had that kind switched off (the caller says so)."""
    if not subjects:
        return []
    rows = (
        await session.execute(
            select(Notice.subject, Notice.status, Notice.not_before, Notice.created_at, Outbox)
            .outerjoin(Outbox, Outbox.id == Notice.outbox_id)
            .where(
                Notice.chat_user_id == chat_user_id,
                Notice.kind == kind.value,
                Notice.subject.in_([s[:64] for s in subjects]),
            )
            .order_by(Notice.id)
        )
    ).all()
    log: list[tuple[str, dt.datetime, str]] = []
    for subject, status, not_before, created_at, handed in rows:
        outbox: Outbox | None = handed  # None until handed to the outbox (outer join)
        if outbox is not None:
            log.append((subject, outbox.created_at, outbox.status))
        elif status == NoticeStatus.PENDING.value:
            log.append((subject, not_before, "waiting"))
        else:
            log.append((subject, created_at, "off"))
    return log


async def request_decided(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    *,
    chat_user_id: int,
    tracking_code: str,
    relation: str,
    approved: bool,
    covered_from: dt.date | None = None,
    reason: str | None = None,
    note: str | None = None,
) -> bool:
    """The branch's decision on the user's dependant request: the console's desk calls it in
    the decision's transaction (``services.dependants``). ``reason`` is a rejection reason's key
    (``DependantRejectReason``; ``bot.outbound`` words it), ``note`` the agent's free text."""
    planned = await record(
        session,
        clock,
        settings.config.notices,
        chat_user_id=chat_user_id,
        kind=NoticeKind.REQUEST_DECIDED,
        subject=tracking_code,
        due_on=clock.today(),
        payload=notice_payload(
            NoticeKind.REQUEST_DECIDED,
            code=tracking_code,
            relation=relation,
            approved=approved,
            covered_from=covered_from.isoformat() if covered_from else None,
            reason=reason,
            note=note or None,
        ),
    )
    if planned:
        await release_now(session, clock, settings.config.notices, chat_user_id)
    return planned


def notice_payload(kind: NoticeKind, **values: Any) -> dict[str, Any]:
    """The outbox payload of a notice that ``bot.outbound`` words by its ``notice`` kind."""
    return {"kind": OutboxKind.NOTICE.value, "notice": kind.value, **values}


async def release_now(
    session: AsyncSession, clock: Clock, config: NoticesConfig, chat_user_id: int
) -> int:
    """Hand the user's due notices to the outbox in the caller's transaction (events)."""
    now = clock.now()
    if is_quiet(now, config):
        return 0
    ids = (
        await session.scalars(
            select(Notice.id).where(
                Notice.chat_user_id == chat_user_id,
                Notice.status == NoticeStatus.PENDING.value,
                Notice.not_before <= now,
            )
        )
    ).all()
    sent = 0
    for notice_id in ids:
        sent += await _hand_over(session, clock, notice_id)
    return sent


async def _hand_over(session: AsyncSession, clock: Clock, notice_id: int) -> int:
    """Move one notice from pending to sent and enqueue it; 0 when another process did."""
    notice = await session.get(Notice, notice_id)
    user = await session.get(ChatUser, notice.chat_user_id) if notice else None
    if notice is None or user is None:
        return 0
    now = clock.now()
    kind = NoticeKind(notice.kind)
    still_wanted = (
        await NoticePreferences(session, clock).enabled(user.id, kind)
        and (kind not in REGISTRY_KINDS or user.national_id is not None)
        and await _still_true(session, user, notice)
    )
    status = NoticeStatus.SENT if still_wanted else NoticeStatus.DROPPED
    # The one statement that decides who sends it: of two processes, only one sees a row change.
    moved = await session.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.status == NoticeStatus.PENDING.value)
        .values(status=status.value, sent_at=now if still_wanted else None)
        .execution_options(synchronize_session=False)
    )
    if not getattr(moved, "rowcount", 0) or not still_wanted:
        return 0
    row = enqueue(
        session,
        clock,
        platform=user.platform,
        chat_id=user.platform_user_id,
        payload=notice.payload,
    )
    await session.flush()
    await session.execute(
        update(Notice)
        .where(Notice.id == notice_id)
        .values(outbox_id=row.id)
        .execution_options(synchronize_session=False)
    )
    return 1


async def _still_true(session: AsyncSession, user: ChatUser, notice: Notice) -> bool:
    """Whether a reminder planned earlier (maybe before the quiet hours) still holds: a ticket
    answered since, or a contract paid since, is not reminded of."""
    kind = NoticeKind(notice.kind)
    if kind is NoticeKind.TICKET_OVERDUE:
        status = await session.scalar(
            select(Ticket.status).where(
                Ticket.tracking_code == notice.subject, Ticket.chat_user_id == user.id
            )
        )
        return status in _OPEN_TICKETS
    if kind is NoticeKind.VOLUNTARY_PAYMENT and user.national_id is not None:
        contract = await SqlRegistryGateway(session).voluntary_contract(user.national_id)
        return contract is not None and contract.paid_through is None
    return True


# --- the rules read from the registry and the tickets ----------------------------------------
@dataclass(frozen=True, slots=True)
class Planned:
    """A notice the rules found due for a user."""

    kind: NoticeKind
    subject: str
    due_on: dt.date
    payload: dict[str, Any]


class NoticeRules:
    """Finds the reminders due today for the users who switched them on."""

    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self._session = session
        self._settings = settings
        self._clock = clock
        self._config = settings.config.notices
        self._registry = SqlRegistryGateway(session)
        self._voluntary = VoluntaryService(session, settings, clock)
        self._calendar = WorkingCalendar(settings.config.tickets)

    async def _subscribers(self, kind: NoticeKind) -> list[ChatUser]:
        query = (
            select(ChatUser)
            .join(NoticePreference, NoticePreference.chat_user_id == ChatUser.id)
            .where(NoticePreference.kind == kind.value, NoticePreference.enabled.is_(True))
            .order_by(ChatUser.id)
        )
        if kind in REGISTRY_KINDS:
            query = query.where(ChatUser.national_id.is_not(None))
        return list((await self._session.scalars(query)).all())

    async def plan(self) -> int:
        """Record every notice due today for the subscribed users; return how many were new."""
        new = 0
        for kind in (
            NoticeKind.COVER_ENDING,
            NoticeKind.VOLUNTARY_PAYMENT,
            NoticeKind.MEDICAL_EXAM,
            NoticeKind.TICKET_OVERDUE,
        ):
            for user in await self._subscribers(kind):
                for planned in await self.due_for(kind, user):
                    new += await record(
                        self._session,
                        self._clock,
                        self._config,
                        chat_user_id=user.id,
                        kind=planned.kind,
                        subject=planned.subject,
                        due_on=planned.due_on,
                        payload=planned.payload,
                        check_preference=False,
                    )
        return new

    async def due_for(self, kind: NoticeKind, user: ChatUser) -> list[Planned]:
        """The notices of ``kind`` due today for ``user``."""
        if kind is NoticeKind.TICKET_OVERDUE:
            return await self._overdue(user)
        if user.national_id is None:
            return []
        if kind is NoticeKind.COVER_ENDING:
            return await self._cover(user.national_id)
        return await self._voluntary_due(kind, user.national_id)

    async def _cover(self, national_id: str) -> list[Planned]:
        person = await self._registry.person(national_id)
        today = self._clock.today()
        if (
            person is None
            or person.coverage_until is None
            or person.insurance_relation is InsuranceRelation.PENSIONER
        ):
            return []
        left = (person.coverage_until - today).days
        if not 0 <= left <= self._config.cover_ending_days:
            return []
        payload = notice_payload(
            NoticeKind.COVER_ENDING, until=person.coverage_until.isoformat(), days=left
        )
        return [Planned(NoticeKind.COVER_ENDING, "cover", person.coverage_until, payload)]

    async def _voluntary_due(self, kind: NoticeKind, national_id: str) -> list[Planned]:
        contract = await self._registry.voluntary_contract(national_id)
        if contract is None:
            return []
        today = self._clock.today()
        if kind is NoticeKind.VOLUNTARY_PAYMENT:
            if contract.paid_through is not None:
                return []
            deadline = self._voluntary.payment_deadline(contract.contract_date)
            ahead = self._config.voluntary_payment_days_before
        else:
            if contract.medical_exam_exempt:
                return []
            deadline = self._voluntary.medical_exam_window(contract.contract_date).exam_deadline
            ahead = self._config.medical_exam_days_before
        if not 0 <= (deadline - today).days <= ahead:
            return []
        payload = notice_payload(
            kind, number=contract.contract_number, deadline=deadline.isoformat()
        )
        return [Planned(kind, contract.contract_number, deadline, payload)]

    async def _overdue(self, user: ChatUser) -> list[Planned]:
        today = self._clock.today()
        tickets = (
            await self._session.scalars(
                select(Ticket).where(
                    Ticket.chat_user_id == user.id,
                    Ticket.status.in_(_OPEN_TICKETS),
                    Ticket.due_date < today,
                )
            )
        ).all()
        return [
            Planned(
                NoticeKind.TICKET_OVERDUE,
                t.tracking_code,
                t.due_date,
                notice_payload(
                    NoticeKind.TICKET_OVERDUE,
                    code=t.tracking_code,
                    due=t.due_date.isoformat(),
                    new_date=self.new_date(t).isoformat(),
                ),
            )
            for t in tickets
        ]

    def new_date(self, ticket: Ticket) -> dt.date:
        """The date an overdue ticket's apology promises (see the module's docstring)."""
        today = self._clock.today()
        filed = ticket.created_at.astimezone(TEHRAN).date()
        legal = self._calendar.add_working_days(
            filed, self._settings.config.tickets.max_working_days
        )
        if legal > today:
            return legal
        return self._calendar.add_working_days(today, self._config.overdue_extension_working_days)


# --- the scheduler ---------------------------------------------------------------------------
class NoticeScheduler:
    """Plans reminders every ``scan_minutes`` and releases due notices every ``tick_seconds``.

    Any number may run (in ``tamin-bot run`` and as ``tamin-bot scheduler``): see the module's
    docstring for why each notice still goes out once.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
    ) -> None:
        self._sessions = session_factory
        self._settings = settings
        self._clock = clock
        self._config = settings.config.notices
        self._last_scan: dt.datetime | None = None
        self.released = 0

    async def run(self) -> None:
        """Until cancelled (a supervised task: a failure is logged and the task restarted)."""
        logger.info("notice scheduler started")
        while True:
            await self.tick()
            await asyncio.sleep(self._config.tick_seconds)

    async def tick(self) -> int:
        """One round: rescan when it is time, then release what is due; returns notices sent."""
        now = self._clock.now()
        if self._last_scan is None or now - self._last_scan >= dt.timedelta(
            minutes=self._config.scan_minutes
        ):
            await self.scan()
            self._last_scan = now
        return await self.release()

    async def scan(self) -> int:
        async with self._sessions() as session:
            new = await NoticeRules(session, self._settings, self._clock).plan()
            await session.commit()
        if new:
            logger.info("notices: %s planned", new)
        return new

    async def release(self) -> int:
        """Hand due notices to the outbox, at most the tick's share of ``max_per_minute``."""
        now = self._clock.now()
        if is_quiet(now, self._config):
            return 0
        # max_per_minute spread over the ticks of a minute (at least one a tick).
        limit = max(1, int(self._config.max_per_minute * self._config.tick_seconds / 60))
        async with self._sessions() as session:
            ids = (
                await session.scalars(
                    select(Notice.id)
                    .where(Notice.status == NoticeStatus.PENDING.value, Notice.not_before <= now)
                    .order_by(Notice.not_before, Notice.id)
                    .limit(limit)
                )
            ).all()
        # Schedulers that read the same batch go through it in different orders, rather than
        # one waiting on every row the other holds (PostgreSQL's row locks) until it commits.
        ids = random.sample(list(ids), len(ids))
        sent = 0
        for notice_id in ids:
            # One transaction per notice: a conflict with another scheduler costs only that one.
            async with self._sessions() as session:
                sent += await _hand_over(session, self._clock, notice_id)
                await session.commit()
        self.released += sent
        return sent
