"""Every closed vocabulary the bot words has its Persian text in the catalogue (``bot/texts.py``).

A value added to a service's enum without its text would reach the user as a raw code or as an
apology (a ``KeyError``); these tests name the value instead. Where the bot words a value
through a handler's own renderer (eligibility), the renderer itself is run for every value.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.handlers import build_handlers
from bot.handlers.common import Intent
from bot.handlers.eligibility import render_result
from bot.handlers.smalltalk import top_two
from bot.nlu import Understanding
from bot.platform import Platform
from bot.render import Renderer
from bot.reply import Reply
from nlu.training_data import load_training_data
from persian.national_id import NationalIdProblem
from services.clock import FixedClock
from services.dependants import DependantFacts, DependantsService, Document
from services.eligibility import (
    EligibilityResult,
    EligibilityRow,
    NextStep,
    NotCoveredReason,
)
from services.enums import RELATION_WORDS, Gender, Relation, TicketCategory, TicketStatus
from services.info import WEEK_ORDER
from services.settings import Settings
from tests.bot.conftest import make_bots

NLU_DATA = Path(__file__).resolve().parents[2] / "nlu" / "data"


def _row(reason: NotCoveredReason | None, step: NextStep | None, **extra: Any) -> EligibilityRow:
    return EligibilityRow(
        national_id="6508124226",
        first_name="سارا",
        last_name="رضایی",
        relation=Relation.DAUGHTER,
        covered=False,
        coverage_until=None,
        reason=reason,
        next_step=step,
        **extra,
    )


def _render(settings: Settings, *rows: EligibilityRow) -> str:
    reply = Reply(make_bots()[0], 1, Renderer(Platform.TELEGRAM))
    result = EligibilityResult(
        tracking_code="1234567890",
        inquired_at=dt.datetime(2026, 12, 6, tzinfo=dt.UTC),
        national_id="6508124226",
        rows=rows,
    )
    return render_result(reply, settings, result, rows)


def test_every_not_covered_reason_is_worded(settings: Settings) -> None:
    for reason in NotCoveredReason:
        for last_paid in (None, (1402, 7)):
            text = _render(settings, _row(reason, None, last_paid_month=last_paid))
            assert "علت:" in text, reason
            assert "{" not in text and reason.value not in text, (reason, text)


def test_every_next_step_is_worded(settings: Settings) -> None:
    for step in NextStep:
        text = _render(settings, _row(NotCoveredReason.COVERAGE_ENDED, step))
        assert "{" not in text and step.value not in text, (step, text)
        # Disputing through 1420 is the closing line of every answer with someone not covered.
        assert ("اقدام لازم:" in text) is (step is not NextStep.DISPUTE_VIA_1420), step
        assert texts.ELIGIBILITY_STEPS.get(step.value, "") in text


def test_every_reason_a_dependant_is_refused_for_is_worded(
    settings: Settings, clock: FixedClock
) -> None:
    """Every reason ``assess`` gives for a refusal, over every combination of the facts it
    looks at, has its line in ``DEPENDANT_REASONS`` (the error router shows them)."""
    service = DependantsService(cast(AsyncSession, None), settings, clock)
    today = clock.today()
    ages = (0, 10, 17, 18, 20, 25, 40, 55, 60, 65, 80)
    refused_for: set[str] = set()
    for relation, age, flags, gender in itertools.product(
        Relation,
        ages,
        itertools.product((False, True), repeat=6),
        (None, Gender.MALE, Gender.FEMALE),
    ):
        student, disabled, married, employed, own_pension, supported = flags
        facts = DependantFacts(
            relation=relation,
            birth_date=today.replace(year=today.year - age),
            student=student,
            disabled=disabled,
            married=married,
            employed=employed,
            own_pension=own_pension,
            supported=supported,
        )
        decision = service.assess(facts, gender)
        if not decision.eligible:
            refused_for.update(r.value for r in decision.reasons)
        for document in decision.documents:
            assert document.value in texts.DOCUMENT_LABELS, document
    assert refused_for, "no combination was refused"
    assert refused_for <= texts.DEPENDANT_REASONS.keys(), (
        refused_for - texts.DEPENDANT_REASONS.keys()
    )


def test_every_document_ticket_and_relation_value_is_worded() -> None:
    assert {d.value for d in Document} <= texts.DOCUMENT_LABELS.keys()
    assert {c.value for c in TicketCategory} == texts.CATEGORY_LABELS.keys()
    assert {s.value for s in TicketStatus} == texts.TICKET_STATUS_LABELS.keys()
    assert {r.value for r in Relation} <= texts.RELATION_LABELS.keys()
    assert RELATION_WORDS.keys() == texts.RELATION_ENTITY_LABELS.keys()
    assert {p.value for p in NationalIdProblem} <= texts.NATIONAL_ID_PROBLEMS.keys()
    assert set(WEEK_ORDER) == texts.WEEKDAY_NAMES.keys()


def test_every_intent_the_nlu_knows_has_a_handler_and_a_label() -> None:
    """An intent the classifier can return but no handler matches would reach the fallback;
    one offered as "did you mean …?" without a label would show its code on the button."""
    intents = set(load_training_data([NLU_DATA]).intents)
    assert "check_eligibility" in intents
    handled: dict[str, set[str]] = {"message": set(), "callback_query": set()}
    for root in build_handlers():
        for router in root.chain_tail:
            for kind in handled:
                for handler in router.observers[kind].handlers:
                    for flt in handler.filters or ():
                        if isinstance(flt.callback, Intent):
                            handled[kind].update(flt.callback.names)
    assert intents <= handled["message"], intents - handled["message"]
    offered = {
        name
        for name in intents
        if top_two(Understanding("out_of_scope", 0.1, ranking=((name, 0.1),)))
    }
    # Whatever "did you mean …?" can offer, its button reaches the handler and has a label.
    assert offered <= handled["callback_query"], offered - handled["callback_query"]
    assert offered <= texts.INTENT_LABELS.keys(), offered - texts.INTENT_LABELS.keys()
