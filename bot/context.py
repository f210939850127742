"""What handlers may ask for by parameter name, typed.

aiogram hands a handler any workflow-data or middleware value whose key matches a parameter
name. These TypedDicts list those keys in one place: ``BotContext`` is what
``build_dispatcher`` puts into the dispatcher, ``UpdateContext`` adds what our middlewares and
filters put in for each update (the middlewares read the data through it). aiogram's own keys
(``bot``, ``state``, ``raw_state``, ``event_chat``, ``callback_data``, ``callback_answer`` …)
come on top; ``tests/bot/test_handler_convention.py`` checks every handler's parameters
against both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from aiogram.fsm.context import FSMContext
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.deps import Services, ServicesFactory
    from bot.dialogue import Dialogue
    from bot.middlewares.dedupe import Lease
    from bot.nlu import Understander, Understanding
    from bot.platform import Platform
    from bot.render import Renderer
    from bot.reply import Reply
    from services.clock import Clock
    from services.handoff import ActiveConversation
    from services.identity import ChatUserInfo
    from services.knowledge import Retrieval
    from services.settings import Settings


class BotContext(TypedDict):
    """Long-lived objects, built once by the composition root."""

    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    understander: Understander
    services_factory: ServicesFactory


class UpdateContext(BotContext, total=False):
    """Per-update objects, each present once the middleware or filter that adds it has run."""

    # ContextMiddleware
    platform: Platform
    render: Renderer
    reply: Reply
    # DedupeMiddleware: this worker's hold on the update, completed by the unit of work
    update_lease: Lease
    # UnitOfWorkMiddleware
    session: AsyncSession
    services: Services
    # ChatUserMiddleware (private chats only)
    chat_user: ChatUserInfo
    chat_handoff: ActiveConversation | None
    # UnderstandMiddleware (the intent router)
    understanding: Understanding
    dialogue: Dialogue
    # several requests in one message, answered in turn; set when they were kept for after
    # the verification (the verification gate)
    requests: tuple[Understanding, ...]
    requests_kept: bool
    # the verification gate: answer with the handler of another understanding's intent
    answer_as: Callable[[Understanding], Awaitable[bool]]
    # the relay's InHandoff filter
    handoff: ActiveConversation
    # the knowledge router's KnowledgeQuestion filter
    retrieval: Retrieval
    # aiogram's FSM middleware (typed here because our middlewares read them)
    state: FSMContext
    raw_state: str | None
