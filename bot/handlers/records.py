"""Contribution records: the last paid month, and the total record with a per-year summary.

Pensioners cannot see contribution records (the service refuses; the error router says what
they can see instead).
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot import formatting as fmt
from bot import texts
from bot.deps import Services
from bot.handlers.common import PERSONAL, Intent
from bot.reply import Reply
from services.identity import ChatUserInfo

# Years listed under the total: enough for the recent history without a wall of text.
YEARS_SHOWN = 10


async def last_contribution(
    event: Message | CallbackQuery, services: Services, chat_user: ChatUserInfo, reply: Reply
) -> None:
    """Show the newest month of record, and say so when it is overdue."""
    async with reply.typing():
        last = await services.contributions.last_record(chat_user)
    render = reply.render
    text = render.text(
        texts.LAST_RECORD,
        month=fmt.month(last.year, last.month),
        workshop=last.workshop_name or "—",
        days=fmt.digits(last.days),
        wage=fmt.amount(last.wage),
    )
    gap = services.contributions.months_overdue(last)
    if gap is not None:
        text += render.text(texts.LAST_RECORD_STALE, gap=fmt.digits(gap))
    await reply.raw(text)


async def insurance_record(
    event: Message | CallbackQuery, services: Services, chat_user: ChatUserInfo, reply: Reply
) -> None:
    """Show the total record in years/months/days, and the days of each recent year."""
    async with reply.typing():
        summary = await services.contributions.summary(chat_user)
    render = reply.render
    total = summary.total
    parts = [
        render.text(
            texts.TOTAL_RECORD,
            years=fmt.digits(total.years),
            months=fmt.digits(total.months),
            days=fmt.digits(total.days),
            total_days=fmt.digits(total.total_days),
        )
    ]
    for year in summary.years[:YEARS_SHOWN]:
        parts.append(
            render.text(
                texts.TOTAL_RECORD_YEAR, year=fmt.digits(year.year), days=fmt.digits(year.days)
            )
        )
    await reply.raw("".join(parts))


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(last_contribution, Intent("last_contribution"), flags=PERSONAL)
    router.callback_query.register(last_contribution, Intent("last_contribution"), flags=PERSONAL)
    router.message.register(insurance_record, Intent("insurance_record"), flags=PERSONAL)
    router.callback_query.register(insurance_record, Intent("insurance_record"), flags=PERSONAL)
    return router
