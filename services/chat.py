"""The bot's look-up on every update: who is writing, and whether a person has their chat.

Both answers come from one query (the chat user outer-joined to the chat's queued or open
conversation). The bot needs them for every update, and each database round trip costs its
one event-loop thread (SQLAlchemy plus, on SQLite, aiosqlite's thread hand-offs), so two
separate queries were a visible share of the bot's time per update (figures in the README).

Under load, the look-ups of the updates handled in one turn of the event loop are one select
(``services/db/turn_reads.py``). Nothing is cached between updates: an agent who takes or
resolves a chat in the console is seen on the user's very next message, whichever worker
handles it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, bindparam, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import TEHRAN, Clock
from services.db.handoff_models import Conversation
from services.db.models import ChatUser
from services.db.turn_reads import keys_match, read_rows
from services.enums import ACTIVE_CONVERSATION_STATUSES, ConversationStatus
from services.handoff.results import ActiveConversation
from services.identity import MAX_FIRST_NAME, ChatUserInfo, IdentityService
from services.settings import Settings


@dataclass(frozen=True, slots=True)
class ChatArrival:
    """The chat user of an update and the chat's live handoff (None: the bot has the chat)."""

    user: ChatUserInfo
    handoff: ActiveConversation | None


_ARRIVAL_COLUMNS = (
    ChatUser.id,
    ChatUser.first_name,
    ChatUser.mobile,
    ChatUser.national_id,
    ChatUser.verified_at,
    ChatUser.locked_until,
    Conversation.id,
    Conversation.status,
    Conversation.agent_id,
)


def _arrival_select(*columns: Any) -> Select[*tuple[Any, ...]]:
    # Plain columns, not the ORM entity: loading one ChatUser object cost the bot more CPU per
    # update than the query itself.
    return select(*columns).outerjoin(
        Conversation,
        and_(
            Conversation.platform == ChatUser.platform,
            Conversation.chat_id == ChatUser.platform_user_id,
            # The statuses as SQL literals, not bound parameters: only then can the
            # database see that the partial unique index of active conversations
            # (uq_conversations_active_chat) applies. With parameters SQLite searched
            # the index of every active conversation's status instead, on each update.
            Conversation.status.in_(
                [literal_column(f"'{status}'") for status in ACTIVE_CONVERSATION_STATUSES]
            ),
        ),
    )


@functools.cache
def _arrival_query() -> Select[*tuple[Any, ...]]:
    """One chat user's arrival row (built once: SQLAlchemy and the driver reuse its compiled
    and prepared forms on every update)."""
    return (
        _arrival_select(*_ARRIVAL_COLUMNS)
        .where(
            ChatUser.platform == bindparam("platform"),
            ChatUser.platform_user_id == bindparam("platform_user_id"),
        )
        .limit(1)
    )


@functools.cache
def _arrivals_query(dialect: str) -> Select[*tuple[Any, ...]]:
    """Several chat users' arrival rows, each led by its platform user id (one loop turn's
    look-ups: ``services/db/turn_reads.py``)."""
    return _arrival_select(ChatUser.platform_user_id, *_ARRIVAL_COLUMNS).where(
        ChatUser.platform == bindparam("platform"),
        keys_match(ChatUser.platform_user_id, "platform_user_ids", dialect),
    )


class ChatLookup:
    """``arrive``: the per-update look-up of the bot's private chats."""

    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self._session = session
        self._settings = settings
        self._clock = clock

    async def arrive(
        self, platform: str, platform_user_id: int, first_name: str | None = None
    ) -> ChatArrival:
        """Return the chat user (created on first contact) and the chat's active handoff.

        One query when the user is known and their first name unchanged; a first contact or a
        new first name goes through :meth:`IdentityService.ensure_user`, which writes it.
        """
        row = await self._arrival_row(str(platform), platform_user_id)
        if row is None:
            # A brand-new chat user cannot have a conversation yet: agents start one only with
            # a chat user who exists.
            identity = IdentityService(self._session, self._settings, self._clock)
            user = await identity.ensure_user(str(platform), platform_user_id, first_name)
            return ChatArrival(user=user, handoff=None)
        (
            user_id,
            stored_name,
            mobile,
            national_id,
            verified_at,
            locked_until,
            conversation_id,
            status,
            agent_id,
        ) = row
        handoff = (
            None
            if conversation_id is None or status is None
            else ActiveConversation(conversation_id, ConversationStatus(status), agent_id)
        )
        if first_name and stored_name != first_name[:MAX_FIRST_NAME]:
            identity = IdentityService(self._session, self._settings, self._clock)
            user = await identity.ensure_user(str(platform), platform_user_id, first_name)
            return ChatArrival(user=user, handoff=handoff)
        user = ChatUserInfo(
            id=user_id,
            platform=str(platform),
            platform_user_id=platform_user_id,
            first_name=stored_name,
            mobile=mobile,
            national_id=national_id,
            verified_at=verified_at.astimezone(TEHRAN) if verified_at else None,
            locked_until=locked_until.astimezone(TEHRAN) if locked_until else None,
        )
        return ChatArrival(user=user, handoff=handoff)

    async def _arrival_row(self, platform: str, platform_user_id: int) -> tuple[Any, ...] | None:
        """The arrival row, read with the loop turn's other arrivals where it can be
        (``services/db/turn_reads.py``)."""
        rows = await read_rows(
            self._session,
            "arrival",
            _arrival_query(),
            _arrivals_query,
            key="platform_user_id",
            value=platform_user_id,
            group={"platform": platform},
        )
        return rows[0] if rows else None
