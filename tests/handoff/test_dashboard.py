"""The dashboard's figures."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import FixedClock
from services.dashboard import DashboardService
from services.enums import TicketCategory
from services.handoff import Queued
from services.settings import Settings
from services.tickets import TicketService
from tests.handoff.conftest import AgentFactory, Handoff
from tests.services.helpers import chat_user, log_message


async def test_overview(
    session: AsyncSession, db_settings: Settings, clock: FixedClock, agent_factory: AgentFactory
) -> None:
    sara = await agent_factory("sara")
    handoff = Handoff(session, db_settings, clock)
    users = [await chat_user(session, db_settings, clock) for _ in range(3)]

    # Yesterday: two messages, one not understood.
    clock.advance(dt.timedelta(days=-1))
    for intent, fallback in (("check_eligibility", False), (None, True)):
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
    clock.advance(dt.timedelta(days=1))
    # A message the model is sure is none of our topics counts as not understood too.
    for intent in ("check_eligibility", "check_eligibility", "pension_slip", "out_of_scope"):
        await log_message(
            session,
            clock,
            platform="bale",
            chat_id=2,
            text=None,
            intent=intent,
            confidence=0.9,
            fallback=False,
        )

    outcomes = []
    for user in users:
        outcome = await handoff.escalation.escalate(
            platform=user.platform,
            chat_id=user.platform_user_id,
            chat_user_id=user.id,
            ticket_text="t",
        )
        assert isinstance(outcome, Queued)
        outcomes.append(outcome)
    clock.advance(dt.timedelta(minutes=10))
    await handoff.desk.take(sara, outcomes[0].conversation_id)
    clock.advance(dt.timedelta(minutes=5))
    await handoff.desk.resolve(sara, outcomes[0].conversation_id)
    await handoff.escalation.rate(
        platform=users[0].platform,
        chat_id=users[0].platform_user_id,
        conversation_id=outcomes[0].conversation_id,
        rating=4,
    )
    await handoff.desk.take(sara, outcomes[1].conversation_id)

    tickets = TicketService(session, db_settings, clock)
    old = await tickets.create(users[2].id, TicketCategory.INSURANCE, "قدیمی")
    await tickets.answer(old.tracking_code, "پاسخ", "agent:sara")

    data = await DashboardService(session, db_settings, clock).overview(days=7)
    assert data.queue_length == 1 and data.oldest_wait == dt.timedelta(minutes=15)
    # Sara signed in 15 minutes ago and has not been seen since.
    assert data.open_conversations == 1 and data.agents_online == 0
    assert data.average_wait == dt.timedelta(minutes=12, seconds=30)
    assert data.conversations_resolved_today == 1
    assert data.tickets_resolved_today == 1 and data.tickets_open == 0
    assert data.satisfaction_average == 4.0 and data.satisfaction_count == 1
    assert [d.total for d in data.days] == [0, 0, 0, 0, 0, 2, 4]
    assert data.days[-2].fallback_rate == 0.5 and data.days[-1].fallback_rate == 0.25
    assert data.fallback_rate == pytest.approx(2 / 6)
    assert data.intent_totals == (
        ("check_eligibility", 3),
        ("out_of_scope", 2),
        ("pension_slip", 1),
    )
    audit = await DashboardService(session, db_settings, clock).recent_audit(5)
    assert audit[0].action == "tickets.status"
