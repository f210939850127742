"""Agent relay: the messenger side of the handoff to a 1420 agent.

- ``hand_over`` escalates a chat (the human_agent intent, the "talk to a person" button after
  a second miss) and tells the user their place and rough wait, or the ticket filed instead.
- While an agent owns the chat (``open``) every message — text, photo, document — is stored
  for the console and the bot stays silent; other kinds get a short note that they do not
  reach the agent. While the chat waits (``queued``) its messages are stored for the agent
  too, and then the bot answers them as usual.
- "Back to the bot" (a reply button) and /cancel leave the queue or the agent's chat.
- After the agent resolves, the 1–5 rating buttons come here.

Agent replies travel the other way through the outbox (``bot.outbound``), never from here.

```mermaid
stateDiagram-v2
    [*] --> bot
    bot --> queued: human_agent / offered after a 2nd miss (in hours, agent online)
    bot --> ticketed: human_agent (closed or nobody online) → 1420 ticket
    queued --> open: an agent takes it (console)
    queued --> bot: /cancel or «بازگشت به دستیار»
    open --> queued: the agent returns it to the queue
    open --> open: transferred to another agent
    open --> resolved: the agent resolves → rating question 1–5
    open --> bot: /cancel or «بازگشت به دستیار»
    resolved --> bot: rating (optional)
    ticketed --> bot
```
"""

from __future__ import annotations

import io
import logging
from typing import Any

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import BaseFilter, Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot import formatting as fmt
from bot import keyboards, texts
from bot.acts import asks_about_the_wait
from bot.deps import Services
from bot.filters import inline
from bot.keyboards import SatisfactionVote
from bot.reply import Reply
from services.enums import (
    ClosedBecause,
    ConversationStatus,
    HandoffReason,
    MessageKind,
    RateOutcome,
)
from services.handoff import (
    ActiveConversation,
    EscalationOutcome,
    LeftConversation,
    Queued,
    Ticketed,
)
from services.identity import ChatUserInfo

logger = logging.getLogger(__name__)


# --- escalation (called by the human_agent intent) -------------------------------------------


async def hand_over(
    *,
    services: Services,
    reply: Reply,
    state: FSMContext | None,
    platform: str,
    chat_id: int,
    chat_user: ChatUserInfo,
    reason: HandoffReason = HandoffReason.HUMAN_AGENT,
    user_text: str | None = None,
) -> EscalationOutcome:
    """Hand the chat to a person and tell the user what happens next."""
    if state is not None:
        # Whatever flow was half done is over: the person will take it from here.
        await state.clear()
    ticket_text = texts.HUMAN_TICKET_TEXT
    if user_text:
        ticket_text += "\n" + user_text
    # The transcript the agent reads comes from the intent log: write what it still holds,
    # here and in every other worker (bot/intent_log_flush.py). On SQLite in this update's own
    # session: it may hold the one write lock already (a first contact's chat_users row), and
    # a write on another connection waited for it until the 30 s busy timeout.
    await services.intent_log.flush_all(services.session)
    outcome = await services.handoff.escalate(
        platform=str(platform),
        chat_id=chat_id,
        chat_user_id=chat_user.id,
        reason=reason,
        ticket_text=ticket_text,
    )
    if isinstance(outcome, Queued):
        await say_queued(reply, outcome, still=outcome.already)
    elif isinstance(outcome, Ticketed):
        next_opening = ""
        if outcome.next_opening is not None and outcome.because is ClosedBecause.OUTSIDE_HOURS:
            when = f"{fmt.date_long(outcome.next_opening.date())} {fmt.clock_time(outcome.next_opening)}"
            next_opening = reply.render.plain(texts.HANDOFF_NEXT_OPENING, when=when)
        template = (
            texts.HANDOFF_TICKETED_CLOSED
            if outcome.because is ClosedBecause.OUTSIDE_HOURS
            else texts.HANDOFF_TICKETED_NOBODY
        )
        await reply(
            template,
            next_opening=next_opening,
            code=fmt.code(outcome.tracking_code),
            due=fmt.date_long(outcome.due_date),
            keyboard=keyboards.main_menu(),
        )
    else:
        await reply(texts.HANDOFF_WITH_AGENT, keyboard=keyboards.back_to_bot())
    return outcome


async def say_queued(reply: Reply, queued: Queued, *, still: bool) -> None:
    """The chat's place in the queue and the wait, with the way back to the bot."""
    await reply(
        texts.HANDOFF_STILL_QUEUED if still else texts.HANDOFF_QUEUED,
        position=fmt.digits(queued.position),
        wait=fmt.digits(queued.wait_minutes),
        button=texts.BTN_BACK_TO_BOT,
        keyboard=keyboards.back_to_bot(),
    )


async def leave_handoff(
    services: Services, platform: str, chat_id: int
) -> LeftConversation | None:
    """Take the chat out of the queue or away from the agent (None when it was in neither)."""
    return await services.handoff.leave(str(platform), chat_id)


async def _say_left(reply: Reply, left: LeftConversation | None) -> None:
    if left is None:
        await reply(texts.HANDOFF_NOT_IN_QUEUE, keyboard=keyboards.main_menu())
    elif left.was is ConversationStatus.QUEUED:
        await reply(texts.HANDOFF_LEFT_QUEUE, keyboard=keyboards.main_menu())
    else:
        await reply(texts.HANDOFF_LEFT_CHAT, keyboard=keyboards.main_menu())


# --- filters ---------------------------------------------------------------------------------


class InHandoff(BaseFilter):
    """Match an update of a private chat that is queued or with an agent; hand over its state.

    The state comes from the chat-user middleware's look-up of this update (``chat_handoff``),
    so no filter asks the database again.
    """

    def __init__(self, *statuses: ConversationStatus) -> None:
        self.statuses = frozenset(statuses or tuple(ConversationStatus))

    async def __call__(
        self,
        event: Message | CallbackQuery,
        chat_user: ChatUserInfo | None = None,
        chat_handoff: ActiveConversation | None = None,
    ) -> bool | dict[str, Any]:
        if chat_user is None or chat_handoff is None:  # not a private chat, or the bot's
            return False
        if chat_handoff.status not in self.statuses:
            return False
        return {"handoff": chat_handoff}


# --- handlers --------------------------------------------------------------------------------


async def on_leave(
    message: Message,
    services: Services,
    platform: str,
    reply: Reply,
    state: FSMContext,
) -> None:
    """Leave the queue or the agent's chat and give the menu back."""
    await state.clear()
    left = await leave_handoff(services, str(platform), message.chat.id)
    await _say_left(reply, left)


async def on_cancel_in_handoff(
    message: Message,
    handoff: ActiveConversation,
    services: Services,
    platform: str,
    reply: Reply,
    state: FSMContext,
) -> None:
    """/cancel (or the cancel button) while queued or with an agent: leave the handoff."""
    await on_leave(message, services, platform, reply, state)


def _kind_of(message: Message) -> MessageKind | None:
    if message.photo:
        return MessageKind.PHOTO
    if message.document:
        return MessageKind.DOCUMENT
    if message.text is not None:
        return MessageKind.TEXT
    return None


async def _download(bot: Bot, file_id: str, size: int | None, limit: int) -> bytes | None:
    """The file's bytes for the console, or None when too large or not downloadable."""
    if size is not None and size > limit:
        return None
    try:
        buffer = await bot.download(file_id, destination=io.BytesIO())
    except Exception:  # the file stays referenced by its id; the agent is told it is missing
        logger.warning("could not download a relayed file", exc_info=True)
        return None
    if buffer is None:
        return None
    data = buffer.read()
    return data if len(data) <= limit else None


def _image_type(data: bytes) -> str | None:
    """The image type of a photo's bytes (Telegram sends JPEG; a sandbox or client may not)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


async def on_message_in_handoff(
    message: Message,
    handoff: ActiveConversation,
    bot: Bot,
    services: Services,
    reply: Reply,
) -> None:
    """Store the user's message for the agent; silent while open, the bot answers if pending."""
    service = services.handoff
    kind = _kind_of(message)
    if kind is None:
        if handoff.status is ConversationStatus.OPEN:
            await reply(texts.HANDOFF_UNSUPPORTED)
            return
        raise SkipHandler()
    file_id = file_name = mime_type = None
    content: bytes | None = None
    size: int | None = None
    if message.photo:
        photo = message.photo[-1]  # the largest size
        file_id, size, mime_type = photo.file_id, photo.file_size, "image/jpeg"
    elif message.document:
        document = message.document
        file_id, size = document.file_id, document.file_size
        file_name, mime_type = document.file_name, document.mime_type
    limit = service.config.max_attachment_bytes
    if file_id is not None:
        content = await _download(bot, file_id, size, limit)
        if content is not None and kind is MessageKind.PHOTO:
            mime_type = _image_type(content) or mime_type
    await service.record_user_message(
        handoff.id,
        kind=kind,
        text=message.text if kind is MessageKind.TEXT else message.caption,
        file_id=file_id,
        file_name=file_name,
        mime_type=mime_type,
        content=content,
    )
    if handoff.status is ConversationStatus.QUEUED:
        if kind is MessageKind.TEXT and asks_about_the_wait(message.text or ""):
            # «حالا تا کی باید منتظر بمونم؟»: the place and the wait now, not a rule's answer.
            standing = await service.standing(handoff.id)
            if isinstance(standing, Queued):
                await say_queued(reply, standing, still=True)
                return
        # Queued, not yet with an agent: the bot keeps answering (the next routers).
        raise SkipHandler()
    if file_id is not None and content is None and size is not None and size > limit:
        await reply(texts.HANDOFF_FILE_TOO_LARGE)


async def on_back_without_handoff(
    message: Message,
    services: Services,
    platform: str,
    reply: Reply,
    state: FSMContext,
) -> None:
    """«بازگشت به دستیار» pressed after the chat already ended: give the menu back."""
    await on_leave(message, services, platform, reply, state)


async def on_button_while_open(
    query: CallbackQuery, handoff: ActiveConversation, callback_answer: CallbackAnswer
) -> None:
    """An old inline button while an agent has the chat: a short note, no bot answer."""
    callback_answer.text = texts.HANDOFF_BUTTON_WHILE_OPEN


async def on_rating(
    query: CallbackQuery,
    callback_data: SatisfactionVote,
    services: Services,
    platform: str,
    reply: Reply,
    callback_answer: CallbackAnswer,
) -> None:
    """Record the 1–5 rating of a resolved conversation (once) and thank the user."""
    if query.message is None or not 1 <= callback_data.rating <= 5:
        callback_answer.text = texts.HANDOFF_RATING_CLOSED
        return
    outcome = await services.handoff.rate(
        platform=str(platform),
        chat_id=query.message.chat.id,
        conversation_id=callback_data.conversation_id,
        rating=callback_data.rating,
    )
    if outcome is RateOutcome.THANKS:
        if isinstance(query.message, Message):
            await query.message.edit_reply_markup(reply_markup=None)
        await reply(texts.HANDOFF_RATED, rating=fmt.digits(callback_data.rating))
    elif outcome is RateOutcome.ALREADY_RATED:
        callback_answer.text = texts.HANDOFF_ALREADY_RATED
    else:
        callback_answer.text = texts.HANDOFF_RATING_CLOSED


def build_router() -> Router:
    """The relay: after the commands and the flow steps, before the intent router."""
    router = Router(name=__name__)
    router.callback_query.register(on_rating, SatisfactionVote.filter())
    router.message.register(on_leave, inline(F.text == texts.BTN_BACK_TO_BOT), InHandoff())
    router.message.register(on_message_in_handoff, InHandoff())
    router.message.register(on_back_without_handoff, inline(F.text == texts.BTN_BACK_TO_BOT))
    router.callback_query.register(on_button_while_open, InHandoff(ConversationStatus.OPEN))
    return router


def build_leave_router() -> Router:
    """/cancel and the cancel button leave the handoff: placed just before the commands, so
    they win over the commands router's /cancel only for chats in the handoff."""
    router = Router(name=f"{__name__}.leave")
    router.message.register(on_cancel_in_handoff, Command("cancel"), InHandoff())
    router.message.register(on_cancel_in_handoff, inline(F.text == texts.BTN_CANCEL), InHandoff())
    return router
