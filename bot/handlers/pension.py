"""Pension slip: a named month's payslip, or the last one and the net of recent months
(pensioners only)."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot import formatting as fmt
from bot import texts
from bot.deps import Services
from bot.dialogue import Dialogue
from bot.handlers.common import PERSONAL, Intent
from bot.nlu import Understanding
from bot.reply import Reply
from persian.jalali import resolve_month
from services.clock import Clock
from services.identity import ChatUserInfo
from services.pension import PensionSlip

RECENT_MONTHS = 6


async def pension_slip(
    event: Message | CallbackQuery,
    understanding: Understanding,
    services: Services,
    chat_user: ChatUserInfo,
    clock: Clock,
    dialogue: Dialogue,
    reply: Reply,
) -> None:
    """Show the payslip of the month named («فیش مهر»), or the last one and the recent months."""
    asked = understanding.entity("month")
    if asked is not None:
        # The NLU has no clock: «مهر» and «سه ماه پیش» are resolved against today here.
        year, month = resolve_month(asked, clock.today())
        shown = await month_slip(reply, services, chat_user, year, month)
        # The month shown, for «ماه قبلش چی؟».
        await dialogue.remember("pension_slip", answer={"month": f"{shown[0]}-{shown[1]:02d}"})
        return
    async with reply.typing():
        slips = await services.pension.recent(chat_user, months=RECENT_MONTHS)
    render = reply.render
    last = slips[0]
    parts = [slip_text(reply, last)]
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


def slip_text(reply: Reply, slip: PensionSlip) -> str:
    return reply.render.text(
        texts.PENSION_SLIP,
        month=fmt.month(slip.year, slip.month),
        gross=fmt.amount(slip.gross),
        deductions=fmt.amount(slip.deductions),
        net=fmt.amount(slip.net),
        paid=fmt.date_long(slip.paid_on),
    )


async def month_slip(
    reply: Reply, services: Services, chat_user: ChatUserInfo, year: int, month: int
) -> tuple[int, int]:
    """Show one month's payslip; when there is none, say so and show the nearest one.

    Returns the (year, month) of the slip shown."""
    async with reply.typing():
        found = await services.pension.slip_of_month(chat_user, year, month)
    if found.slip is not None:
        await reply.raw(slip_text(reply, found.slip))
        return found.slip.year, found.slip.month
    nearest = found.nearest
    assert nearest is not None  # the service gives the nearest whenever the month is missing
    text = reply.render.text(
        texts.PENSION_MONTH_MISSING,
        month=fmt.month(year, month),
        nearest=fmt.month(nearest.year, nearest.month),
    )
    await reply.raw(text + slip_text(reply, nearest))
    return nearest.year, nearest.month


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(pension_slip, Intent("pension_slip"), flags=PERSONAL)
    router.callback_query.register(pension_slip, Intent("pension_slip"), flags=PERSONAL)
    return router
