"""Queue figures for the metrics, sampled from the database (shared by every process).

The handoff queue and the outbox live in the database, not in any one process, so their
length and age are read by a query every ``interval`` seconds rather than counted on the way
(a counter in one worker would miss what the others queued). One process per deployment
runs the sampler (the all-in-one ``run``, or the sender role); several would only report the
same figures (the dashboard takes their maximum).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.clock import Clock
from services.db.handoff_models import Conversation
from services.db.models import Outbox
from services.enums import ConversationStatus, OutboxStatus
from services.metrics import metrics

logger = logging.getLogger(__name__)

# Prometheus scrapes every 15 s by default: sampling faster would only add queries.
SAMPLE_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class QueueSample:
    handoff_queued: int
    handoff_oldest_wait_s: float
    outbox_pending: int


async def sample_queues(
    session_factory: async_sessionmaker[AsyncSession], clock: Clock
) -> QueueSample:
    """Read the queues once and set the gauges."""
    async with session_factory() as session:
        queued, oldest = (
            await session.execute(
                select(func.count(), func.min(Conversation.created_at)).where(
                    Conversation.status == ConversationStatus.QUEUED.value
                )
            )
        ).one()
        pending = await session.scalar(
            select(func.count()).where(Outbox.status == OutboxStatus.PENDING.value)
        )
    wait = 0.0
    if oldest is not None:
        # func.min bypasses the column's UTC type on SQLite: a naive value is UTC there.
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=dt.UTC)
        wait = max((clock.now() - oldest).total_seconds(), 0.0)
    sample = QueueSample(int(queued or 0), wait, int(pending or 0))
    m = metrics()
    m.handoff_queue_length.set(sample.handoff_queued)
    m.handoff_oldest_wait.set(sample.handoff_oldest_wait_s)
    m.outbox_pending.set(sample.outbox_pending)
    return sample


async def run_queue_sampler(
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    interval: float = SAMPLE_SECONDS,
) -> None:
    """Sample the queues until cancelled; a failed sample is logged and tried again."""
    while True:
        try:
            await sample_queues(session_factory, clock)
        except Exception as exc:
            # The database away: /readyz says so; the gauges keep their last values.
            logger.warning("queue sample failed (%s)", type(exc).__name__)
        await asyncio.sleep(interval)
