"""Questions near a personal intent that it cannot answer: retirement, عیدی, unemployment.

«کی بازنشسته میشم؟» reads much like «سابقهٔ کل», «عیدی» like «فیش حقوقی» and «بیمه بیکاری» like
an eligibility or record question, so the classifier may send them there. Answering them with
a payslip or a record table would be wrong, so this router stands before those intents: when
the text names one of these topics it gives the honest answer instead (what the record says,
and where to ask). Everything else passes through to the intent's own handler.
"""

from __future__ import annotations

import re
from typing import Final

from aiogram import Router
from aiogram.filters import BaseFilter
from aiogram.types import Message

from bot import formatting as fmt
from bot import texts
from bot.deps import Services
from bot.nlu import Understanding
from bot.reply import Reply
from persian import normalize
from services.identity import ChatUserInfo

# The intents these topics are mistaken for.
GUARDED: Final = (
    "check_eligibility",
    "last_contribution",
    "insurance_record",
    "pension_slip",
    "voluntary_insurance",
)
_SP: Final = r"[\u200c ]?"
TOPICS: Final = {
    "retirement": re.compile(
        rf"بازنشسته\s*(?:می|نمی)?{_SP}(?:شم|شوم|بشم|بشوم)|کی\s+(?:می{_SP}تونم\s+)?بازنشسته"
        rf"|(?:سن|شرایط|زمان|موعد)\s+بازنشستگی|بازنشستگی(?:م|{_SP}ام)?\s+(?:کی|چه\s+موقع)"
        r"|retire|bazneshaste"
    ),
    "eidi": re.compile(r"عیدی|eidi"),
    "unemployment": re.compile(r"بیکاری|bikari"),
}


# «کی بازنشسته میشم؟»: the user asks about their own retirement, which the knowledge base can
# only answer in general; the record can say more, whatever the classifier made of it.
MY_RETIREMENT: Final = re.compile(
    rf"بازنشسته\s*(?:می|نمی)?{_SP}(?:شم|شوم|بشم|بشوم)|کی\s+(?:می{_SP}تونم\s+)?بازنشسته"
    r"|bazneshaste\s*(?:mi|ne?mi)?\s*(?:sham|besham)"
)


def topic_of(text: str) -> str | None:
    """The topic a message names (see ``TOPICS``), or None."""
    if not text:
        return None
    norm = normalize(text)
    for topic, pattern in TOPICS.items():
        if pattern.search(norm):
            return topic
    return None


class Guarded(BaseFilter):
    """Match a message understood as one of the ``GUARDED`` intents.

    Deliberately not an ``Intent``: the verification gate answers a kept request with the first
    handler whose ``Intent`` names it, which must stay that intent's own handler.
    """

    async def __call__(self, message: Message, understanding: Understanding | None = None) -> bool:
        return (
            understanding is not None
            and not understanding.unsure
            and understanding.intent in GUARDED
        )


class AsksWhenIRetire(BaseFilter):
    """Match a question about the user's own retirement (``MY_RETIREMENT``), whatever the
    intent: the knowledge base answers retirement rules, the record answers this."""

    async def __call__(self, message: Message) -> bool:
        return (
            bool(message.text) and MY_RETIREMENT.search(normalize(message.text or "")) is not None
        )


class AskedAbout(BaseFilter):
    """Match a message whose text names ``topic``."""

    def __init__(self, topic: str) -> None:
        self.topic = topic

    async def __call__(self, message: Message, understanding: Understanding) -> bool:
        return topic_of(understanding.text) == self.topic


async def retirement(
    message: Message, services: Services, chat_user: ChatUserInfo, reply: Reply
) -> None:
    """Say what the record says so far (to a verified user), and where retirement is worked
    out. Not personal: the gate would answer a kept request with the intent's own handler."""
    if not chat_user.is_verified:
        await reply(texts.RETIREMENT_GENERAL)
        return
    async with reply.typing():
        summary = await services.contributions.summary(chat_user)
    total = summary.total
    await reply(
        texts.RETIREMENT_RECORD,
        years=fmt.digits(total.years),
        months=fmt.digits(total.months),
        days=fmt.digits(total.days),
        total_days=fmt.digits(total.total_days),
    )


async def eidi(message: Message, reply: Reply) -> None:
    """Say that عیدی is not something the assistant can see, and where to ask."""
    await reply(texts.TOPIC_EIDI)


async def unemployment(message: Message, reply: Reply) -> None:
    """Say that unemployment insurance is not something the assistant can see."""
    await reply(texts.TOPIC_UNEMPLOYMENT)


def build_router() -> Router:
    router = Router(name=__name__)
    guarded = Guarded()
    router.message.register(retirement, AsksWhenIRetire())
    router.message.register(retirement, guarded, AskedAbout("retirement"))
    router.message.register(eidi, guarded, AskedAbout("eidi"))
    router.message.register(unemployment, guarded, AskedAbout("unemployment"))
    return router
