"""/settings: the user switches each kind of proactive notice on or off (issue 18).

/settings or the menu's «🔔 اعلان‌ها» button shows one message that lists the kinds (``services.enums.NoticeKind``) as inline buttons marked ✅ or ⬜️;
a press switches that kind and redraws the buttons in place. ``NoticeToggle`` validates its
values when it unpacks, so a forged or outdated kind never reaches the handler (the fallback's
"this button is no longer active" answers it). The defaults and the rules behind each kind are
in ``services.notices``.

```mermaid
flowchart LR
    S[/settings/] --> K[kinds with ✅/⬜️]
    K -- press --> T[switch the kind] --> K
```
"""

from __future__ import annotations

import contextlib

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot import formatting as fmt
from bot import keyboards, texts
from bot.deps import Services
from bot.handlers.common import Intent
from bot.reply import Reply
from services.identity import ChatUserInfo
from services.settings import Settings

# The menu button's intent (texts.MENU); the NLU has no sentences for it.
NOTICE_SETTINGS = "notice_settings"


async def on_settings(
    message: Message,
    services: Services,
    settings: Settings,
    chat_user: ChatUserInfo,
    reply: Reply,
) -> None:
    """Show the notice kinds, each with its switch."""
    quiet = settings.config.notices
    await reply(
        texts.SETTINGS_INTRO,
        quiet_start=fmt.time_of_day(quiet.quiet_start),
        quiet_end=fmt.time_of_day(quiet.quiet_end),
        keyboard=keyboards.notice_settings(await services.notices.all(chat_user.id)),
    )


async def on_toggle(
    query: CallbackQuery,
    callback_data: keyboards.NoticeToggle,
    services: Services,
    chat_user: ChatUserInfo,
    reply: Reply,
) -> None:
    """Switch one kind and redraw the buttons."""
    await services.notices.set(chat_user.id, callback_data.kind, callback_data.on)
    choices = await services.notices.all(chat_user.id)
    message = query.message
    if isinstance(message, Message):
        # Redrawing is a courtesy: "message is not modified" (a double press), or a platform
        # without the edit, still gets the confirmation below.
        with contextlib.suppress(TelegramAPIError):
            await message.edit_reply_markup(reply_markup=keyboards.notice_settings(choices))
    await reply(
        texts.SETTINGS_SAVED_ON if callback_data.on else texts.SETTINGS_SAVED_OFF,
        kind=texts.NOTICE_KIND_LABELS[callback_data.kind.value],
    )


def build_router() -> Router:
    """/settings and its switches (with the commands, before the intents)."""
    router = Router(name=__name__)
    router.message.register(on_settings, Command("settings"))
    router.callback_query.register(on_toggle, keyboards.NoticeToggle.filter())
    return router


def build_intent_router() -> Router:
    """The menu's «🔔 اعلان‌ها» button (the menu-only intent ``notice_settings``)."""
    router = Router(name=f"{__name__}.menu")
    router.message.register(on_settings, Intent(NOTICE_SETTINGS))
    return router
