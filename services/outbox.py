"""The outbox: messages to users that must survive restarts, sent by one rate-limited sender.

Whoever wants a message to reach a chat (an agent's reply, a ticket's answer, a handoff notice)
calls :func:`enqueue` in the same transaction as the change it reports, so both commit or
neither does. The sender (``bot.outbound``) works through :class:`OutboxStore`:

- **order per chat**: only the oldest pending message of a chat can be claimed, and a chat's
  next message waits until the previous one is sent or has finally failed;
- **pace**: after a delivery the chat rests ``per_chat_interval_seconds`` (Telegram's and
  Bale's "about one message a second per chat"); a 429 answer rests it ``retry_after``;
- **never twice**: a claim takes a lease (``outbox_delivery``) so that no other sender takes
  the same message, and a delivery is recorded at once;
- **bounded retries**: errors back off exponentially up to ``max_attempts``; flood-control
  waits are counted apart, up to ``max_flood_waits``; then the message is marked failed.

Pacing and leases are kept in the database rather than in memory, so a restart in between
loses nothing and sends nothing twice (a message in flight when the process died is retried
once its lease has run out: at least once, which is the best any Bot API client can do).

Transactions: :func:`enqueue` only adds to the caller's session (its unit of work commits).
:class:`OutboxStore` is, with the eligibility store, one of the two places in the services that
commit their own transactions: a claim, a lease and a delivery must each be committed at once,
by the sender, whatever else happens.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.clock import Clock
from services.db.handoff_models import OutboxChat, OutboxDelivery
from services.db.models import Outbox
from services.enums import OutboxStatus
from services.settings import OutboxConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A claimed message: what to send where."""

    id: int
    platform: str
    chat_id: int
    payload: Mapping[str, Any]
    attempts: int
    # When it entered the outbox (the metrics' delivery lag); None for one built by hand.
    created_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    pending: int
    sent: int
    failed: int


def enqueue(
    session: AsyncSession,
    clock: Clock,
    *,
    platform: str,
    chat_id: int,
    payload: Mapping[str, Any],
) -> Outbox:
    """Add a message for ``(platform, chat_id)`` to the session; the caller commits.

    ``payload["kind"]`` names what ``bot.outbound`` sends (see ``services.enums.OutboxKind``);
    the rest are its values. Returns the row (its ``id`` is set once the session flushes).
    """
    if "kind" not in payload:
        raise ValueError("an outbox payload needs a kind")
    row = Outbox(
        platform=str(platform),
        chat_id=chat_id,
        payload=dict(payload),
        status=OutboxStatus.PENDING.value,
        attempts=0,
        created_at=clock.now(),
    )
    session.add(row)
    return row


async def hold_chat(
    session: AsyncSession,
    *,
    platform: str,
    chat_id: int,
    until: dt.datetime,
    now: dt.datetime | None = None,
) -> None:
    """Let nothing of the outbox go to ``(platform, chat_id)`` before ``until``; caller commits.

    For an answer that could not be sent directly (``bot.pacing``). Without ``now`` (flood
    control said so) a later hold wins over an earlier one. With ``now`` (the chat's pace) the
    hold is only set when the chat is not held already: the first waiting message sets it,
    and the outbox's own interval spaces those behind it.
    """
    insert = _insert(session)
    statement = insert(OutboxChat).values(platform=str(platform), chat_id=chat_id, next_at=until)
    held = OutboxChat.next_at < until if now is None else OutboxChat.next_at <= now
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["platform", "chat_id"],
            set_={"next_at": statement.excluded.next_at},
            where=held,
        )
    )


def _insert(session: AsyncSession) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL alike)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"outbox upserts on {name}")


class OutboxStore:
    """The sender's side of the outbox: claim, then record what happened."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        config: OutboxConfig,
        owner: str,
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self.config = config
        self._owner = owner[:64]

    async def claim(
        self,
        limit: int,
        *,
        exclude_chats: frozenset[tuple[str, int]] = frozenset(),
        platforms: frozenset[str] | None = None,
    ) -> list[OutboxMessage]:
        """Lease up to ``limit`` messages, at most one per chat: each the oldest of its chat.

        ``exclude_chats`` are chats with a send in flight; ``platforms`` limits the claim to
        the platforms this sender has a Bot for (the others' messages wait, they are not lost).
        """
        now = self._clock.now()
        pending = Outbox.status == OutboxStatus.PENDING.value
        if platforms is not None:
            pending = and_(pending, Outbox.platform.in_(sorted(platforms)))
        heads = (
            select(
                Outbox.platform.label("platform"),
                Outbox.chat_id.label("chat_id"),
                func.min(Outbox.id).label("head_id"),
            )
            .where(pending)
            .group_by(Outbox.platform, Outbox.chat_id)
            .subquery()
        )
        query = (
            select(Outbox.id, Outbox.platform, Outbox.chat_id)
            .join(heads, heads.c.head_id == Outbox.id)
            .outerjoin(OutboxDelivery, OutboxDelivery.outbox_id == Outbox.id)
            .outerjoin(
                OutboxChat,
                and_(OutboxChat.platform == Outbox.platform, OutboxChat.chat_id == Outbox.chat_id),
            )
            .where(
                or_(OutboxDelivery.not_before.is_(None), OutboxDelivery.not_before <= now),
                or_(OutboxDelivery.lease_until.is_(None), OutboxDelivery.lease_until <= now),
                or_(OutboxChat.next_at.is_(None), OutboxChat.next_at <= now),
            )
            .order_by(Outbox.id)
            .limit(limit + len(exclude_chats))
        )
        lease_until = now + dt.timedelta(seconds=self.config.lease_seconds)
        claimed: list[OutboxMessage] = []
        async with self._sessions() as session:
            candidates = [
                r
                for r in (await session.execute(query)).all()
                if (r.platform, r.chat_id) not in exclude_chats
            ][:limit]
            if not candidates:
                return []
            insert = _insert(session)
            await session.execute(
                insert(OutboxDelivery)
                .values([{"outbox_id": r.id, "flood_waits": 0} for r in candidates])
                .on_conflict_do_nothing(index_elements=["outbox_id"])
            )
            for r in candidates:
                # The lease is taken only if still free and the message still pending: another
                # sender may have won the race, and may even have sent it and given the lease
                # back since the candidates were read (two senders then sent it twice: the
                # two-sender test in tests/handoff/test_two_senders.py).
                result = await session.execute(
                    update(OutboxDelivery)
                    .where(
                        OutboxDelivery.outbox_id == r.id,
                        or_(
                            OutboxDelivery.lease_until.is_(None),
                            OutboxDelivery.lease_until <= now,
                        ),
                        OutboxDelivery.outbox_id.in_(
                            select(Outbox.id).where(
                                Outbox.id == r.id, Outbox.status == OutboxStatus.PENDING.value
                            )
                        ),
                    )
                    .values(lease_until=lease_until, lease_owner=self._owner)
                )
                if not getattr(result, "rowcount", 0):
                    continue
                await session.execute(
                    update(Outbox)
                    .where(Outbox.id == r.id, Outbox.status == OutboxStatus.PENDING.value)
                    .values(attempts=Outbox.attempts + 1)
                )
                row = await session.get(Outbox, r.id)
                assert row is not None
                claimed.append(
                    OutboxMessage(
                        row.id,
                        row.platform,
                        row.chat_id,
                        dict(row.payload),
                        row.attempts,
                        row.created_at,
                    )
                )
            await session.commit()
        return claimed

    async def _pace(
        self, session: AsyncSession, message: OutboxMessage, until: dt.datetime
    ) -> None:
        insert = _insert(session)
        statement = insert(OutboxChat).values(
            platform=message.platform, chat_id=message.chat_id, next_at=until
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["platform", "chat_id"],
                set_={"next_at": statement.excluded.next_at},
            )
        )

    async def mark_sent(self, message: OutboxMessage, platform_message_id: int | None) -> None:
        """Record a delivery; the chat rests for the per-chat interval."""
        now = self._clock.now()
        async with self._sessions() as session:
            await session.execute(
                update(Outbox)
                .where(Outbox.id == message.id)
                .values(status=OutboxStatus.SENT.value, sent_at=now, last_error=None)
            )
            await session.execute(
                update(OutboxDelivery)
                .where(OutboxDelivery.outbox_id == message.id)
                .values(lease_until=None, lease_owner=None, message_id=platform_message_id)
            )
            await self._pace(
                session,
                message,
                now + dt.timedelta(seconds=self.config.per_chat_interval_seconds),
            )
            await session.commit()

    async def flood_wait(self, message: OutboxMessage, retry_after: float) -> bool:
        """The platform said "too many requests": rest the chat; False when given up."""
        now = self._clock.now()
        async with self._sessions() as session:
            delivery = await session.get(OutboxDelivery, message.id)
            waits = (delivery.flood_waits if delivery else 0) + 1
            if waits > self.config.max_flood_waits:
                await self._fail(session, message, f"flood control: retry after {retry_after}s")
                await session.commit()
                return False
            # A flood wait is not a failed attempt: give the attempt back.
            await session.execute(
                update(Outbox)
                .where(Outbox.id == message.id)
                .values(
                    attempts=max(message.attempts - 1, 0),
                    last_error=f"retry after {retry_after}s",
                )
            )
            await session.execute(
                update(OutboxDelivery)
                .where(OutboxDelivery.outbox_id == message.id)
                .values(lease_until=None, lease_owner=None, flood_waits=waits)
            )
            await self._pace(session, message, now + dt.timedelta(seconds=max(retry_after, 0)))
            await session.commit()
        return True

    async def failed(self, message: OutboxMessage, error: str, *, permanent: bool) -> bool:
        """Record a failed try; True when it will be retried (after a back-off)."""
        now = self._clock.now()
        error = error[:500]
        async with self._sessions() as session:
            if permanent or message.attempts >= self.config.max_attempts:
                await self._fail(session, message, error)
                await session.commit()
                return False
            delay = min(
                self.config.retry_base_seconds * 2 ** max(message.attempts - 1, 0),
                self.config.retry_max_seconds,
            )
            await session.execute(
                update(Outbox).where(Outbox.id == message.id).values(last_error=error)
            )
            await session.execute(
                update(OutboxDelivery)
                .where(OutboxDelivery.outbox_id == message.id)
                .values(
                    lease_until=None,
                    lease_owner=None,
                    not_before=now + dt.timedelta(seconds=delay),
                )
            )
            await session.commit()
        return True

    async def _fail(self, session: AsyncSession, message: OutboxMessage, error: str) -> None:
        logger.warning(
            "outbox message %s to a %s chat failed for good: %s",
            message.id,
            message.platform,
            error,
        )
        await session.execute(
            update(Outbox)
            .where(Outbox.id == message.id)
            .values(status=OutboxStatus.FAILED.value, last_error=error)
        )
        await session.execute(
            update(OutboxDelivery)
            .where(OutboxDelivery.outbox_id == message.id)
            .values(lease_until=None, lease_owner=None)
        )

    async def release(self, messages: Sequence[OutboxMessage]) -> None:
        """Give back leases of messages not tried (shutdown); their attempt is not counted."""
        if not messages:
            return
        ids = [m.id for m in messages]
        async with self._sessions() as session:
            await session.execute(
                update(OutboxDelivery)
                .where(OutboxDelivery.outbox_id.in_(ids))
                .values(lease_until=None, lease_owner=None)
            )
            await session.execute(
                update(Outbox)
                .where(Outbox.id.in_(ids), Outbox.attempts > 0)
                .values(attempts=Outbox.attempts - 1)
            )
            await session.commit()

    async def counts(self) -> OutboxCounts:
        async with self._sessions() as session:
            rows = (
                await session.execute(select(Outbox.status, func.count()).group_by(Outbox.status))
            ).all()
        by = {status: int(n) for status, n in rows}
        return OutboxCounts(
            pending=by.get(OutboxStatus.PENDING.value, 0),
            sent=by.get(OutboxStatus.SENT.value, 0),
            failed=by.get(OutboxStatus.FAILED.value, 0),
        )
