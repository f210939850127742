"""The messenger side of the handoff through the real dispatcher (a recording Bot API fake):
escalation, the pending chat the bot still answers, the silent relay while an agent has the
chat, leaving, and the satisfaction buttons after the agent resolves."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid

import pytest
from aiogram.types import PhotoSize, Sticker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import texts
from bot.factory import BotDeps
from bot.render import visible_text
from nlu import NluModel
from services.clock import FixedClock
from services.db.handoff_models import Conversation, ConversationMessage
from services.knowledge.store import KnowledgeStore
from services.settings import Settings
from tests.bot.conftest import ChatDriver, Harness, make_harness
from tests.handoff.conftest import MARYAM, AgentFactory, Handoff

ASK_HUMAN = "می‌خوام با کارشناس صحبت کنم"


@pytest.fixture
def harness(
    demo_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
    nlu_model: NluModel,
    knowledge_store: KnowledgeStore,
) -> Harness:
    deps = BotDeps(
        settings=db_settings,
        session_factory=session_factory,
        clock=clock,
        nlu=nlu_model,
        knowledge=knowledge_store,
    )
    return make_harness(deps, (None, f"relay-{uuid.uuid4().hex[:8]}"), clock=clock)


async def verified_chat(harness: Harness) -> ChatDriver:
    chat = harness.chat()
    await chat.verify(*MARYAM)
    return chat


def sent(chat: ChatDriver) -> list[str]:
    return [visible_text(c.text) for c in chat.last if c.name == "sendMessage"]


async def the_conversation(session: AsyncSession, chat: ChatDriver) -> Conversation:
    row = await session.scalar(
        select(Conversation)
        .where(Conversation.chat_id == chat.user.id)
        .order_by(Conversation.id.desc())
    )
    assert row is not None
    await session.refresh(row)
    return row


async def user_messages(session: AsyncSession, conversation_id: int) -> list[str | None]:
    rows = await session.scalars(
        select(ConversationMessage.text)
        .where(
            ConversationMessage.conversation_id == conversation_id,
            ConversationMessage.sender == "user",
        )
        .order_by(ConversationMessage.id)
    )
    return list(rows)


async def test_queue_relay_resolve_rate(
    harness: Harness,
    agent_factory: AgentFactory,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    sara = await agent_factory("sara")
    chat = await verified_chat(harness)
    await chat.send(ASK_HUMAN)
    [queued] = sent(chat)
    assert "نوبت شما در صف: ۱" in queued and "حدود ۵ دقیقه" in queued
    keyboard = chat.last[-1].markup
    assert keyboard.keyboard[0][0].text == texts.BTN_BACK_TO_BOT
    conversation = await the_conversation(session, chat)
    assert conversation.status == "queued" and conversation.national_id == MARYAM[0]

    # Asking again while queued: the place again, not a second conversation.
    await chat.send(ASK_HUMAN)
    assert "شما در صف گفتگو با کارشناس ۱۴۲۰ هستید" in sent(chat)[0]

    # Pending: the bot still answers, and the agent will see the message too.
    await chat.send("بیمه دارم؟")
    assert any("حمایت درمانی دارد" in t for t in sent(chat))
    assert await user_messages(session, conversation.id) == [ASK_HUMAN, "بیمه دارم؟"]

    # An agent takes the chat (what the console does): from now on the bot is silent.
    handoff = Handoff(session, db_settings, clock)
    await handoff.desk.take(sara, conversation.id)
    await session.commit()
    await chat.send("سلام، پسرم ۲۰ سالش شده و بیمه ندارد")
    assert chat.last == []
    await chat.send(
        photo=[PhotoSize(file_id="photo-1", file_unique_id="u1", width=10, height=10)],
        caption="کارت دانشجویی",
    )
    assert [c.name for c in chat.last] == []
    await chat.send(
        sticker=Sticker(
            file_id="s",
            file_unique_id="s",
            type="regular",
            width=1,
            height=1,
            is_animated=False,
            is_video=False,
        )
    )
    assert sent(chat) == [visible_text(texts.HANDOFF_UNSUPPORTED)]
    await chat.press("in:check_eligibility")
    assert [c.name for c in chat.last] == ["answerCallbackQuery"]
    assert chat.last[0].params["text"] == texts.HANDOFF_BUTTON_WHILE_OPEN
    messages = (
        await session.scalars(
            select(ConversationMessage)
            .where(
                ConversationMessage.conversation_id == conversation.id,
                ConversationMessage.sender == "user",
            )
            .order_by(ConversationMessage.id)
        )
    ).all()
    assert [(m.kind, m.text) for m in messages[2:]] == [
        ("text", "سلام، پسرم ۲۰ سالش شده و بیمه ندارد"),
        ("photo", "کارت دانشجویی"),
    ]
    assert messages[3].file_id == "photo-1"

    # The agent resolves; the rating buttons arrive through the outbox (bot.outbound) with
    # callback data "cs:<conversation>:<rating>".
    await handoff.desk.resolve(sara, conversation.id)
    await session.commit()
    await chat.press(f"cs:{conversation.id}:5")
    names = [c.name for c in chat.last]
    assert "editMessageReplyMarkup" in names and names.count("answerCallbackQuery") == 1
    assert sent(chat) == ["از نظر شما سپاسگزاریم. 🌷 امتیاز شما: ۵ از ۵"]
    await chat.press(f"cs:{conversation.id}:1")
    assert chat.last[-1].params["text"] == texts.HANDOFF_ALREADY_RATED
    assert (await the_conversation(session, chat)).satisfaction == 5
    # Back with the bot: it answers again.
    await chat.send("بیمه دارم؟")
    assert any("حمایت درمانی دارد" in t for t in sent(chat))


async def test_the_transcript_has_the_messages_just_before_the_escalation(
    harness: Harness, agent_factory: AgentFactory, session: AsyncSession
) -> None:
    # The intent log is written in batches; the escalation must flush it first.
    await agent_factory("sara")
    chat = await verified_chat(harness)
    await chat.send("سلام")
    await chat.send("شماره تماس ۱۴۲۰ چنده؟")
    await chat.send(ASK_HUMAN)
    conversation = await the_conversation(session, chat)
    transcript = conversation.escalation["transcript"]
    users = [line for line in transcript if not line.get("from_bot")]
    assert [line["text"] for line in users] == ["سلام", "شماره تماس ۱۴۲۰ چنده؟", ASK_HUMAN]
    assert users[-1]["intent"] == "human_agent"
    # Issue 18: the bot's answers are in the transcript too, after the message they answer.
    asked = transcript.index(users[1])
    answer = transcript[asked + 1]
    assert answer["from_bot"] is True and answer["intent"] is None
    assert "۱۴۲۰" in answer["text"] and "<b>" not in answer["text"]


@pytest.mark.parametrize(
    "question", ["حالا تا کی باید منتظر بمونم؟", "نوبتم کیه؟", "چقدر دیگه طول میکشه؟"]
)
async def test_asked_about_the_wait_while_queued_the_bot_gives_the_place_and_wait(
    harness: Harness, agent_factory: AgentFactory, session: AsyncSession, question: str
) -> None:
    await agent_factory("sara")
    chat = await verified_chat(harness)
    await chat.send(ASK_HUMAN)
    await chat.send(question)
    [answer] = sent(chat)
    assert "شما در صف گفتگو با کارشناس ۱۴۲۰ هستید" in answer and "نوبت شما: ۱" in answer
    # The question is kept for the agent as any other message.
    conversation = await the_conversation(session, chat)
    assert await user_messages(session, conversation.id) == [question]
    # A question with «تا کی» about something else is the bot's as usual.
    await chat.send("بیمه‌ام تا کی اعتبار داره؟")
    assert any("حمایت درمانی دارد" in t for t in sent(chat))


async def test_leaving_the_queue_and_the_agent(
    harness: Harness,
    agent_factory: AgentFactory,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    sara = await agent_factory("sara")
    chat = await verified_chat(harness)
    await chat.send(ASK_HUMAN)
    await chat.send("/cancel")
    assert sent(chat) == [visible_text(texts.HANDOFF_LEFT_QUEUE)]
    assert (await the_conversation(session, chat)).resolution == "user_left"

    await chat.send(ASK_HUMAN)
    conversation = await the_conversation(session, chat)
    await Handoff(session, db_settings, clock).desk.take(sara, conversation.id)
    await session.commit()
    await chat.send(texts.BTN_BACK_TO_BOT)
    assert sent(chat) == [visible_text(texts.HANDOFF_LEFT_CHAT)]
    assert chat.last[-1].markup.keyboard[0][0].text in texts.MENU
    # The button pressed again after the chat ended: the menu, politely.
    await chat.send(texts.BTN_BACK_TO_BOT)
    assert sent(chat) == [visible_text(texts.HANDOFF_NOT_IN_QUEUE)]
    # A rating for a chat the user left is not taken.
    await chat.press(f"cs:{conversation.id}:3")
    assert chat.last[-1].params["text"] == texts.HANDOFF_RATING_CLOSED


async def test_outside_hours_and_nobody_online_file_a_ticket(
    harness: Harness, agent_factory: AgentFactory, clock: FixedClock
) -> None:
    chat = await verified_chat(harness)
    await chat.send(ASK_HUMAN)  # nobody online
    [text] = sent(chat)
    assert "هیچ کارشناسی از ۱۴۲۰ برای گفتگوی برخط در دسترس نیست" in text
    assert re.search(r"کد رهگیری \u2066۱۴۲۰-[۰-۹]{6}\u2069", text) and "کارشناسان تا" in text

    await agent_factory("sara")
    clock.set(dt.datetime(2024, 8, 2, 11, 0))  # a Friday
    other = harness.chat()
    await other.send(ASK_HUMAN)
    [text] = sent(other)
    assert "خارج از ساعت پاسخ‌گویی" in text
    assert "(کارشناسان از ۱۳ مرداد ۱۴۰۳ ۰۸:۰۰ پاسخ‌گو هستند)" in text


@pytest.mark.parametrize("question", ["حالا تا کی باید منتظر بمونم؟", "تا کی باید صبر کنم؟"])
async def test_asked_about_the_wait_after_a_ticket_the_bot_gives_its_due_date(
    harness: Harness, question: str
) -> None:
    chat = await verified_chat(harness)
    await chat.send(ASK_HUMAN)  # nobody online: a ticket
    [filed] = sent(chat)
    code = re.search(r"۱۴۲۰-[۰-۹]{6}", filed)
    assert code is not None
    await chat.send(question)
    answer = "\n".join(sent(chat))
    assert code.group(0) in answer and "موعد پاسخ" in answer, answer


async def test_an_escalation_as_a_first_message_is_not_held_by_sqlite_s_write_lock(
    harness: Harness, session: AsyncSession
) -> None:
    # A first contact writes its chat_users row in the update's transaction before the handler
    # runs, so on SQLite the update holds the one write lock when the escalation flushes the
    # intent log. Written on the writer's own connection, that flush waited for the lock until
    # the 30 s busy timeout, failed, and the transcript lacked the user's line
    # (services/intent_log.py). Now it is written in the update's own session.
    chat = harness.chat()
    started = time.monotonic()
    await chat.send(ASK_HUMAN)  # nobody online: a ticket
    elapsed = time.monotonic() - started
    [text] = sent(chat)
    assert "کد رهگیری" in text
    assert elapsed < 5.0, f"the escalation took {elapsed:.1f} s"
    conversation = await the_conversation(session, chat)
    users = [line for line in conversation.escalation["transcript"] if not line.get("from_bot")]
    assert [line["text"] for line in users] == [ASK_HUMAN]
