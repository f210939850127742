"""What the handoff's service tests share: escalating a verified user, the outbox's kinds."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.db.models import Outbox
from services.identity import ChatUserInfo
from tests.handoff.conftest import Handoff

TICKET_TEXT = "درخواست گفتگو با کارشناس"


async def escalate(handoff: Handoff, user: ChatUserInfo, **kwargs: object) -> object:
    return await handoff.escalation.escalate(
        platform=user.platform,
        chat_id=user.platform_user_id,
        chat_user_id=user.id,
        ticket_text=TICKET_TEXT,
        **kwargs,  # type: ignore[arg-type]
    )


async def outbox_kinds(session: AsyncSession, chat_id: int) -> list[str]:
    rows = await session.scalars(
        select(Outbox.payload).where(Outbox.chat_id == chat_id).order_by(Outbox.id)
    )
    return [p["kind"] for p in rows]
