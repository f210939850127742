"""The thread's rules (``bot.dialogue``): follow-ups, several requests, exits, the record kept."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage

from bot.dialogue import (
    COVER_UNTIL,
    COVER_WHY,
    DATA_KEY,
    OTHER,
    SAME,
    Dialogue,
    Topic,
    follow_up,
    is_exit,
)
from bot.handlers.common import is_task, may_hold_several
from bot.nlu import OUT_OF_SCOPE, Understanding
from bot.requests import request_parts


def said(
    text: str, intent: str = OUT_OF_SCOPE, confidence: float = 0.7, **entities: str
) -> Understanding:
    return Understanding(
        intent=intent,
        confidence=confidence,
        entities=tuple({"entity": k, "value": v} for k, v in entities.items()),
        text=text,
    )


ELIGIBILITY_ABOUT_SON = Topic("check_eligibility", {"relation": "son"}, {"rows": []}, at=1.0)


# --- follow-ups --------------------------------------------------------------------------
def test_another_relative_after_eligibility_is_eligibility_for_that_relative() -> None:
    read = follow_up(said("و دخترم چی؟", relation="daughter"), ELIGIBILITY_ABOUT_SON)
    assert read is not None
    assert (read.intent, read.entity("relation"), read.follow_up) == (
        "check_eligibility",
        "daughter",
        SAME,
    )
    assert not read.unsure


def test_a_weak_other_reading_with_a_follow_up_word_is_a_follow_up() -> None:
    # The NLU reads «پسرم چی؟» as adding a dependant at 0.49.
    topic = Topic("check_eligibility", {"relation": "daughter"}, at=1.0)
    read = follow_up(said("پسرم چی؟", "add_dependent", 0.49, relation="son"), topic)
    assert read is not None and read.intent == "check_eligibility"
    assert read.entity("relation") == "son"
    # A confident other request is a request of its own.
    assert follow_up(said("پسرم چی؟", "add_dependent", 0.9, relation="son"), topic) is None


def test_until_and_why_after_eligibility() -> None:
    until = follow_up(said("تا کی؟"), ELIGIBILITY_ABOUT_SON)
    why = follow_up(said("چرا؟"), ELIGIBILITY_ABOUT_SON)
    assert until is not None and until.intent == COVER_UNTIL
    assert why is not None and why.intent == COVER_WHY
    # They lean on an eligibility answer only.
    assert follow_up(said("تا کی؟"), Topic("last_contribution", at=1.0)) is None


def test_the_other_one_after_one_relative() -> None:
    read = follow_up(said("اون یکی چی؟"), ELIGIBILITY_ABOUT_SON)
    assert read is not None and read.follow_up == OTHER
    assert read.intent == "check_eligibility"
    assert read.entity("except_relation") == "son" and read.entity("relation") is None


def test_entities_carry_over_and_the_new_ones_win() -> None:
    slip = Topic("pension_slip", {"month": "1404-06"}, at=1.0)
    read = follow_up(said("فیش مهر رو هم بده", month="1404-07"), slip)
    assert read is not None and read.intent == "pension_slip"
    assert read.entity("month") == "1404-07"
    estimate = Topic("voluntary_insurance", {"amount": "150000000"}, at=1.0)
    read = follow_up(said("۲۰ میلیون باشه چی؟", "affirm", amount="200000000"), estimate)
    assert read is not None and read.intent == "voluntary_insurance"
    assert read.entity("amount") == "200000000"
    assert read.text == "۲۰ میلیون باشه چی؟"


def test_what_is_not_a_follow_up() -> None:
    # No topic (never, or expired: the caller passes None).
    assert follow_up(said("و دخترم چی؟", relation="daughter"), None) is None
    # Long: a request of its own.
    long = said("من یک سؤال کاملاً جدا دارم دربارهٔ چیزی که دیروز دیدم و نفهمیدم چیست")
    assert follow_up(long, ELIGIBILITY_ABOUT_SON) is None
    # Nothing to carry and no follow-up word.
    assert follow_up(said("هوا چطوره امروز"), Topic("last_contribution", at=1.0)) is None
    assert follow_up(said("کتاب خوب"), ELIGIBILITY_ABOUT_SON) is None
    # An entity the topic does not take, or a topic with no follow-ups.
    channels = Topic("contact_info", at=1.0)
    assert follow_up(said("و دخترم چی؟", relation="daughter"), channels) is None
    slip = Topic("pension_slip", at=1.0)
    assert follow_up(said("همسرم چی؟", relation="spouse"), slip) is None
    # A menu button is never a follow-up.
    menu = Understanding(intent="help", confidence=1.0, from_menu=True, text="راهنما")
    assert follow_up(menu, ELIGIBILITY_ABOUT_SON) is None


def test_a_day_after_the_channels_asks_that_days_hours() -> None:
    channels = Topic("contact_info", at=1.0)
    for text, day in (
        ("جمعه ها چی؟", "friday"),
        ("جمعه‌ها چی؟", "friday"),
        ("پنجشنبه‌ها چی؟", "thursday"),
        ("سه شنبه هم بازه؟", "tuesday"),  # «شنبه» inside «سه شنبه» is not Saturday
        ("شنبه چی؟", "saturday"),
    ):
        read = follow_up(said(text), channels)
        assert read is not None, text
        assert (read.intent, read.entity("weekday"), read.follow_up) == ("contact_info", day, SAME)
    # Two days, or a confident other request: not a day's hours.
    assert follow_up(said("شنبه و جمعه چی؟"), channels) is None
    assert follow_up(said("جمعه چی؟", "greet", 0.95), channels) is None


def test_an_unsure_reading_of_the_topic_just_answered_is_that_topic() -> None:
    rules = Topic("voluntary_insurance", at=1.0)
    # «did you mean …?» between voluntary insurance and eligibility, right after the rules.
    unsure = Understanding(
        intent="voluntary_insurance", confidence=0.36, ambiguous=True, text="من ۵۲ سالمه، میتونم؟"
    )
    read = follow_up(unsure, rules)
    assert read is not None and read.intent == "voluntary_insurance"
    assert read.follow_up == SAME and not read.unsure
    # Unsure about another topic, with no cue: still a question of its own.
    other = Understanding(
        intent="check_eligibility", confidence=0.36, ambiguous=True, text="من ۵۲ سالمه"
    )
    assert follow_up(other, rules) is None


# --- exits -------------------------------------------------------------------------------
def test_exit_words() -> None:
    for text in (
        "انصراف",
        "لغو",
        "بیخیال",
        "بی‌خیال",
        "نمیخوام",
        "نمی‌خوام",
        "نه ممنون",
        "نه، ممنون",
    ):
        assert is_exit(text), text
    for text in ("ممنون از راهنمایی‌تان، سؤال دیگری دارم", "کد ملی", "لغو بیمه چطوره"):
        assert not is_exit(text), text


def test_never_mind_words_at_the_edge_of_a_short_message_leave() -> None:
    # A "never mind" word opening or closing a few words leaves the flow …
    for text in ("ولش کن، بعدا", "ولش کن اصلا", "بعدا حساب میکنم، ولش کن", "بیخیال دیگه", "بعداً"):
        assert is_exit(text), text
    # … not a noun-like exit word with a word beside it, a number, a long sentence, or the
    # word in the middle of a sentence.
    for text in (
        "لغو قرارداد",
        "بعدا ۱۵ میلیون",
        "پسرم ولش کرده رفته",
        "عکس نمیخوام",
        "نمیخوام بفرستم",
        "کارفرما گفت ولش کن ولی من دو ماهه حقوق نگرفتم و بیمه هم رد نکرده",
    ):
        assert not is_exit(text), text


# --- several requests --------------------------------------------------------------------
_READINGS = {
    "سلام دو تا سوال داشتم، بیمه‌ام فعاله": ("check_eligibility", 0.8),
    "آخرین پرداختم کی بوده": ("last_contribution", 0.85),
    "بیمه‌ام فعاله": ("check_eligibility", 0.8),
    "شماره تماس ۱۴۲۰ چنده": ("contact_info", 0.9),
    "سلام": ("greet", 0.9),
    "سوابقم": ("insurance_record", 0.9),
    "یه چیز نامفهوم": ("insurance_record", 0.2),
}


def _understand(text: str) -> Understanding:
    intent, confidence = _READINGS.get(text, (OUT_OF_SCOPE, 0.9))
    return Understanding(
        intent=intent, confidence=confidence, fallback=confidence < 0.4, text=text
    )


def parts(text: str, limit: int = 3) -> list[str]:
    return [u.intent for u in request_parts(text, _understand, limit=limit, is_task=is_task)]


def test_two_requests_joined_by_a_comma() -> None:
    text = "سوابقم، شماره تماس ۱۴۲۰ چنده"
    assert may_hold_several(text)
    assert parts(text) == ["insurance_record", "contact_info"]
    assert parts("سلام، سوابقم، شماره تماس ۱۴۲۰ چنده") == ["insurance_record", "contact_info"]
    # A comma after a greeting, around a clause nobody understood, or between clauses read
    # less surely (a story) is one request.
    assert parts("سلام، بیمه‌ام فعاله") == []
    assert parts("سوابقم، یه چیز نامفهوم") == []
    assert parts("آخرین پرداختم کی بوده، شماره تماس ۱۴۲۰ چنده") == []


def test_two_questions_are_two_requests_in_order() -> None:
    text = "سلام دو تا سوال داشتم، بیمه‌ام فعاله؟ آخرین پرداختم کی بوده؟"
    assert may_hold_several(text)
    assert parts(text) == ["check_eligibility", "last_contribution"]
    assert parts("آخرین پرداختم کی بوده\nبیمه‌ام فعاله") == [
        "last_contribution",
        "check_eligibility",
    ]
    assert parts("بیمه‌ام فعاله و شماره تماس ۱۴۲۰ چنده") == ["check_eligibility", "contact_info"]
    assert parts("بیمه‌ام فعاله؟ همچنین شماره تماس ۱۴۲۰ چنده؟") == [
        "check_eligibility",
        "contact_info",
    ]


def test_at_most_the_limit_and_greetings_dropped() -> None:
    text = "سلام؟ بیمه‌ام فعاله؟ آخرین پرداختم کی بوده؟ سوابقم؟ شماره تماس ۱۴۲۰ چنده؟"
    assert parts(text, limit=3) == ["check_eligibility", "last_contribution", "insurance_record"]


def test_one_request_or_an_unclear_part_is_read_whole() -> None:
    assert parts("بیمه‌ام فعاله؟") == []
    assert parts("سلام؟ بیمه‌ام فعاله؟") == []  # one request and a greeting
    assert parts("بیمه‌ام فعاله؟ بیمه‌ام فعاله؟") == []  # the same twice
    assert parts("بیمه‌ام فعاله؟ یه چیز نامفهوم؟") == []
    assert not may_hold_several("بیمه‌ام فعاله؟")


# --- what is kept ------------------------------------------------------------------------
class _Clock:
    def __init__(self) -> None:
        self.moment = dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.moment


class _CountingStorage(MemoryStorage):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.writes = 0

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        self.reads += 1
        return await super().get_data(key)

    async def set_data(self, key: StorageKey, data: Any) -> None:
        self.writes += 1
        await super().set_data(key, data)


def _dialogue(storage: _CountingStorage, clock: _Clock) -> Dialogue:
    state = FSMContext(storage, StorageKey(bot_id=1, chat_id=2, user_id=2))
    return Dialogue(state, clock, dt.timedelta(minutes=10))


async def test_the_topic_is_kept_for_the_memory_time_beside_the_flow_data() -> None:
    storage, clock = _CountingStorage(), _Clock()
    first = _dialogue(storage, clock)
    await first.state.set_state("ComplaintForm:description")
    await first.state.update_data(tkt_category="medical")
    await first.remember("check_eligibility", {"relation": "son"}, {"rows": [{"name": "علی"}]})

    later = _dialogue(storage, clock)
    topic = await later.topic()
    assert topic is not None and topic.entities == {"relation": "son"}
    assert topic.answer == {"rows": [{"name": "علی"}]}
    # The flow's own state and data are untouched.
    assert await later.state.get_state() == "ComplaintForm:description"
    assert (await later.state.get_data())["tkt_category"] == "medical"

    clock.moment += dt.timedelta(minutes=11)
    assert await _dialogue(storage, clock).topic() is None
    assert DATA_KEY in await later.state.get_data()


async def test_one_read_per_update_and_no_write_when_nothing_changed() -> None:
    storage, clock = _CountingStorage(), _Clock()
    await _dialogue(storage, clock).remember("last_contribution")
    storage.reads = storage.writes = 0

    update = _dialogue(storage, clock)
    await update.topic()
    await update.data()
    await update.remember("last_contribution")  # the same topic again
    assert (storage.reads, storage.writes) == (1, 0)

    clock.moment += dt.timedelta(minutes=1)
    await _dialogue(storage, clock).remember("check_eligibility")
    assert storage.writes == 1
