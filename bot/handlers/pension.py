"""Pension slip: the last payslip and the net of recent months (pensioners only)."""

from __future__ import annotations

from aiogram import Router

from bot import formatting as fmt
from bot import texts
from bot.handlers.common import IntentRegistry, Turn

RECENT_MONTHS = 6


async def pension_slip(turn: Turn) -> None:
    """Show the last payslip and the recent months."""
    async with turn.reply.typing():
        slips = await turn.services.pension.recent(turn.user, months=RECENT_MONTHS)
    render = turn.reply.render
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
    await turn.reply.raw("".join(parts))


def register(registry: IntentRegistry) -> Router:
    router = Router(name=__name__)
    registry.add("pension_slip", pension_slip, personal=True)
    return router
