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
from bot.dialogue import Dialogue
from bot.handlers.common import PERSONAL, Intent
from bot.nlu import Understanding
from bot.reply import Reply
from persian.jalali import resolve_month
from services.clock import Clock
from services.identity import ChatUserInfo

# Years listed under the total: enough for the recent history without a wall of text.
YEARS_SHOWN = 10


async def last_contribution(
    event: Message | CallbackQuery,
    understanding: Understanding,
    services: Services,
    chat_user: ChatUserInfo,
    clock: Clock,
    dialogue: Dialogue,
    reply: Reply,
) -> None:
    """Show the newest month of record, and say so when it is overdue; or the month asked
    («ماه قبلش چی؟» after it: ``bot.dialogue`` names that month), as the newest when it is
    («بیمه ماه پیش منو رد کرده؟» when last month is the last on record)."""
    asked = understanding.entity("month")
    async with reply.typing():
        last = await services.contributions.last_record(chat_user)
    if asked is not None:
        year, month = resolve_month(asked, clock.today())
        if (year, month) != (last.year, last.month):
            await month_record(reply, services, chat_user, year, month)
            await dialogue.remember("last_contribution", answer={"month": f"{year}-{month:02d}"})
            return
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
    # The month shown, for «ماه قبلش چی؟».
    await dialogue.remember("last_contribution", answer={"month": f"{last.year}-{last.month:02d}"})


async def month_record(
    reply: Reply, services: Services, chat_user: ChatUserInfo, year: int, month: int
) -> None:
    """Show the record of one month, or say there is none."""
    async with reply.typing():
        record = await services.contributions.record_of_month(chat_user, year, month)
    if record is None:
        await reply(texts.MONTH_RECORD_NONE, month=fmt.month(year, month))
        return
    await reply(
        texts.MONTH_RECORD,
        month=fmt.month(year, month),
        workshop=record.workshop_name or "—",
        days=fmt.digits(record.days),
        wage=fmt.amount(record.wage),
    )


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
