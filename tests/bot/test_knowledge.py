"""Rule questions answered from the knowledge base, through the real dispatcher, NLU and index.

The expected entries and texts are read from the loaded knowledge base, not copied here, so an
edit of an entry's wording does not break these tests while a routing change does.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts
from bot.keyboards import KbMore, KbVote
from bot.platform import Platform
from bot.render import visible_text
from services.db.knowledge_models import KnowledgeFeedback
from services.knowledge import Entry, KnowledgeBase
from tests.bot.conftest import Harness

SOURCE_LINE = "📄 منبع:"


def entry(knowledge: KnowledgeBase, entry_id: str) -> Entry:
    return next(e for e in knowledge.loaded.entries if e.id == entry_id)


async def feedback(
    session_factory: async_sessionmaker[AsyncSession],
) -> list[tuple[str, str | None, str]]:
    async with session_factory() as session:
        rows = await session.execute(
            select(
                KnowledgeFeedback.kind, KnowledgeFeedback.entry_id, KnowledgeFeedback.question
            ).order_by(KnowledgeFeedback.id)
        )
        return [(kind, entry_id, question) for kind, entry_id, question in rows]


async def test_a_rule_question_is_answered_before_verification_fact_first(
    harness: Harness, knowledge_files: KnowledgeBase
) -> None:
    chat = harness.chat()
    calls = await chat.send("مهلت پرداخت حق بیمه اختیاری چند روزه")
    expected = entry(knowledge_files, "voluntary-payment-deadline")
    (answer,) = [c for c in calls if c.name == "sendMessage"]
    assert answer.text.startswith(visible_text(expected.answer.split("\n")[0])[:40])
    lines = answer.text.split("\n")
    assert lines[-1].startswith(SOURCE_LINE) and expected.source.clause in lines[-1]
    assert "باید هویت شما را تأیید کنم" not in answer.text
    labels = answer.buttons()
    assert labels[-2:] == [texts.BTN_KB_UP, texts.BTN_KB_DOWN]
    # A rule intent: the intent's full block stays one button away, its own handler.
    assert texts.INTENT_LABELS["voluntary_insurance"] in labels
    block = chat.joined(await chat.click(texts.INTENT_LABELS["voluntary_insurance"]))
    assert "بیمهٔ اختیاری" in block and SOURCE_LINE not in block


async def test_out_of_scope_for_the_classifier_is_answered_from_the_knowledge_base(
    harness: Harness, knowledge_files: KnowledgeBase
) -> None:
    chat = harness.chat()
    text = chat.joined(await chat.send("بیمه بیکاری چه شرایطی داره"))
    expected = entry(knowledge_files, "unemployment-who")
    assert text.startswith(expected.answer[:30])
    assert SOURCE_LINE in text
    assert texts.OUT_OF_SCOPE[:30] not in text


async def test_general_knowledge_is_not_answered_and_is_collected(
    harness: Harness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    chat = harness.chat()
    calls = await chat.send("پایتخت فرانسه کجاست")
    text = chat.joined(calls)
    assert SOURCE_LINE not in text
    assert visible_text(texts.OUT_OF_SCOPE).split("\n")[0] in text
    # The out-of-scope answer offers a human at once.
    assert texts.BTN_HUMAN in [b for c in calls for b in c.buttons()]
    assert await feedback(session_factory) == [("unanswered", None, "پایتخت فرانسه کجاست")]


async def test_two_close_entries_are_offered_and_either_answers(
    harness: Harness, knowledge_files: KnowledgeBase
) -> None:
    chat = harness.chat()
    calls = await chat.send("بیمه قالیبافان")
    assert chat.joined(calls) == visible_text(texts.KB_DID_YOU_MEAN)
    (offer,) = [c for c in calls if c.name == "sendMessage"]
    titles = offer.buttons()
    assert len(titles) == 2
    first = next(e for e in knowledge_files.loaded.entries if e.title == titles[0])
    text = chat.joined(await chat.click(titles[0]))
    assert text.startswith(first.answer[:30]) and SOURCE_LINE in text


async def test_votes_are_recorded_with_the_question_and_more_is_shown(
    harness: Harness,
    knowledge_files: KnowledgeBase,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    chat = harness.chat()
    await chat.send("بیمه بیکاری چند ماه میدن")
    expected = entry(knowledge_files, "unemployment-duration")
    assert expected.more is not None
    more = chat.joined(await chat.click(texts.BTN_KB_MORE))
    assert more == visible_text(expected.more) or more.startswith(expected.more[:30])
    assert chat.joined(await chat.click(texts.BTN_KB_UP)) == texts.KB_THANKS_UP
    calls = await chat.click(texts.BTN_KB_DOWN)
    assert chat.joined(calls) == texts.KB_THANKS_DOWN
    assert texts.BTN_HUMAN in [b for c in calls for b in c.buttons()]
    assert await feedback(session_factory) == [
        ("up", "unemployment-duration", "بیمه بیکاری چند ماه میدن"),
        ("down", "unemployment-duration", "بیمه بیکاری چند ماه میدن"),
    ]


async def test_buttons_of_an_unknown_entry_are_refused_politely(
    harness: Harness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    chat = harness.chat()
    for data in (
        KbVote(id="no-such-entry", up=False).pack(),
        KbMore(id="no-such-entry").pack(),
        "kp:../../etc",
    ):
        assert chat.joined(await chat.press(data)) == texts.KB_GONE, data
    assert await feedback(session_factory) == []


async def test_a_bare_help_word_stays_help(harness: Harness) -> None:
    chat = harness.chat()
    for word in ("راهنما", "کمک", "چه کارهایی میتونی برام انجام بدی"):
        text = chat.joined(await chat.send(word))
        assert SOURCE_LINE not in text, word


async def test_bale_gets_the_answer_escaped(harness: Harness) -> None:
    chat = harness.chat(platform=Platform.BALE)
    calls = await chat.send("حادثه کار")
    (answer,) = [c for c in calls if c.name == "sendMessage"]
    assert answer.params.get("parse_mode") is None
    assert SOURCE_LINE in answer.text
