"""The one error router: domain errors become Persian replies, anything else an apology.

Services raise domain errors with a stable ``code`` (``services/errors.py``) and typed details;
flows raise ``InputProblem`` for input they cannot use. Each is worded here from the catalogue,
with the keyboard that lets the user go on. Anything unexpected is logged (type and update id;
the log formatter masks identifiers in the traceback) and the user gets an apology, never a
traceback. The flow state is kept unless the error ends the flow, so a retry loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import ExceptionTypeFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import ErrorEvent
from redis.exceptions import RedisError

from bot import formatting as fmt
from bot import keyboards, texts
from bot.handlers.common import InputProblem
from bot.handlers.verification import MISMATCH_KEY, Verification
from bot.reply import Reply
from services import errors as e
from services.metrics import metrics

logger = logging.getLogger(__name__)

Answer = Callable[[Any, Reply, FSMContext | None, ErrorEvent], Awaitable[None]]


def _typed_digit_count(event: ErrorEvent) -> int | None:
    message = event.update.message
    if message is None or not message.text:
        return None
    return sum(c.isdigit() for c in message.text)


async def _invalid_national_id(
    err: e.InvalidNationalIdError, reply: Reply, state: Any, event: ErrorEvent
) -> None:
    problem = err.problem.value
    if problem == "wrong_length":
        count = _typed_digit_count(event)
        if count is None:
            await reply(texts.NATIONAL_ID_PROBLEMS["wrong_length_unknown"])
            return
        await reply(texts.NATIONAL_ID_PROBLEMS[problem], count=fmt.digits(count))
        return
    await reply(texts.NATIONAL_ID_PROBLEMS.get(problem, texts.NATIONAL_ID_PROBLEMS["not_digits"]))


async def _contact_not_own(
    err: e.DomainError, reply: Reply, state: Any, event: ErrorEvent
) -> None:
    await reply(
        texts.CONTACT_NOT_OWN, button=texts.BTN_SHARE_CONTACT, keyboard=keyboards.share_contact()
    )


async def _invalid_mobile(err: e.DomainError, reply: Reply, state: Any, event: ErrorEvent) -> None:
    await reply(texts.CONTACT_NOT_IRANIAN_MOBILE, keyboard=keyboards.main_menu())


async def _contact_required(
    err: e.DomainError, reply: Reply, state: FSMContext | None, event: ErrorEvent
) -> None:
    if state is not None:
        await state.set_state(Verification.contact)
    await reply(
        texts.ASK_CONTACT_AGAIN, button=texts.BTN_SHARE_CONTACT, keyboard=keyboards.share_contact()
    )


async def _mismatch(err: e.IdentityMismatch, reply: Reply, state: Any, event: ErrorEvent) -> None:
    template = (
        texts.MOBILE_NOT_REGISTERED
        if isinstance(err, e.MobileNotRegistered)
        else texts.NATIONAL_ID_MISMATCH
    )
    text = reply.render.text(template, instruction=texts.MISMATCH_INSTRUCTION)
    text += "\n" + reply.render.text(texts.ATTEMPTS_LEFT, left=fmt.digits(err.attempts_left))
    await reply.raw(text)
    if state is not None:
        # «پس الان باید چیکار کنم؟» next gets the instruction again (bot.handlers.thread).
        await state.update_data(**{MISMATCH_KEY: True})


async def _locked(
    err: e.VerificationLocked, reply: Reply, state: FSMContext | None, event: ErrorEvent
) -> None:
    if state is not None:
        await state.clear()
    await reply(
        texts.VERIFICATION_LOCKED,
        until=fmt.jalali_moment(err.until),
        # Not the personal tasks: each would only answer "locked" again (issue 18's trial).
        keyboard=keyboards.main_menu(personal=False),
    )


async def _no_such_dependant(
    err: e.NoSuchDependant, reply: Reply, state: Any, event: ErrorEvent
) -> None:
    label = texts.RELATION_ENTITY_LABELS.get(err.relation) or fmt.relation_label(err.relation)
    await reply(texts.ELIGIBILITY_NO_SUCH_RELATIVE, relation=label)


async def _ends_flow(state: FSMContext | None) -> None:
    if state is not None:
        await state.clear()


async def _not_eligible(
    err: e.DependantNotEligible, reply: Reply, state: FSMContext | None, event: ErrorEvent
) -> None:
    await _ends_flow(state)
    reasons = "\n".join("• " + texts.DEPENDANT_REASONS.get(r, r) for r in err.reasons)
    await reply(texts.DEPENDANT_NOT_ELIGIBLE, reasons=reasons, keyboard=keyboards.main_menu())


async def _already(
    err: e.DomainError, reply: Reply, state: FSMContext | None, event: ErrorEvent
) -> None:
    await _ends_flow(state)
    await reply(texts.DEPENDANT_ALREADY, keyboard=keyboards.main_menu())


async def _duplicate(
    err: e.DuplicateDependantRequest, reply: Reply, state: FSMContext | None, event: ErrorEvent
) -> None:
    await _ends_flow(state)
    await reply(
        texts.DEPENDANT_DUPLICATE,
        code=fmt.code(err.tracking_code),
        keyboard=keyboards.main_menu(),
    )


async def _invalid_dependant(
    err: e.InvalidDependant, reply: Reply, state: FSMContext | None, event: ErrorEvent
) -> None:
    await _ends_flow(state)
    text = texts.DEPENDANT_INVALID.get(err.problem, texts.DOMAIN_ERRORS["generic"])
    await reply(text, keyboard=keyboards.main_menu())


async def _wage_out_of_range(
    err: e.WageBaseOutOfRange, reply: Reply, state: Any, event: ErrorEvent
) -> None:
    template = texts.WAGE_BELOW_MINIMUM if err.given < err.minimum else texts.WAGE_ABOVE_MAXIMUM
    await reply(
        template,
        min_wage=fmt.amount(err.minimum),
        max_wage=fmt.amount(err.maximum),
        given=fmt.amount(err.given),
    )


async def _ticket_not_found(
    err: e.TicketNotFound, reply: Reply, state: Any, event: ErrorEvent
) -> None:
    # A 1420 code gets the ticket format; any other code the formats of every code the bot gives.
    template = (
        texts.TICKET_NOT_FOUND if err.tracking_code.startswith("1420") else texts.REQUEST_NOT_FOUND
    )
    await reply(template, code=fmt.code(err.tracking_code))


async def _invalid_ticket_text(
    err: e.InvalidTicketText, reply: Reply, state: Any, event: ErrorEvent
) -> None:
    if err.problem == "too_long":
        await reply(texts.TICKET_DESCRIPTION_TOO_LONG, limit=fmt.digits(err.limit))
    else:
        await reply(texts.TICKET_DESCRIPTION_TOO_SHORT)


async def _too_many_attachments(
    err: e.TooManyAttachments, reply: Reply, state: Any, event: ErrorEvent
) -> None:
    await reply(texts.TICKET_TOO_MANY_ATTACHMENTS, limit=fmt.digits(err.limit))


def _plain(template: str) -> Answer:
    async def answer(err: Any, reply: Reply, state: Any, event: ErrorEvent) -> None:
        await reply(template)

    return answer


ANSWERS: dict[str, Answer] = {
    e.InvalidNationalIdError.code: _invalid_national_id,
    e.InvalidMobileError.code: _invalid_mobile,
    e.ContactNotOwn.code: _contact_not_own,
    e.ContactRequired.code: _contact_required,
    e.IdentityMismatch.code: _mismatch,
    e.MobileNotRegistered.code: _mismatch,
    e.VerificationLocked.code: _locked,
    e.NotVerified.code: _plain(texts.DOMAIN_ERRORS["not_verified"]),
    e.PersonNotFound.code: _plain(texts.DOMAIN_ERRORS["person_not_found"]),
    e.NoSuchDependant.code: _no_such_dependant,
    e.DependantNotEligible.code: _not_eligible,
    e.AlreadyDependant.code: _already,
    e.DuplicateDependantRequest.code: _duplicate,
    e.InvalidDependant.code: _invalid_dependant,
    e.PensionerRecordsUnavailable.code: _plain(texts.PENSIONER_RECORD),
    e.NoContributions.code: _plain(texts.NO_RECORD),
    e.NotPensioner.code: _plain(texts.NOT_PENSIONER),
    e.NoPensionSlips.code: _plain(texts.NO_PENSION_SLIPS),
    e.NoVoluntaryContract.code: _plain(texts.NO_VOLUNTARY_CONTRACT),
    e.WageBaseOutOfRange.code: _wage_out_of_range,
    e.TicketNotFound.code: _ticket_not_found,
    e.InvalidTicketText.code: _invalid_ticket_text,
    e.TooManyAttachments.code: _too_many_attachments,
    e.InvalidTicketTransition.code: _plain(texts.DOMAIN_ERRORS["invalid_ticket_transition"]),
}


async def on_domain_error(
    event: ErrorEvent, reply: Reply | None = None, state: FSMContext | None = None
) -> None:
    """Word a service's refusal for the user."""
    err = event.exception
    assert isinstance(err, e.DomainError)
    logger.info("domain error %s in update %s", err.code, event.update.update_id)
    if reply is None:
        return
    answer = ANSWERS.get(err.code, _plain(texts.DOMAIN_ERRORS["generic"]))
    await answer(err, reply, state, event)


async def on_input_problem(event: ErrorEvent, reply: Reply | None = None) -> None:
    """Say why what the user typed cannot be used (the flow waits for a better answer)."""
    err = event.exception
    assert isinstance(err, InputProblem)
    if reply is not None:
        await reply(err.template, **err.values)


async def on_unexpected(event: ErrorEvent, reply: Reply | None = None) -> None:
    """Log the failure without personal data and apologise."""
    err = event.exception
    if isinstance(err, RedisError):  # the FSM's lock or state write (reads count in the batcher)
        metrics().redis_errors.labels("handler").inc()
    logger.error(
        "unhandled %s in update %s",
        type(err).__name__,
        event.update.update_id,
        exc_info=err,
    )
    if reply is None:
        return
    try:
        await reply(texts.UNEXPECTED_ERROR)
    except TelegramAPIError as exc:
        # The platform itself failing is often why we are here; nothing more to tell anyone.
        logger.warning("could not send the apology: %s", type(exc).__name__)


def build_router() -> Router:
    router = Router(name=__name__)
    router.errors.register(on_domain_error, ExceptionTypeFilter(e.DomainError))
    router.errors.register(on_input_problem, ExceptionTypeFilter(InputProblem))
    router.errors.register(on_unexpected)
    return router
