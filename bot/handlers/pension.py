"""Pension slip: the last payslip and the net of recent months (pensioners only)."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot import formatting as fmt
from bot import texts
from bot.deps import Services
from bot.dialogue import Dialogue
from bot.handlers.common import PERSONAL, Intent
from bot.reply import Reply
from services.identity import ChatUserInfo

RECENT_MONTHS = 6


async def pension_slip(
    event: Message | CallbackQuery,
    services: Services,
    chat_user: ChatUserInfo,
    dialogue: Dialogue,
    reply: Reply,
) -> None:
    """Show the last payslip and the recent months."""
    async with reply.typing():
        slips = await services.pension.recent(chat_user, months=RECENT_MONTHS)
    render = reply.render
    last = slips[0]
    parts = [
        render.text(
            texts.PENSION_SLIP,
            month=fmt.month(last.year, last.month),
            gross=fmt.amount(last.gross),
            deductions=fmt.amount(last.deductions),
            net=fmt.amount(last.net),
            paid=fmt.date_long(last.paid_on),
        )
    ]
    if len(slips) > 1:
        parts.append(render.text(texts.PENSION_RECENT_HEADER))
        for slip in slips[1:]:
            parts.append(
                render.text(
                    texts.PENSION_RECENT_ROW,
                    month=fmt.month(slip.year, slip.month),
                    net=fmt.amount(slip.net),
                )
            )
    await reply.raw("".join(parts))
    # The month shown, for «فیش مهر رو هم بده» and the like.
    await dialogue.remember("pension_slip", answer={"month": f"{last.year}-{last.month:02d}"})


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(pension_slip, Intent("pension_slip"), flags=PERSONAL)
    router.callback_query.register(pension_slip, Intent("pension_slip"), flags=PERSONAL)
    return router
