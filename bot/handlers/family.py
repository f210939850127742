"""The family list: each dependant with relation and treatment cover (personal).

«افراد تحت تکفلم کیان؟» and the family menu button list everyone; adding someone is a button
under the list, not the default. The cover shown is the official eligibility answer (a dependant
is covered only while the main insured is), so the list carries its inquiry's tracking code.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot import formatting as fmt
from bot import keyboards, texts
from bot.deps import Services
from bot.dialogue import Dialogue
from bot.handlers.common import PERSONAL, Intent
from bot.handlers.eligibility import named_rows, remember_rows, render_result
from bot.nlu import Understanding
from bot.reply import Reply
from services.identity import ChatUserInfo
from services.settings import Settings


async def family_list(
    event: Message | CallbackQuery,
    understanding: Understanding,
    services: Services,
    chat_user: ChatUserInfo,
    settings: Settings,
    dialogue: Dialogue,
    reply: Reply,
) -> None:
    """List the user's dependants with their cover, and offer to add one."""
    async with reply.typing():
        result = await services.eligibility.inquire(chat_user)
    dependants = tuple(r for r in result.rows if r.relation is not None)
    if not dependants:
        await reply(texts.FAMILY_EMPTY, keyboard=keyboards.add_dependant())
        return
    rows = named_rows(dependants, understanding.text)
    text = reply.render.text(texts.FAMILY_HEADER, count=fmt.digits(len(dependants)))
    text += render_result(reply, settings, result, rows)
    text += reply.render.text(texts.FAMILY_ADD_OFFER)
    await reply.raw(text, keyboard=keyboards.add_dependant())
    # An eligibility answer about them: «تا کی؟», «پسرم چرا نداره؟», «خودم چی؟» follow it.
    await remember_rows(dialogue, settings, rows, None, result.family)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(family_list, Intent("family_list"), flags=PERSONAL)
    router.callback_query.register(family_list, Intent("family_list"), flags=PERSONAL)
    return router
