"""The supervisors' dashboard: the queue now, today's work, satisfaction, and what people ask.

Figures are computed from the handoff tables, the tickets and the bot's intent log. Days are
Tehran days; each day's intent counts come from one indexed range query, so the dashboard costs
the same whatever the back end.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.agents import AgentService
from services.clock import TEHRAN, Clock
from services.db.handoff_models import Conversation, IntentLogEntry
from services.db.models import AuditLog, Ticket, TicketEvent
from services.enums import ConversationStatus, Resolution, TicketStatus
from services.settings import Settings

# Intent name used for messages the bot did not understand at all.
UNKNOWN_INTENT = "out_of_scope"


@dataclass(frozen=True, slots=True)
class DayIntents:
    """One Tehran day of the intent log."""

    day: dt.date
    total: int
    fallback: int
    by_intent: dict[str, int]

    @property
    def fallback_rate(self) -> float:
        return self.fallback / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: dt.datetime
    actor: str
    action: str
    subject: str | None


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Everything the dashboard page shows."""

    at: dt.datetime
    queue_length: int
    oldest_wait: dt.timedelta | None
    open_conversations: int
    agents_online: int
    average_wait: dt.timedelta | None  # queued → taken, for chats taken today
    conversations_resolved_today: int
    tickets_resolved_today: int
    tickets_open: int
    tickets_overdue: int
    satisfaction_average: float | None  # over ``satisfaction_days``
    satisfaction_count: int
    satisfaction_days: int
    days: tuple[DayIntents, ...]  # oldest first
    intent_totals: tuple[tuple[str, int], ...]  # most asked first

    @property
    def total_messages(self) -> int:
        return sum(d.total for d in self.days)

    @property
    def fallback_rate(self) -> float:
        total = self.total_messages
        return sum(d.fallback for d in self.days) / total if total else 0.0


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0), TEHRAN)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), TEHRAN)
    return start, end


class DashboardService:
    """Reads the figures; writes nothing."""

    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self._session = session
        self._settings = settings
        self._clock = clock

    async def recent_audit(
        self,
        limit: int = 300,
        *,
        actor: str | None = None,
        action: str | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
    ) -> list[AuditEntry]:
        """The newest audit entries (who did what), for supervisors; ``action`` may name a
        family («ticket» matches «ticket.reveal_identity»), dates are Tehran days."""
        query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
        if actor:
            query = query.where(AuditLog.actor == actor)
        if action:
            query = query.where(
                (AuditLog.action == action) | AuditLog.action.startswith(f"{action}.")
            )
        if date_from is not None:
            query = query.where(AuditLog.created_at >= _day_bounds(date_from)[0])
        if date_to is not None:
            query = query.where(AuditLog.created_at < _day_bounds(date_to)[1])
        rows = await self._session.scalars(query)
        return [
            AuditEntry(r.created_at.astimezone(TEHRAN), r.actor, r.action, r.subject) for r in rows
        ]

    async def audit_choices(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The actors and actions the audit log holds, for the filters' lists."""
        actors = await self._session.scalars(
            select(AuditLog.actor).distinct().order_by(AuditLog.actor)
        )
        actions = await self._session.scalars(
            select(AuditLog.action).distinct().order_by(AuditLog.action)
        )
        return tuple(actors), tuple(actions)

    async def overview(self, *, days: int = 14, satisfaction_days: int = 30) -> Dashboard:
        now = self._clock.now()
        today = now.astimezone(TEHRAN).date()
        today_start, today_end = _day_bounds(today)
        s = self._session

        queued = (
            await s.execute(
                select(func.count(), func.min(Conversation.created_at)).where(
                    Conversation.status == ConversationStatus.QUEUED.value
                )
            )
        ).one()
        queue_length = int(queued[0] or 0)
        oldest_wait = now - queued[1] if queued[1] is not None else None
        open_conversations = int(
            await s.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(Conversation.status == ConversationStatus.OPEN.value)
            )
            or 0
        )
        agents_online = await AgentService(s, self._settings, self._clock).count_online()

        taken = (
            await s.execute(
                select(Conversation.created_at, Conversation.taken_at).where(
                    Conversation.taken_at >= today_start, Conversation.taken_at < today_end
                )
            )
        ).all()
        waits = [(t - c).total_seconds() for c, t in taken if t is not None]
        average_wait = dt.timedelta(seconds=sum(waits) / len(waits)) if waits else None

        resolved_today = int(
            await s.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(
                    Conversation.status == ConversationStatus.RESOLVED.value,
                    Conversation.resolution == Resolution.RESOLVED.value,
                    Conversation.resolved_at >= today_start,
                    Conversation.resolved_at < today_end,
                )
            )
            or 0
        )
        tickets_resolved_today = int(
            await s.scalar(
                select(func.count(func.distinct(TicketEvent.ticket_id))).where(
                    TicketEvent.to_status.in_(
                        (TicketStatus.ANSWERED.value, TicketStatus.CLOSED.value)
                    ),
                    TicketEvent.created_at >= today_start,
                    TicketEvent.created_at < today_end,
                )
            )
            or 0
        )
        unanswered = Ticket.status.in_((TicketStatus.OPEN.value, TicketStatus.IN_PROGRESS.value))
        tickets_open = int(
            await s.scalar(select(func.count()).select_from(Ticket).where(unanswered)) or 0
        )
        tickets_overdue = int(
            await s.scalar(
                select(func.count()).select_from(Ticket).where(unanswered, Ticket.due_date < today)
            )
            or 0
        )

        since = now - dt.timedelta(days=satisfaction_days)
        rated = (
            await s.execute(
                select(func.avg(Conversation.satisfaction), func.count()).where(
                    Conversation.satisfaction.is_not(None), Conversation.satisfaction_at >= since
                )
            )
        ).one()
        satisfaction_count = int(rated[1] or 0)
        satisfaction_average = float(rated[0]) if satisfaction_count else None

        day_rows: list[DayIntents] = []
        totals: dict[str, int] = {}
        for offset in range(days - 1, -1, -1):
            day = today - dt.timedelta(days=offset)
            start, end = _day_bounds(day)
            rows = (
                await s.execute(
                    select(IntentLogEntry.intent, IntentLogEntry.is_fallback, func.count())
                    .where(
                        IntentLogEntry.created_at >= start,
                        IntentLogEntry.created_at < end,
                        IntentLogEntry.from_bot.is_(False),
                    )
                    .group_by(IntentLogEntry.intent, IntentLogEntry.is_fallback)
                )
            ).all()
            by_intent: dict[str, int] = {}
            total = fallback = 0
            for intent, is_fallback, count in rows:
                name = intent or UNKNOWN_INTENT
                by_intent[name] = by_intent.get(name, 0) + int(count)
                totals[name] = totals.get(name, 0) + int(count)
                total += int(count)
                # Not understood: the model was unsure, or sure it is none of our topics.
                if is_fallback or name == UNKNOWN_INTENT:
                    fallback += int(count)
            day_rows.append(DayIntents(day, total, fallback, by_intent))

        return Dashboard(
            at=now,
            queue_length=queue_length,
            oldest_wait=oldest_wait,
            open_conversations=open_conversations,
            agents_online=agents_online,
            average_wait=average_wait,
            conversations_resolved_today=resolved_today,
            tickets_resolved_today=tickets_resolved_today,
            tickets_open=tickets_open,
            tickets_overdue=tickets_overdue,
            satisfaction_average=satisfaction_average,
            satisfaction_count=satisfaction_count,
            satisfaction_days=satisfaction_days,
            days=tuple(day_rows),
            intent_totals=tuple(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))),
        )
