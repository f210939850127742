"""Treatment eligibility: the official status for the user and each dependant, or one relative.

«پسرم بیمه داره؟» carries a ``relation`` entity: only that relative is answered.
"""

from __future__ import annotations

import re
from typing import Any, Final

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot import formatting as fmt
from bot import keyboards, texts
from bot.deps import Services
from bot.dialogue import DEPENDANTS, ELIGIBILITY, SELF, Dialogue
from bot.handlers.common import PERSONAL, Intent
from bot.nlu import Understanding
from bot.reply import Reply
from persian import normalize
from services.eligibility import EligibilityResult, EligibilityRow, NextStep, NotCoveredReason
from services.enums import RELATION_WORDS, Relation, relations_named
from services.errors import NoSuchDependant
from services.identity import ChatUserInfo
from services.settings import Settings

_WORD: Final = re.compile(r"[^\W\d_]+")


async def check_eligibility(
    event: Message | CallbackQuery,
    understanding: Understanding,
    services: Services,
    chat_user: ChatUserInfo,
    settings: Settings,
    dialogue: Dialogue,
    reply: Reply,
) -> None:
    """Answer whether the user (and family) have treatment cover now."""
    asked = understanding.entity("relation")
    named = relations_named(asked)
    # «اون یکی چی؟» after an answer about one relative: the family without that one.
    others_than = relations_named(understanding.entity("except_relation"))
    try:
        async with reply.typing():
            if others_than is None and named is not None and len(named) == 1:
                result = await services.eligibility.inquire(chat_user, named[0])
            else:
                result = await services.eligibility.inquire(chat_user)
    except NoSuchDependant:
        # The thread stays here: «بچه‌هام چی؟» next asks about the children.
        await remember_rows(dialogue, settings, (), asked, ())
        raise
    rows = result.rows
    if asked in (SELF, DEPENDANTS):
        # «خودم چی؟» / «هر دوتاشون چی؟» after an answer (bot.dialogue reads them so).
        rows = tuple(r for r in rows if (r.relation is None) == (asked == SELF))
        if not rows:  # no dependant on file (the user's own row is always there)
            await reply(texts.FAMILY_EMPTY, keyboard=keyboards.add_dependant())
            return
    elif others_than is not None:
        rows = tuple(r for r in rows if r.relation is not None and r.relation not in others_than)
        if not rows:
            await reply(texts.FOLLOW_UP_NO_OTHERS)
            return
    elif named is not None and len(named) > 1:
        rows = tuple(r for r in rows if r.relation in named)
        if not rows:
            # The thread stays here: «بچه‌هام چی؟» next asks about the children.
            await remember_rows(dialogue, settings, rows, asked, result.family)
            raise NoSuchDependant(asked or "")
    rows = named_rows(rows, understanding.text)
    await reply.raw(render_result(reply, settings, result, rows))
    await remember_rows(dialogue, settings, rows, asked, result.family)


async def remember_rows(
    dialogue: Dialogue,
    settings: Settings,
    rows: tuple[EligibilityRow, ...],
    asked: str | None,
    family: tuple[tuple[str, Relation], ...],
) -> None:
    """Keep the rows just shown, for «تا کی؟», «چرا؟», «خودم چی؟» (``bot.handlers.thread``),
    and the first names of the family the inquiry found, for «علی چرا نداره؟»
    (``bot.dialogue``; with the names kept from the answers before)."""
    son_age = fmt.digits(settings.config.dependants.son_age_limit_years)
    topic = await dialogue.topic()
    kept = topic.answer.get("family") if topic is not None else None
    names = dict(kept) if isinstance(kept, dict) else {}
    for first_name, relation in family:
        word = _relation_word(relation)
        if word:
            names[first_name] = word
    await dialogue.remember(
        ELIGIBILITY,
        {"relation": asked} if asked else {},
        {"rows": [_remembered(row, son_age) for row in rows], "family": names},
    )


def _relation_word(relation: Relation) -> str:
    """The relation entity's word that names ``relation`` alone, or the pair it is in
    (a wife or a husband: «spouse»)."""
    words = [w for w, named in RELATION_WORDS.items() if relation in named]
    return min(words, key=lambda w: len(RELATION_WORDS[w]), default="")


def _remembered(row: EligibilityRow, son_age: str) -> dict[str, Any]:
    """What «تا کی؟» and «چرا؟» need of a row (``bot.handlers.thread`` reads it)."""
    step = ""
    if row.next_step is not None and row.next_step is not NextStep.DISPUTE_VIA_1420:
        step = texts.ELIGIBILITY_STEPS[row.next_step.value]
    return {
        "name": row.full_name,
        "relation": row.relation.value if row.relation is not None else None,
        "covered": row.covered,
        "until": row.coverage_until.isoformat() if row.coverage_until is not None else "",
        "reason": _reason(row, son_age) if row.reason is not None else "",
        "step": step,
    }


def named_rows(rows: tuple[EligibilityRow, ...], text: str) -> tuple[EligibilityRow, ...]:
    """The people a message names by first name («دخترم سارا …»), or all of ``rows``."""
    words = set(_WORD.findall(normalize(text))) if text else set()
    named = tuple(r for r in rows if normalize(r.first_name) in words)
    return named or rows


def render_result(
    reply: Reply, settings: Settings, result: EligibilityResult, rows: tuple[EligibilityRow, ...]
) -> str:
    """Return the rendered answer: the tracking code, one block per person, how to dispute."""
    render = reply.render
    son_age = fmt.digits(settings.config.dependants.son_age_limit_years)
    parts = [render.text(texts.ELIGIBILITY_HEADER, code=fmt.code(result.tracking_code))]
    for row in rows:
        person = {"name": row.full_name, "relation": fmt.relation_label(row.relation)}
        if row.covered and row.coverage_until is not None:
            parts.append(
                render.text(
                    texts.ELIGIBILITY_COVERED, until=fmt.date(row.coverage_until), **person
                )
            )
        elif row.covered:
            parts.append(render.text(texts.ELIGIBILITY_COVERED_NO_DATE, **person))
        else:
            parts.append(render.text(texts.ELIGIBILITY_NOT_COVERED, **person))
            if row.reason is not None:
                parts.append(render.text(texts.ELIGIBILITY_REASON, reason=_reason(row, son_age)))
            if row.next_step is not None and row.next_step is not NextStep.DISPUTE_VIA_1420:
                step = texts.ELIGIBILITY_STEPS[row.next_step.value]
                parts.append(render.text(texts.ELIGIBILITY_NEXT_STEP, step=step))
    if any(not r.covered for r in rows):
        parts.append(render.text(texts.ELIGIBILITY_DISPUTE))
    return "".join(parts)


def _reason(row: EligibilityRow, son_age: str) -> str:
    if row.reason is NotCoveredReason.CONTRIBUTIONS_STOPPED:
        if row.last_paid_month is None:
            return texts.ELIGIBILITY_REASONS["contributions_stopped_never"]
        return texts.ELIGIBILITY_REASONS["contributions_stopped"].format(
            last_month=fmt.month(*row.last_paid_month)
        )
    assert row.reason is not None
    return texts.ELIGIBILITY_REASONS[row.reason.value].format(son_age=son_age)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(check_eligibility, Intent("check_eligibility"), flags=PERSONAL)
    router.callback_query.register(check_eligibility, Intent("check_eligibility"), flags=PERSONAL)
    return router
