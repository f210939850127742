"""Retention: personal data kept only as long as the data inventory (README) says, in every copy.

What a user typed reaches the database in the intent log, and is copied from there into an
escalation's record (the transcript an agent reads). The 72-hour retention used to clear the
intent log only, so the copies kept typed national IDs for ever; and one row per eligibility
inquiry (the national ID and the answer) was never deleted. :class:`RetentionService` applies
every limit at once, and :func:`run_retention` does so hourly as a supervised background task.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.clock import Clock
from services.db.delivery_models import ProcessedUpdate
from services.db.fsm_models import FsmState
from services.db.handoff_models import Conversation, IntentLogEntry
from services.db.models import EligibilityInquiry, Ticket
from services.db.notice_models import Notice
from services.enums import NoticeKind, NoticeStatus, TicketStatus
from services.settings import Settings

logger = logging.getLogger(__name__)

RETENTION_INTERVAL_SECONDS = 3600.0
# The escalation record's key that marks a transcript as already cleared.
PRUNED_KEY = "transcript_pruned"


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """How many rows one pass changed."""

    intent_log_texts: int
    escalation_transcripts: int
    eligibility_inquiries: int
    # Conversation steps left half-way past ``retention.flow_state_hours`` (``fsm_state``).
    flow_states: int = 0
    # Dedupe records of incoming updates (``processed_updates``; no personal data, only ids).
    processed_updates: int = 0
    # Proactive notices sent or dropped long ago (``notices``).
    notices: int = 0


class RetentionService:
    """Applies the retention limits (the caller's unit of work commits)."""

    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self._session = session
        self._settings = settings
        self._clock = clock

    async def apply(self) -> RetentionReport:
        now = self._clock.now()
        config = self._settings.config
        texts_before = now - dt.timedelta(hours=config.handoff.transcript_retention_hours)
        cleared = await self._session.execute(
            update(IntentLogEntry)
            .where(IntentLogEntry.created_at < texts_before, IntentLogEntry.text.is_not(None))
            .values(text=None)
        )
        transcripts = await self._clear_transcripts(texts_before)
        inquiries_before = now - dt.timedelta(days=config.retention.eligibility_inquiry_days)
        deleted = await self._session.execute(
            delete(EligibilityInquiry).where(EligibilityInquiry.created_at < inquiries_before)
        )
        # The steps' rows carry their own expiry (set at each write, as Redis keys' TTL).
        steps = await self._session.execute(delete(FsmState).where(FsmState.expires_at <= now))
        # An update is never re-sent after 24 hours: its dedupe record can go after that.
        updates_before = now - dt.timedelta(hours=config.bot.processed_updates_hours)
        forgotten = await self._session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.taken_at < updates_before)
        )
        notices = await self._forget_notices(
            now.date() - dt.timedelta(days=config.retention.notice_days)
        )
        await self._session.flush()
        return RetentionReport(
            intent_log_texts=int(getattr(cleared, "rowcount", 0) or 0),
            escalation_transcripts=transcripts,
            eligibility_inquiries=int(getattr(deleted, "rowcount", 0) or 0),
            flow_states=int(getattr(steps, "rowcount", 0) or 0),
            processed_updates=int(getattr(forgotten, "rowcount", 0) or 0),
            notices=notices,
        )

    async def _forget_notices(self, due_before: dt.date) -> int:
        """Delete notices sent or dropped whose due date is before ``due_before``.

        A notice's row is what keeps it from being sent twice, so a row goes only when the
        scheduler can no longer plan it again: the reminders (cover ending, voluntary payment,
        medical exam) are planned only while their due date is still ahead, and the answers
        (ticket answered, request decided) only at the event. The one kind planned again after
        its due date is an overdue ticket's apology, every scan while the ticket stays open: its
        row stays as long as that ticket is open.
        """
        still_open = select(Ticket.tracking_code).where(
            Ticket.status.in_((TicketStatus.OPEN.value, TicketStatus.IN_PROGRESS.value))
        )
        result = await self._session.execute(
            delete(Notice).where(
                Notice.status != NoticeStatus.PENDING.value,
                Notice.due_on < due_before,
                (Notice.kind != NoticeKind.TICKET_OVERDUE.value)
                | Notice.subject.not_in(still_open),
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def _clear_transcripts(self, before: dt.datetime) -> int:
        """Clear the message texts copied into escalation records older than ``before``."""
        rows = await self._session.execute(
            select(Conversation.id, Conversation.escalation).where(
                Conversation.created_at < before
            )
        )
        cleared = 0
        for conversation_id, record in rows.all():
            if not isinstance(record, dict) or record.get(PRUNED_KEY):
                continue
            lines: list[dict[str, Any]] = record.get("transcript", [])
            pruned = {
                **record,
                "transcript": [{**line, "text": None} for line in lines],
                PRUNED_KEY: True,
            }
            await self._session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(escalation=pruned)
            )
            cleared += 1
        return cleared


async def run_retention(
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
    *,
    every: float = RETENTION_INTERVAL_SECONDS,
) -> None:
    """Apply retention now and then every ``every`` seconds (run under the supervisor)."""
    while True:
        async with session_factory() as session, session.begin():
            report = await RetentionService(session, settings, clock).apply()
        if (
            report.intent_log_texts
            or report.escalation_transcripts
            or report.eligibility_inquiries
            or report.flow_states
            or report.processed_updates
            or report.notices
        ):
            logger.info(
                "retention: cleared %d logged texts and %d escalation transcripts, "
                "deleted %d eligibility inquiries, %d expired conversation steps "
                "%d update dedupe records and %d old notices",
                report.intent_log_texts,
                report.escalation_transcripts,
                report.eligibility_inquiries,
                report.flow_states,
                report.processed_updates,
                report.notices,
            )
        await asyncio.sleep(every)
