"""The thread of a conversation: what the bot remembers of its last answer, and the rules that
read a message in its light.

A 1420 agent does not ask «which relative?» when a caller who just heard about her son says «و
دخترم چی؟». The bot keeps, per chat, the last topic (intent), its entities and what it answered
(``Topic``), in the FSM data beside the flow's own keys (memory or Redis, so any worker can
continue it), for ``dialogue.memory_minutes``. The rules, all here:

- ``follow_up``: a short message, while the NLU is unsure or out of scope (or names the same
  topic), that carries an entity or a follow-up word continues the last topic, its entities
  merged under the new ones; «تا کی؟» and «چرا؟» after an eligibility answer ask for the cover's
  end date and the reason; «اون یکی چی؟» for the relatives not yet answered; «خودم چی؟» and
  «هر دوتاشون» for the asker and the dependants; «ماه قبلش چی؟» for the month before the one
  shown; a weak reading whose runner-up is a related topic («کلش چند سال میشه؟» after the last
  record) for that topic. Whatever the NLU read, «حالا چیکار کنم؟» after someone was found not
  covered asks for the way back, and «از کجا باید اقدام کنم؟» for the topic's path.
  A family member named by first name («علی چرا نداره؟») after an eligibility answer is that
  relative; «کلش چقدر میشه؟» after the last record is the total; «چجوری اضافش کنم؟» (adding,
  nobody named) after an answer about a relative adds that relative.
- ``bot.acts`` reads what a message does besides naming a task (a question announced, a
  status asked in a rule's words, a typed yes/no, «هم … هم …»).
- ``bot.requests.request_parts``: a message of several requests («… فعاله؟ آخرین پرداختم کی
  بوده؟») cut into its requests.
- ``is_exit`` (in ``bot.acts``, named here too): the words that leave a flow as /cancel does.

``Dialogue`` is the per-update view of the FSM data: one read at most (shared with the count of
misunderstood messages), and a write only when the remembered topic changed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from aiogram.fsm.context import FSMContext

from bot.acts import ANNOUNCE, asks_about_the_wait
from bot.acts import EXIT_INTENTS as EXIT_INTENTS  # re-exported: the flows' exits
from bot.acts import is_exit as is_exit
from bot.acts import plain as _plain
from bot.nlu import OUT_OF_SCOPE, Understanding
from persian.jalali import previous_jalali_month

# The FSM data key of the remembered topic (flows keep their own keys beside it).
DATA_KEY: Final = "thread"

# Follow-up kinds (``Understanding.follow_up``).
SAME: Final = "same"  # the last topic again, with the new message's entities
UNTIL: Final = "until"  # «تا کی؟»: the cover's end date of the last eligibility answer
WHY: Final = "why"  # «چرا؟»: the reason and the next step
PATH: Final = "path"  # «از کجا باید اقدام کنم؟»: how to apply for the topic
NEXT: Final = "next"  # «حالا چیکار کنم؟», «اگه کارفرما بپردازه درست میشه؟»: the way back
OTHER: Final = "other"  # «اون یکی چی؟»: the relatives the last answer left out

# The internal intents a follow-up on the last eligibility answer becomes (no training data:
# nothing but the rules here produces them).
COVER_UNTIL: Final = "cover_until"
COVER_WHY: Final = "cover_why"
COVER_NEXT: Final = "cover_next"
# «از کجا باید اقدام کنم؟» after a topic: its path (the entry in the ``entry`` entity).
TOPIC_PATH: Final = "topic_path"
ELIGIBILITY: Final = "check_eligibility"
# They lean on the topic without changing it: «تا کی؟» then «پسرم چی؟» is still eligibility.
LEANING: Final = frozenset({COVER_UNTIL, COVER_WHY, COVER_NEXT})
# Answers that lean on the topic and leave it the topic (not remembered in its place).
KEEPS_TOPIC: Final = LEANING | {TOPIC_PATH}
# Relations a follow-up names that the NLU's entity does not: the asker, and the dependants.
SELF: Final = "self"
DEPENDANTS: Final = "dependants"
# A person named after an eligibility answer continues it unless the NLU reads the message at
# least this surely as something else («خودم چی؟» reads 0.6–0.8 as voluntary insurance: the
# word «خودم» is frequent in its training lines, not a request for the rules).
SURE_OTHERWISE: Final = 0.8
# Topics close enough that a weakly read message may be the other one (the runner-up of the
# NLU's ranking): «کلش چند سال میشه؟» after the last record is the total record.
RELATED_TOPICS: Final = {
    "last_contribution": ("insurance_record",),
    "insurance_record": ("last_contribution",),
}
# The runner-up must reach this confidence to be taken.
MIN_RUNNER_UP: Final = 0.25
# Intents that ask «which relative?» when none is named: right after an answer about one, it is
# that one («خب چجوری اضافش کنم؟» after «no wife on file»).
NEEDS_RELATION: Final = frozenset({"add_dependent"})

# A follow-up is short: a longer message is a request of its own, for the NLU to read.
MAX_FOLLOW_UP_WORDS: Final = 7
# A question about the answer just given («از کجا باید اقدام کنم؟ حضوری باید برم؟», «اگه الان
# کارفرما پرداخت کنه درست میشه؟») may be a little longer: its words name what it asks.
MAX_QUESTION_ON_ANSWER_WORDS: Final = 10
# Below this confidence, a short message with a follow-up word is the NLU's guess, not a
# request of its own.
WEAK_CONFIDENCE: Final = 0.6
# Intents a bare follow-up word tends to be mistaken for: they do not end the thread.
_WEAK_INTENTS: Final = frozenset({OUT_OF_SCOPE, "help", "affirm", "deny"})
# Intents that are no task: a part of a message that is only these is not a request of its own.
SMALLTALK: Final = frozenset({"greet", "thanks", "goodbye", "affirm", "deny", "help", ANNOUNCE})
# The entities a follow-up may bring (the NLU's; ``amount`` and ``month`` in rials and
# Jalali "YYYY-MM").
FOLLOW_UP_ENTITIES: Final = frozenset({"relation", "amount", "month", "ticket_id"})
# The topics a follow-up may continue, and the entities each takes («پسرم چی؟» continues an
# eligibility answer, «مهر چی؟» a payslip, «۲۰ میلیون باشه چی؟» an estimate).
TOPIC_ENTITIES: Final = {
    ELIGIBILITY: frozenset({"relation"}),
    "add_dependent": frozenset({"relation"}),
    "pension_slip": frozenset({"month"}),
    "last_contribution": frozenset({"month"}),
    "voluntary_insurance": frozenset({"amount"}),
    "track_ticket": frozenset({"ticket_id"}),
}


def _words(*alternatives: str) -> re.Pattern[str]:
    # Matched on normalised text (``persian.normalize`` with half-spaces as spaces).
    return re.compile(r"(?:^|\s)(?:" + "|".join(alternatives) + r")(?:\s|$)")


# Finglish too («ta key?», «chera?»): ``_plain`` lowercases.
_UNTIL = _words(
    r"تا ?کی", r"تا چه (?:تاریخی|زمانی|موقعی)", r"کی تموم (?:میشه|می شه)", r"taa? ?k(?:[ae]y|ei)"
)
_WHY = _words(r"چرا", r"به چه دلیل", r"دلیلش چیه", r"علتش چیه", r"چرا نه", r"چطور نداره", r"chera")
# A month relative to the one just shown («ماه قبلش چی؟» after a payslip or a month of record):
# with the pronoun «ـش» or «از اون», not «ماه پیش» alone (that is last month, from today).
_PREVIOUS_MONTH = _words(
    r"(?:یه |یک )?ماه (?:قبلش|قبلیش|پیشش|قبل از اون|قبل از آن)", r"قبلیش", r"mahe ghablesh"
)
_NEXT_MONTH = _words(
    r"(?:یه |یک )?ماه (?:بعدش|بعدیش|بعد از اون|بعد از آن)", r"بعدیش", r"mahe badesh"
)
# What to do, or whether it will be put right, after someone was found not covered («حالا
# باید چیکار کنم؟», «اگه الان کارفرما پرداخت کنه درست میشه؟»): a question about the way back,
# not a new request (the NLU reads the second as filing a complaint).
_NEXT_STEP = _words(
    r"(?:باید )?(?:چیکار|چی کار|چکار|چه کار|چه کاری) (?:کنم|بکنم|باید بکنم|باید کرد|کنیم)",
    r"باید (?:چیکار|چی کار|چکار|چه کار)",
    r"چه باید (?:بکنم|کرد)",
    r"درست (?:میشه|می شه|بشه|میشود|می شود)",
    r"حل (?:میشه|می شه|بشه)",
    r"(?:دوباره )?برقرار (?:میشه|می شه|بشه)",
    r"دوباره بیمه",
    r"راهش چیه",
    r"chikar konam",
)
# Where or how to apply for what was just explained («از کجا باید اقدام کنم؟ حضوری باید برم؟»
# after the conditions for adding a son): the topic's own path (``TOPIC_PATHS``), which the NLU
# reads as registering on the portal.
_WHERE_TO_APPLY = _words(
    r"از کجا (?:باید )?(?:اقدام|شروع|ثبت|درخواست)",
    r"کجا (?:باید )?(?:اقدام|ثبت|درخواست|مراجعه)",
    r"(?:باید )?حضوری (?:باید )?(?:برم|بیام|مراجعه)",
    r"چطوری? (?:باید )?(?:اقدام|درخواست) (?:کنم|بدم)",
    r"(?:باید )?کجا برم",
)
# The knowledge entry that says how to apply for each topic (answered by the knowledge router).
TOPIC_PATHS: Final = {
    "add_dependent": "dependants-portal-path",
    "voluntary_insurance": "voluntary-online-path",
    "file_complaint": "complaints-how-to-file",
}
# The asker as the person asked about («خودم چی؟», «من خودم تا کی بیمه‌ام؟»): the NLU has no
# entity for it, so it is read here as the relation ``SELF`` (the user's own row).
_SELF = _words(r"خودم", r"خود من", r"خودمو", r"خودم رو", r"khodam")
# Everyone of the family at once («هر دوتاشون تا کی؟», «همشون چی؟»): the dependants.
_ALL = _words(r"هر ?دو(?:تا|تاشون|شون)?", r"همشون", r"همه شون", r"هر سه تاشون")
# Adding someone («اضافش کنم», «ببرمش زیر بیمه»), read weakly by the NLU.
_ADD = re.compile(r"(?<!\S)(?:اضاف\S*|ببرمش|بیارمش|ثبتش)(?!\S)")
# The whole of a record («کلش چقدر میشه؟», «جمعش چند سال؟» after the last month of record).
_TOTAL = _words(
    r"کل",
    r"کلش",
    r"کلا",
    r"جمعش",
    r"جمعا",
    r"مجموع",
    r"مجموعش",
    r"روی هم(?: رفته)?",
    r"رو هم(?: رفته)?",
    r"همش",
    r"همه ش",
    r"از اول",
    r"kolesh",
    r"jamesh",
)
# The topic such a word turns a weakly read follow-up to.
RELATED_WORDS: Final = {"last_contribution": (_TOTAL, "insurance_record")}
_OTHER = _words(
    r"اون یکی",
    r"آن یکی",
    r"اونیکی",
    r"بقیه",
    r"اون یکی ها",
    r"بقیشون",
    r"یکی دیگه",
    r"یکی دیگر",
    r"یه نفر دیگه",
    r"کس دیگه",
    r"کسی دیگه",
    r"یه کس دیگه",
)
# Words of a follow-up: «… چی؟», «… رو هم», «… باشه چی؟», «پس …», «و …» at the start.
_CUE = _words(r"چی", r"چطور", r"چه طور", r"هم", r"باشه", r"پس", r"اگه", r"اگر")
# A day of the week («جمعه‌ها چی؟» after the contact centre's hours), by the names of
# ``config.yml``'s contact_centre.hours; on normalised text, where «جمعه‌ها» is «جمعه ها».
# Saturday last: «سه شنبه», «یک شنبه» … hold «شنبه» as a word, and a day found is cut out.
_WEEKDAYS: Final = (
    ("sunday", _words(r"یکشنبه", r"یک شنبه")),
    ("monday", _words(r"دوشنبه", r"دو شنبه")),
    ("tuesday", _words(r"سه شنبه", r"سهشنبه")),
    ("wednesday", _words(r"چهارشنبه", r"چهار شنبه")),
    ("thursday", _words(r"پنجشنبه", r"پنج شنبه")),
    ("friday", _words(r"جمعه")),
    ("saturday", _words(r"شنبه")),
)


@dataclass(frozen=True, slots=True)
class Topic:
    """The last thing answered: its intent, the entities it was asked with, what was said."""

    intent: str
    entities: Mapping[str, str] = field(default_factory=dict)
    # What the answer said that a follow-up may need (eligibility: the rows shown).
    answer: Mapping[str, Any] = field(default_factory=dict)
    # When it was answered (seconds since the epoch).
    at: float = 0.0

    def to_data(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "entities": dict(self.entities),
            "answer": dict(self.answer),
            "at": self.at,
        }

    @classmethod
    def from_data(cls, data: Any) -> Topic | None:
        if not isinstance(data, Mapping) or not isinstance(data.get("intent"), str):
            return None  # nothing kept, or kept by an older version in another shape
        return cls(
            intent=data["intent"],
            entities={str(k): str(v) for k, v in (data.get("entities") or {}).items()},
            answer=dict(data.get("answer") or {}),
            at=float(data.get("at") or 0.0),
        )

    def same_as(self, other: Topic) -> bool:
        """Whether ``other`` remembers the same thing (the time aside)."""
        return (
            self.intent == other.intent
            and dict(self.entities) == dict(other.entities)
            and dict(self.answer) == dict(other.answer)
        )


def entities_of(understanding: Understanding) -> dict[str, str]:
    """The entities of ``understanding`` a follow-up may carry, by name (the first of each)."""
    found: dict[str, str] = {}
    for item in understanding.entities:
        name = item.get("entity")
        if name in FOLLOW_UP_ENTITIES and name not in found:
            found[str(name)] = str(item.get("value"))
    return found


def _with_entities(
    understanding: Understanding, intent: str, entities: Mapping[str, str], kind: str
) -> Understanding:
    return replace(
        understanding,
        intent=intent,
        confidence=1.0,
        entities=tuple({"entity": k, "value": v} for k, v in entities.items()),
        ambiguous=False,
        fallback=False,
        follow_up=kind,
    )


def follow_up(understanding: Understanding, topic: Topic | None) -> Understanding | None:
    """Read ``understanding`` as a follow-up of ``topic``; None when it is not one.

    A follow-up is short (at most ``MAX_FOLLOW_UP_WORDS`` words), comes while the topic is
    remembered (the caller passes None once it has expired), and is what the NLU could not
    place (unsure, out of scope, a bare «help»/«yes»/«no», or a follow-up word read with less
    than ``WEAK_CONFIDENCE``), or names the same topic. Then:

    - «تا کی؟» / «چرا؟» after an eligibility answer → its end date / its reason and next step;
    - «اون یکی چی؟» after an eligibility answer about one relative → the others;
    - an entity the topic takes (``TOPIC_ENTITIES``: «دخترم», «مهر», «۲۰ میلیون») or a
      follow-up word («چی؟», «هم», «باشه») → the topic again, the new entities over the old;
    - «خودم چی؟» / «هر دوتاشون چی؟» after an eligibility answer → the asker's / the
      dependants' rows (unless the NLU reads something else at least ``SURE_OTHERWISE``);
    - «ماه قبلش چی؟» / «ماه بعدش» after a month shown → the topic for the month before/after;
    - a weak reading whose runner-up is a ``RELATED_TOPICS`` one → that topic;
    - «جمعه‌ها چی؟» (one day of the week) after the channels → that day's hours;
    - an unsure reading of the very topic just answered → that topic, not "did you mean …?".

    Whatever the NLU read, and up to ``MAX_QUESTION_ON_ANSWER_WORDS`` words
    (``_question_on_answer``): «از کجا باید اقدام کنم؟» → the topic's path; «حالا باید چیکار
    کنم؟» after someone was found not covered → the way back.
    """
    if topic is None or understanding.from_menu or not understanding.text:
        return None
    plain = _plain(understanding.text)
    if not plain or len(plain.split()) > MAX_QUESTION_ON_ANSWER_WORDS:
        return None
    new = entities_of(understanding)
    on_answer = _question_on_answer(understanding, plain, new, topic)
    if on_answer is not None or len(plain.split()) > MAX_FOLLOW_UP_WORDS:
        return on_answer
    cue = bool(_CUE.search(plain))
    weak = (
        understanding.unsure
        or understanding.intent in _WEAK_INTENTS
        # «پسرم چی؟» reads weakly as "add a dependant": a cue word with a weak reading
        or (cue and understanding.confidence < WEAK_CONFIDENCE)
    )
    relation = topic.entities.get("relation")
    if (
        "relation" not in new
        and relation not in (None, SELF, DEPENDANTS)
        and not _OTHER.search(plain)  # «یکی دیگه رو هم اضافه کنم»: not the same one
    ):
        # «خب چجوری اضافش کنم؟» after «no wife on file»: adding that relative.
        if understanding.intent in NEEDS_RELATION and not understanding.unsure:
            return _with_entities(
                understanding, understanding.intent, {"relation": relation}, SAME
            )
        if weak and _ADD.search(plain):
            return _with_entities(understanding, "add_dependent", {"relation": relation}, SAME)
    shifted = _shifted_month(plain, topic)
    if shifted and "month" not in new:
        # Whatever the NLU read: a month relative to the one shown names nothing else.
        return _with_entities(understanding, topic.intent, {**new, "month": shifted}, SAME)
    if topic.intent == ELIGIBILITY and not new:
        # «علی چرا نداره؟»: a first name of the family the last answer came from.
        named = _person_named(plain) or _member_named(plain, topic)
        sure_otherwise = understanding.confidence >= SURE_OTHERWISE
        if named and (weak or not sure_otherwise or understanding.intent == ELIGIBILITY):
            return _with_entities(understanding, ELIGIBILITY, {"relation": named}, SAME)
    if not weak and understanding.intent != topic.intent:
        return None
    if weak and not new:
        related = _related_runner_up(understanding, topic.intent) or _related_word(
            plain, topic.intent
        )
        if related is not None:
            return _with_entities(understanding, related, {}, SAME)
    if topic.intent == ELIGIBILITY and not new:
        if _UNTIL.search(plain):
            return _with_entities(understanding, COVER_UNTIL, topic.entities, UNTIL)
        if _WHY.search(plain):
            return _with_entities(understanding, COVER_WHY, topic.entities, WHY)
        asked = topic.entities.get("relation")
        if asked and _OTHER.search(plain):
            return _with_entities(understanding, ELIGIBILITY, {"except_relation": asked}, OTHER)
    if not weak:
        return None  # the NLU named the topic itself: its own reading stands
    if topic.intent == "contact_info" and not new:
        # «جمعه‌ها چی؟» after the hours: that day's hours. Not a TOPIC_ENTITIES topic: a cue
        # word alone («باشه») after the channels must not repeat them.
        day = _weekday_named(plain)
        if day is not None:
            return _with_entities(understanding, "contact_info", {"weekday": day}, SAME)
    takes = TOPIC_ENTITIES.get(topic.intent)
    if takes is None or any(name not in takes for name in new):
        return None  # «و دخترم چی؟» after the channels: nothing to carry it to
    if new or cue or understanding.intent == topic.intent:
        # An entity or a cue word for the topic, or an unsure reading of the very topic just
        # answered («من ۵۲ سالمه، میتونم؟» after the voluntary rules): the topic, not a
        # "did you mean …?".
        return _with_entities(understanding, topic.intent, {**topic.entities, **new}, SAME)
    return None


def _weekday_named(plain: str) -> str | None:
    """The one day of the week ``plain`` names, if it names exactly one."""
    named = []
    for day, pattern in _WEEKDAYS:
        if pattern.search(plain):
            named.append(day)
            plain = pattern.sub(" ", plain)
    return named[0] if len(named) == 1 else None


def _question_on_answer(
    understanding: Understanding, plain: str, new: Mapping[str, str], topic: Topic
) -> Understanding | None:
    """Where to apply for the topic, or what to do after someone was found not covered.

    Whatever the NLU read (registering on the portal, filing a complaint): these words ask
    about the answer just given. Up to ``MAX_QUESTION_ON_ANSWER_WORDS`` words.
    """
    ticket = topic.entities.get("ticket_id")
    if topic.intent == "track_ticket" and ticket and asks_about_the_wait(understanding.text):
        # «حالا تا کی باید منتظر بمونم؟» right after a ticket was filed: that ticket's due date.
        return _with_entities(understanding, "track_ticket", {"ticket_id": ticket}, SAME)
    path = TOPIC_PATHS.get(topic.intent)
    if path and _WHERE_TO_APPLY.search(plain):
        return _with_entities(understanding, TOPIC_PATH, {"entry": path}, PATH)
    if topic.intent == ELIGIBILITY and not new and _NEXT_STEP.search(plain):
        rows = topic.answer.get("rows")
        if isinstance(rows, list) and any(
            isinstance(r, dict) and not r.get("covered") for r in rows
        ):
            return _with_entities(understanding, COVER_NEXT, topic.entities, NEXT)
    return None


def _shifted_month(plain: str, topic: Topic) -> str:
    """The month before or after the one ``topic`` showed («ماه قبلش»), as "YYYY-MM"; ""."""
    shown = topic.answer.get("month")
    step = -1 if _PREVIOUS_MONTH.search(plain) else 1 if _NEXT_MONTH.search(plain) else 0
    if (
        not step
        or not isinstance(shown, str)
        or "month" not in TOPIC_ENTITIES.get(topic.intent, ())
    ):
        return ""
    year, _, month = shown.partition("-")
    if not (year.isdigit() and month.isdigit()):
        return ""
    shifted_year, shifted_month = previous_jalali_month(int(year), int(month), back=-step)
    return f"{shifted_year}-{shifted_month:02d}"


def _person_named(plain: str) -> str:
    """``SELF`` or ``DEPENDANTS`` when a message names the asker or the whole family."""
    if _SELF.search(plain):
        return SELF
    if _ALL.search(plain):
        return DEPENDANTS
    return ""


def _member_named(plain: str, topic: Topic) -> str:
    """The relation of a family member a message names by first name (the topic's
    ``family``: first name → relation word), or ""."""
    family = topic.answer.get("family")
    if not isinstance(family, Mapping):
        return ""
    words = set(plain.split())
    for name, relation in family.items():
        if _plain(str(name)) in words and isinstance(relation, str):
            return relation
    return ""


def _related_word(plain: str, topic: str) -> str | None:
    """The topic a word of ``RELATED_WORDS`` turns a follow-up of ``topic`` to, if any."""
    pattern, related = RELATED_WORDS.get(topic, (None, ""))
    return related if pattern is not None and pattern.search(plain) else None


def _related_runner_up(understanding: Understanding, topic: str) -> str | None:
    """A topic close to ``topic`` that the NLU ranked next to its weak reading, if any."""
    related = RELATED_TOPICS.get(topic, ())
    for intent, confidence in understanding.ranking:
        if intent in related and confidence >= MIN_RUNNER_UP:
            return intent
    return None


class Dialogue:
    """One update's view of the chat's FSM data: the remembered topic and the misses count.

    The data is read at most once per update, on first use, and written only when something
    changed (``remember`` of the same topic within a quarter of the memory time writes nothing:
    a user asking the same thing again needs no new record).
    """

    def __init__(self, state: FSMContext, now: Callable[[], dt.datetime], memory: dt.timedelta):
        self.state = state
        self._now = now
        self.memory = memory
        self._data: dict[str, Any] | None = None
        # Whether a handler remembered its answer this update (the gate then adds nothing).
        self.remembered = False

    async def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = await self.state.get_data()
        return self._data

    async def topic(self) -> Topic | None:
        """The remembered topic, if it is recent enough to lean on."""
        topic = Topic.from_data((await self.data()).get(DATA_KEY))
        if topic is None or self._now().timestamp() - topic.at > self.memory.total_seconds():
            return None
        return topic

    async def remember(
        self,
        intent: str,
        entities: Mapping[str, str] | None = None,
        answer: Mapping[str, Any] | None = None,
    ) -> None:
        """Keep what was just answered, for the follow-ups."""
        self.remembered = True
        now = self._now().timestamp()
        topic = Topic(intent=intent, entities=dict(entities or {}), answer=dict(answer or {}))
        kept = Topic.from_data((await self.data()).get(DATA_KEY))
        fresh = self.memory.total_seconds() / 4
        if kept is not None and kept.same_as(topic) and now - kept.at < fresh:
            return
        await self.update(**{DATA_KEY: replace(topic, at=now).to_data()})

    async def update(self, **values: Any) -> None:
        """Set keys of the FSM data (and of this update's copy).

        Through aiogram's ``update_data``, which reads the data again: a handler may have
        changed it since this update's copy was read (a flow's first step does), and a write
        from the copy would undo that.
        """
        self._data = await self.state.update_data(**values)

    def forget_cache(self) -> None:
        """Drop this update's copy (after a handler cleared or replaced the FSM data)."""
        self._data = None
