"""Treatment eligibility: the official status for the user and each dependant, or one relative.

«پسرم بیمه داره؟» carries a ``relation`` entity: only that relative is answered.
"""

from __future__ import annotations

from aiogram import Router

from bot import formatting as fmt
from bot import texts
from bot.handlers.common import IntentRegistry, Turn
from services.eligibility import EligibilityResult, EligibilityRow, NextStep, NotCoveredReason
from services.enums import Relation
from services.errors import NoSuchDependant

# NLU relation values that name one registry relation, and those that name several.
_ONE: dict[str, Relation] = {
    "son": Relation.SON,
    "daughter": Relation.DAUGHTER,
    "father": Relation.FATHER,
    "mother": Relation.MOTHER,
}
_SEVERAL: dict[str, frozenset[Relation]] = {
    "spouse": frozenset({Relation.WIFE, Relation.HUSBAND}),
    "child": frozenset({Relation.SON, Relation.DAUGHTER}),
}


async def check_eligibility(turn: Turn) -> None:
    """Answer whether the user (and family) have treatment cover now."""
    asked = turn.understanding.entity("relation")
    service = turn.services.eligibility
    async with turn.reply.typing():
        if asked in _ONE:
            result = await service.inquire(turn.user, _ONE[asked])
        else:
            result = await service.inquire(turn.user)
    rows = result.rows
    if asked in _SEVERAL:
        rows = tuple(r for r in rows if r.relation in _SEVERAL[asked])
        if not rows:
            raise NoSuchDependant(asked)
    await turn.reply.raw(render_result(turn, result, rows))


def render_result(turn: Turn, result: EligibilityResult, rows: tuple[EligibilityRow, ...]) -> str:
    """Return the rendered answer: the tracking code, one block per person, how to dispute."""
    render = turn.reply.render
    son_age = fmt.digits(turn.settings.config.dependants.son_age_limit_years)
    parts = [render.text(texts.ELIGIBILITY_HEADER, code=fmt.digits(result.tracking_code))]
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


def register(registry: IntentRegistry) -> Router:
    router = Router(name=__name__)
    registry.add("check_eligibility", check_eligibility, personal=True)
    return router
