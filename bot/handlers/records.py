"""Contribution records: the last paid month, and the total record with a per-year summary.

Pensioners cannot see contribution records (the service refuses; the error router says what
they can see instead).
"""

from __future__ import annotations

from aiogram import Router

from bot import formatting as fmt
from bot import texts
from bot.handlers.common import IntentRegistry, Turn
from persian import to_jalali

# Years listed under the total: enough for the recent history without a wall of text.
YEARS_SHOWN = 10


async def last_contribution(turn: Turn) -> None:
    """Show the newest month of record."""
    async with turn.reply.typing():
        last = await turn.services.contributions.last_record(turn.user)
    render = turn.reply.render
    text = render.text(
        texts.LAST_RECORD,
        month=fmt.month(last.year, last.month),
        workshop=last.workshop_name or "—",
        days=fmt.digits(last.days),
        wage=fmt.amount(last.wage),
    )
    year, month, _ = to_jalali(turn.clock.today())
    gap = (year * 12 + month) - (last.year * 12 + last.month)
    # Employers have until the end of the following month, so one month behind is normal.
    if gap > 2:
        text += render.text(texts.LAST_RECORD_STALE, gap=fmt.digits(gap))
    await turn.reply.raw(text)


async def insurance_record(turn: Turn) -> None:
    """Show the total record in years/months/days, and the days of each recent year."""
    async with turn.reply.typing():
        summary = await turn.services.contributions.summary(turn.user)
    render = turn.reply.render
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
    await turn.reply.raw("".join(parts))


def register(registry: IntentRegistry) -> Router:
    router = Router(name=__name__)
    registry.add("last_contribution", last_contribution, personal=True)
    registry.add("insurance_record", insurance_record, personal=True)
    return router
