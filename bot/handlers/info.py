"""Public information: channels and whether 1420 answers now, portal registration, booklets.

None of it needs verification.
"""

from __future__ import annotations

import datetime as dt

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot import formatting as fmt
from bot import texts
from bot.deps import Services
from bot.handlers.common import Intent
from bot.nlu import Understanding
from bot.reply import Reply
from services.info import Channels, InfoService


def hours_text(channels: Channels) -> str:
    """Return «شنبه تا چهارشنبه ۰۸:۰۰ تا ۲۰:۰۰؛ پنجشنبه ۰۸:۰۰ تا ۱۶:۰۰» (runs of equal days)."""
    if channels.always_open:
        return texts.CONTACT_HOURS_ALWAYS
    runs: list[tuple[list[str], dt.time, dt.time]] = []
    for day in channels.hours:
        if day.opens is None or day.closes is None:
            continue
        if runs and (runs[-1][1], runs[-1][2]) == (day.opens, day.closes):
            runs[-1][0].append(day.weekday)
        else:
            runs.append(([day.weekday], day.opens, day.closes))
    parts = []
    for days, opens, closes in runs:
        names = [texts.WEEKDAY_NAMES[d] for d in days]
        label = names[0] if len(names) == 1 else f"{names[0]} تا {names[-1]}"
        parts.append(
            texts.HOURS_RANGE.format(
                days=label,
                start=fmt.time_of_day(opens),
                end=fmt.time_of_day(closes),
            )
        )
    return "؛ ".join(parts)


def open_now_text(info: InfoService) -> str:
    """Return whether 1420's agents answer right now, and when they next do if not."""
    status = info.is_open()
    if status.open:
        return texts.CONTACT_OPEN_NOW
    next_open = ""
    if status.next_opening is not None:
        next_open = texts.CONTACT_NEXT_OPEN.format(when=fmt.jalali_moment(status.next_opening))
    return texts.CONTACT_CLOSED_NOW.format(next_open=next_open)


async def contact_info(
    event: Message | CallbackQuery,
    services: Services,
    reply: Reply,
    understanding: Understanding | None = None,
) -> None:
    """List the channels, the hours and whether 1420 is open now; or, for a follow-up naming
    a day («جمعه‌ها چی؟», bot/dialogue.py), that day's hours."""
    info = services.info
    channels = info.channels()
    weekday = understanding.entity("weekday") if understanding is not None else None
    day = next((d for d in channels.hours if d.weekday == weekday), None)
    if day is not None:
        name = texts.WEEKDAY_NAMES[day.weekday]
        if channels.always_open:
            await reply(texts.CONTACT_DAY_ALWAYS, phone=fmt.digits(channels.phone), day=name)
        elif day.opens is None or day.closes is None:
            await reply(
                texts.CONTACT_DAY_CLOSED,
                phone=fmt.digits(channels.phone),
                day=name,
                hours=hours_text(channels),
            )
        else:
            await reply(
                texts.CONTACT_DAY_OPEN,
                phone=fmt.digits(channels.phone),
                day=name,
                start=fmt.time_of_day(day.opens),
                end=fmt.time_of_day(day.closes),
            )
        return
    await reply(
        texts.CONTACT_INFO,
        phone=fmt.digits(channels.phone),
        hours=hours_text(channels),
        open_now=open_now_text(info),
        ussd=fmt.digits(channels.ussd),
        app=channels.app_name,
        account=channels.account_url,
        portal=channels.portal_url,
    )


async def eservices_registration(
    event: Message | CallbackQuery, services: Services, reply: Reply
) -> None:
    """Give the portal registration steps."""
    channels = services.info.channels()
    await reply(
        texts.PORTAL_REGISTRATION,
        portal=channels.portal_url,
        app=channels.app_name,
        account=channels.account_url,
    )


async def booklet_renewal(
    event: Message | CallbackQuery, services: Services, reply: Reply
) -> None:
    """Say that booklets need no renewal, and how to check eligibility instead."""
    channels = services.info.channels()
    await reply(
        texts.BOOKLET_RENEWAL,
        ussd=fmt.digits(channels.ussd),
        app=channels.app_name,
        urls=" / ".join(channels.eligibility_urls),
    )


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(contact_info, Intent("contact_info"))
    router.callback_query.register(contact_info, Intent("contact_info"))
    router.message.register(eservices_registration, Intent("eservices_registration"))
    router.callback_query.register(eservices_registration, Intent("eservices_registration"))
    router.message.register(booklet_renewal, Intent("booklet_renewal"))
    router.callback_query.register(booklet_renewal, Intent("booklet_renewal"))
    return router
