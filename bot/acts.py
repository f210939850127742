"""What a message does besides naming a task: the readings the NLU's intents cannot give.

A caller at 1420 says «یه سوال داشتم» before the question, «نه، نمی‌خوام ثبت بشه» to «ثبت
شود؟», «دفترچه‌م اعتبار داره؟» about their own cover, «پس الان چیکار کنم؟» when stuck on a
step, and «هم … هم …» for two things at once. The NLU reads such messages by their words
(out of scope, «no», the booklet's renewal rules, one of the two requests); the rules here read
what they do, on the normalised text (``plain``), so the bot answers that:

- ``announces_question``: a question announced, not yet asked → «بفرمایید»;
- ``status_question``: a relative's or the asker's own cover asked in the words of a rule
  («شوهرم هم زیر بیمه منه؟» read as adding a relative, «دفترچه‌م اعتبار داره؟» read as the
  booklet's renewal) → eligibility;
- ``settled_closing``: «kheili mamnoon, khodahafez», unsure between thanks and goodbye, is both:
  a goodbye;
- ``typed_no``: a typed no where a yes/no button is expected;
- ``asks_for_person``: a person asked for in the middle of a flow, even where any text is the
  step's answer (a complaint's description);
- ``asks_what_now``: «پس الان باید چیکار کنم؟» on a step: the step's help, not «not an answer»;
- ``correlative_parts``: «هم X هم Y» cut into X and Y (``bot.requests.request_parts``);
- ``is_exit``: the words that leave a flow as /cancel does («انصراف», «بیخیال», «نه ممنون» …),
  and the "never mind" words at the edge of a short message («ولش کن، بعدا»).
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from typing import Final

from bot.nlu import OUT_OF_SCOPE, Understanding
from persian import normalize

# The internal intent of a question announced before it is asked (no training data: only the
# rule here produces it).
ANNOUNCE: Final = "announce_question"
ELIGIBILITY: Final = "check_eligibility"


# Cached: the rules here and the dialogue's follow-ups each read the same message (two to four
# normalisations of every message, about 20 µs each); the last few texts are enough.
@functools.lru_cache(maxsize=64)
def plain(text: str) -> str:
    """Normalised, half-spaces as spaces, punctuation dropped, lower case, single spaces."""
    text = normalize(text, zwnj_as_space=True)
    text = re.sub(r"[?؟!.,،:;«»\"']+", " ", text)
    return " ".join(text.lower().split())


def _words(*alternatives: str) -> re.Pattern[str]:
    # Whole words: the spaces around stay unmatched, so words side by side all match.
    return re.compile(r"(?<!\S)(?:" + "|".join(alternatives) + r")(?!\S)")


# --- leaving a flow ------------------------------------------------------------------------
_EXITS: Final = frozenset(
    {
        "انصراف",
        "لغو",
        "بیخیال",
        "بی خیال",
        "ولش کن",
        "نمیخوام",
        "نمی خوام",
        "نمیخواهم",
        "نمی خواهم",
        "نه ممنون",
        "نه مرسی",
        "نه متشکرم",
        "نه، ممنون",
        "منصرف شدم",
        "کنسل",
        "cancel",
    }
)
# "Never mind" words: they leave a flow also with a word or two beside them, at either edge of
# a short message («ولش کن، بعدا», «بعدا حساب میکنم، ولش کن», «بیخیال دیگه»). Verbs and
# adverbs only: «لغو» and «انصراف» are nouns too («لغو قرارداد» may describe a complaint), so
# they leave only as the whole message (``_EXITS``).
_NEVER_MIND: Final = (
    "ولش کن",
    "ول کن",
    "بیخیال",
    "بی خیال",
    "بعدا",
    "بعداً",
    "فعلا نه",
    "یه وقت دیگه",
    "یه روز دیگه",
    "منصرف شدم",
)
# «نمیخوام» leaves only as the whole message (``_EXITS``): beside another word it is often the
# answer to the step («عکس نمیخوام», «نمیخوام بفرستم» at the attachment step: no photo), not a
# wish to drop the complaint.
# At most this many words in all: a longer message is a sentence (a complaint's description
# may quote «ولش کن»), read by the step as any other text.
MAX_NEVER_MIND_WORDS: Final = 5
_NEVER_MIND_EDGE = re.compile(
    r"^(?:" + "|".join(_NEVER_MIND) + r")(?:\s|$)|(?:^|\s)(?:" + "|".join(_NEVER_MIND) + r")$"
)
_DIGIT = re.compile(r"\d")
# Intents that end a flow when they are the whole message: a goodbye or a thanks.
EXIT_INTENTS: Final = frozenset({"goodbye", "thanks"})


def is_exit(text: str) -> bool:
    """Whether ``text`` asks to leave the flow in progress («انصراف», «بیخیال», «نه ممنون» …).

    An exit word as the whole message, or a "never mind" word (``_NEVER_MIND``) opening or
    closing a short message without digits («ولش کن اصلا», «بعدا حساب میکنم، ولش کن»).
    """
    words = plain(text)
    if words in _EXITS or words.removeprefix("نه ").strip() in _EXITS:
        return True
    return (
        len(words.split()) <= MAX_NEVER_MIND_WORDS
        and not _DIGIT.search(words)
        and bool(_NEVER_MIND_EDGE.search(words))
    )


# --- a question announced ------------------------------------------------------------------
# «یه سوال داشتم», «سؤالی دارم», «میخواستم یه چیزی بپرسم», «میشه یه سوال بپرسم», Finglish too.
_ANNOUNCE = _words(
    r"(?:یه|یک|چند ?تا|دو ?تا|یه دونه)? ?(?:سوال|سؤال|پرسش|سوالی|سؤالی|پرسشی)"
    r"(?: دیگه| دیگر| دیگه ای| دیگری)?(?: هم)? "
    r"(?:داشتم|دارم|داشتیم|داریم|بپرسم|میپرسم|می پرسم|ازتون|از شما)",
    r"(?:میخواستم|می خواستم|میخوام|می خوام|میشه|می شه|می شود|ممکنه) "
    r"(?:یه |یک )?(?:چیزی|سوالی|سوال|سؤال|سؤالی|چیز) ?(?:رو |را )?(?:ازتون |از شما )?"
    r"(?:بپرسم|سوال کنم|بپرسیم)",
    r"(?:میخواستم|می خواستم|میخوام|می خوام) (?:ازتون |از شما )?(?:بپرسم|سوال کنم|سؤال کنم)",
    # «ببخشید، یه سوال»: the verb left out.
    r"(?:یه|یک) (?:سوال|سؤال|سوالی|سؤالی)",
    r"(?:یه )?کمک(?:ی)? (?:میخواستم|می خواستم|لازم دارم|داشتم)",
    r"(?:ye |yek )?so['a]?al (?:dashtam|daram)",
)
# Words a question's announcement comes with (greetings, courtesy, fillers): nothing asked.
_COURTESY = _words(
    r"سلام",
    r"سلام علیکم",
    r"ببخشید",
    r"ببخشین",
    r"عذر میخوام",
    r"خسته نباشید",
    r"وقت ?تون بخیر",
    r"وقت بخیر",
    r"روز ?تون بخیر",
    r"لطفا",
    r"من",
    r"یه",
    r"یک",
    r"ازتون",
    r"از شما",
    # «یه سوال از خدمتتون داشتم»: the verb apart from the noun.
    r"داشتم",
    r"دارم",
    r"(?:از )?خدمتتون",
    r"(?:از )?خدمت شما",
    r"شما",
    r"دیگه",
    r"هم",
    r"راستی",
    r"salam",
    r"ببخشید که مزاحم شدم",
    r"مزاحم شدم",
    r"مزاحمتون شدم",
)


def announces_question(understanding: Understanding) -> Understanding | None:
    """«یه سوال داشتم»: the question is still to come (None when the message asks something).

    Only when the announcement and courtesy words are the whole message, whatever the NLU
    read («سوال دارم» reads as out of scope, which would refuse a question not yet asked;
    «سلام یه سوالی داشتم ازتون» as the insurance record).
    """
    if understanding.from_menu or understanding.entities:
        return None
    text = plain(understanding.text)
    if not _ANNOUNCE.search(text):
        return None
    if _COURTESY.sub(" ", _ANNOUNCE.sub(" ", text)).strip():
        return None
    return _as(understanding, ANNOUNCE)


def _as(understanding: Understanding, intent: str, **entities: str) -> Understanding:
    return replace(
        understanding,
        intent=intent,
        confidence=1.0,
        ambiguous=False,
        fallback=False,
        entities=tuple({"entity": k, "value": v} for k, v in entities.items())
        or understanding.entities,
    )


# --- a status question in a rule's words ---------------------------------------------------
# Whether a relative IS covered now («شوهرم هم زیر بیمه منه؟», «مادرم زیر پوشش من هست؟»),
# which the NLU may read as adding one: present-tense "is under my cover" …
_IS_COVERED = _words(
    r"زیر (?:بیمه|پوشش|بیمه ی|پوشش بیمه)(?: من| خودم)?(?:ه|هست|هستن|است|اند|ان)",
    r"زیر (?:بیمه|پوشش|بیمه ی)(?: (?:منه|خودمه|منن|مان))",
    r"تحت پوشش(?: من| خودم)?(?:ه| هست| هستن| است| منه)",
    r"بیمه (?:داره|دارن|دارند|دارد|هست|هستن)",
    r"پوشش (?:داره|دارن|دارد)",
)
# … without the words of wanting to add one («ببرم», «اضافه», «میتونه … باشه», «شرایط»).
_ADDING = re.compile(
    r"اضافه|ببرم|بیارم|بیارمش|ثبت|شرایط|میتونه|می تونه|میتونم|می تونم|می شه|میشه|چطور|باشه"
)
# «دفترچه‌م اعتبار داره؟», «بیمه‌ام هنوز فعاله؟», «دفترچه من باطل شده؟»: the asker's own booklet
# or insurance (a possessive) and its state now — a question the eligibility inquiry answers,
# which the NLU reads as the booklet's rules.
_OWN_THING = _words(
    r"(?:دفترچه|دفترچه ی|دفترچه بیمه|دفترچه درمانی|بیمه|بیمه درمانی|کارت بیمه|پوشش)"
    r" ?(?:م|ام|مون|من|خودم)",
    r"دفترچم|بیمم|دفترچمون|بیممون",
)
_STATE_NOW = _words(
    r"(?:هنوز |الان )?اعتبار (?:داره|نداره|دارد|ندارد|داره یا نه|هست|نیست)",
    r"(?:هنوز |الان )?(?:فعال|برقرار|معتبر)(?:ه| هست| است| نیست|ه یا نه)?",
    r"(?:باطل|قطع|تموم|تمام|منقضی)(?:ه| شده| شد|شده)",
    r"اعتبارش (?:تموم|تمام) شده",
)
# The words of a rule question about the booklet: how to renew it, where, with what.
_RULE_WORDS = re.compile(
    r"تمدید|چطور|چطوری|چجوری|چگونه|کجا|مدارک|چیکار|چه کار|هزینه|شرایط|قانون|از کی"
)
# Intents such a question is read as (the booklet's rules, or nothing sure).
_STATUS_MISREAD: Final = frozenset({"booklet_renewal", OUT_OF_SCOPE, "help"})


def status_question(understanding: Understanding) -> Understanding | None:
    """A cover asked about in a rule's words: the eligibility of that person (None when the
    reading stands).

    - «شوهرم هم زیر بیمه منه؟» read as adding a relative asks whether he is covered;
    - «دفترچه‌م اعتبار داره؟», «بیمه‌ام فعاله؟» read as the booklet's rules (or nothing sure)
      ask for the asker's own cover, unless they ask how («چطوری تمدید کنم؟»).
    """
    if understanding.from_menu:
        return None
    text = plain(understanding.text)
    relation = understanding.entity("relation")
    if understanding.intent == "add_dependent":
        if relation is None or not _IS_COVERED.search(text) or _ADDING.search(text):
            return None
        return _as(understanding, ELIGIBILITY, relation=relation)
    if not (understanding.intent in _STATUS_MISREAD or understanding.unsure):
        return None
    if not (_OWN_THING.search(text) and _STATE_NOW.search(text)) or _RULE_WORDS.search(text):
        return None
    return _as(understanding, ELIGIBILITY)


# --- thanks and goodbye at once ------------------------------------------------------------
CLOSINGS: Final = frozenset({"thanks", "goodbye"})
# The two closings together must carry this much of the ranking.
SURE_CLOSING: Final = 0.8


def settled_closing(understanding: Understanding) -> Understanding | None:
    """«kheili mamnoon, khodahafez»: unsure between thanks and goodbye is both — a goodbye."""
    if not understanding.unsure or len(understanding.ranking) < 2:
        return None
    (first, p1), (second, p2) = understanding.ranking[:2]
    if {first, second} != CLOSINGS or p1 + p2 < SURE_CLOSING:
        return None
    return _as(understanding, "goodbye")


# --- a no typed at a confirmation -----------------------------------------------------------
# A typed answer is short; a longer text is something else (a question, a correction).
MAX_CHOICE_WORDS: Final = 6
# The NLU's «no» must be this sure.
SURE_NO: Final = 0.75
# A plain no as the whole message is a no whatever the NLU's confidence: «خیر» also ends «شب
# بخیر», so the model gives it to goodbye in part (0.73 deny against 0.25 goodbye).
PLAIN_NOS: Final = frozenset({"نه", "خیر", "نخیر", "نع", "no", "na", "nah", "nope"})


def typed_no(understanding: Understanding) -> bool:
    """Whether a text typed at a yes/no confirmation is a no («نه نمیخوام ثبت بشه», «نه ثبت
    نکن», «خیر»): the no button's answer.

    Only the no: nothing is filed by it and the user can start again, whereas a typed «باشه»
    or «اوکی» may only acknowledge the summary, and filing is not undone (the yes stays a
    button).
    """
    words = plain(understanding.text).split()
    if len(words) == 1 and words[0] in PLAIN_NOS:
        return True
    return (
        0 < len(words) <= MAX_CHOICE_WORDS
        and not understanding.unsure
        and understanding.intent == "deny"
        and understanding.confidence >= SURE_NO
    )


# --- a person asked for mid-flow -------------------------------------------------------------
# A complaint's description may mention a person («گفتن برو با رئیس شعبه حرف بزن»): only a
# short message read this surely as asking for one is a request for a person.
SURE_PERSON: Final = 0.85
MAX_PERSON_WORDS: Final = 12


def asks_for_person(understanding: Understanding) -> bool:
    """Whether a message inside a flow asks to talk to a person, not to go on writing."""
    return (
        understanding.intent == "human_agent"
        and not understanding.unsure
        and understanding.confidence >= SURE_PERSON
        and len(plain(understanding.text).split()) <= MAX_PERSON_WORDS
    )


# --- what to do now, on a step ---------------------------------------------------------------
_WHAT_NOW = _words(
    r"(?:باید )?(?:چیکار|چی کار|چکار|چه کار|چه کاری) (?:کنم|بکنم|باید بکنم|باید کرد|کنیم)",
    r"باید (?:چیکار|چی کار|چکار|چه کار)",
    r"چه باید (?:بکنم|کرد)",
    r"راهش چیه",
    r"(?:حالا|الان|پس) چی ?کار",
    r"chikar konam",
)
MAX_WHAT_NOW_WORDS: Final = 8


def _short_and_says(text: str, pattern: re.Pattern[str], most_words: int) -> bool:
    """Whether ``text`` has at most ``most_words`` words and says ``pattern``."""
    words = plain(text)
    return len(words.split()) <= most_words and bool(pattern.search(words))


def asks_what_now(text: str) -> bool:
    """«پس الان باید چیکار کنم؟»: how to go on from here, a short question."""
    return _short_and_says(text, _WHAT_NOW, MAX_WHAT_NOW_WORDS)


# --- the wait for a person, asked while queued or after a ticket --------------------------------
# «حالا تا کی باید منتظر بمونم؟», «نوبتم کیه؟», «چقدر دیگه طول میکشه؟», «کی وصل میشم؟».
_WAIT = _words(
    r"منتظر (?:بمونم|بمانم|باشم|بشینم)",
    r"تا کی (?:باید )?(?:صبر|منتظر)",
    r"نوبت(?:م|ـم| من)",
    r"چقدر (?:دیگه|دیگر) ?(?:طول|مونده|باید)",
    r"چقد (?:دیگه|طول)",
    r"کی (?:وصل|جواب|نوبت)",
    r"(?:کی|چه وقت) (?:یکی|کارشناس|اپراتور) (?:جواب|میاد|وصل)",
    r"ta key (?:sabr|montazer)",
    r"nobatam",
)
MAX_WAIT_WORDS: Final = 10


def asks_about_the_wait(text: str) -> bool:
    """Whether a short message asks how long until a person answers (queued, or after a
    ticket)."""
    return _short_and_says(text, _WAIT, MAX_WAIT_WORDS)


# --- «هم X هم Y» -------------------------------------------------------------------------------
_CORRELATIVE = re.compile(r"(?:^|\s)هم\s")


def correlative_parts(piece: str) -> list[str]:
    """«هم سابقه کلمو بگو هم ببین دخترم بیمه داره» → its two requests; [] when not so built.

    The message must open with «هم» and say it again: a «هم» inside only means "too"
    («دخترم هم بیمه داره؟»).
    """
    stripped = piece.strip()
    if not stripped.startswith("هم ") or len(_CORRELATIVE.findall(stripped)) < 2:
        return []
    parts = [p.strip(" ،,.") for p in _CORRELATIVE.split(stripped)]
    return [p for p in parts if p]
