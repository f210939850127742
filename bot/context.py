"""What handlers may ask for by parameter name, typed.

aiogram hands a handler any workflow-data or middleware value whose key matches a parameter
name. These TypedDicts list those keys in one place so that names are checked (``BotContext``
is what ``build_dispatcher`` puts into the dispatcher; ``UpdateContext`` adds what the outer
middlewares put in for each update).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.deps import Services, ServicesFactory
    from bot.handlers.common import IntentRegistry
    from bot.nlu import Understander
    from bot.platform import Platform
    from bot.render import Renderer
    from bot.reply import Reply
    from services.clock import Clock
    from services.handoff import ActiveConversation
    from services.identity import ChatUserInfo
    from services.settings import Settings


class BotContext(TypedDict):
    """Long-lived objects, built once by the composition root."""

    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    understander: Understander
    registry: IntentRegistry
    services_factory: ServicesFactory
    # Anything else the composition root adds (e.g. the agent relay once the console lands).
    extras: dict[str, Any]


class UpdateContext(BotContext, total=False):
    """Per-update objects added by the outer middlewares."""

    platform: Platform
    render: Renderer
    reply: Reply
    session: AsyncSession
    services: Services
    chat_user: ChatUserInfo
    chat_handoff: ActiveConversation | None
