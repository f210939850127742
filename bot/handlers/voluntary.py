"""Voluntary insurance: the rules, and a monthly-contribution estimate for a typed wage base.

A wage base in the question itself («با حقوق ۲۰ میلیون تومان چقدر می‌شه؟») is estimated at once;
otherwise a button asks for one. Amounts are the NLU's ``amount`` entity (digits or words, «دو
میلیون و پانصد», Toman unless the user says Rial), or a bare number typed at the wage step
(``persian.parse_amount``). A wage below the minimum or above the maximum base is said so.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot import formatting as fmt
from bot import keyboards, texts
from bot.deps import Services
from bot.handlers.common import FREE_TEXT, PERSONAL, InputProblem, Intent
from bot.keyboards import VoluntaryEstimate
from bot.nlu import Understander, Understanding
from bot.reply import Reply
from persian import parse_amount, to_jalali
from services.identity import ChatUserInfo

# A verified user's own contract: no message names it for the NLU; the knowledge base's
# entries about one's own voluntary insurance lead here for a verified user
# (``bot.handlers.knowledge.PERSONAL_ENTRIES``).
VOLUNTARY_STATUS = "voluntary_status"

# Amounts below this (Rial) in a question are not wage bases but other numbers («۲۷ درصد»,
# «۵۰ سال»): no monthly wage is under a million Rial.
MIN_PLAUSIBLE_WAGE_RIAL = 1_000_000


def names_a_wage(text: str) -> bool:
    """Whether ``text`` holds a number that can be a wage base (``MIN_PLAUSIBLE_WAGE_RIAL``)."""
    amount = parse_amount(text)
    return amount is not None and amount >= MIN_PLAUSIBLE_WAGE_RIAL


# «۲۰ تومن» for a monthly wage is twenty million Toman, as people say it: a wage written under a
# thousand Toman is read in millions of Toman.
COLLOQUIAL_MILLIONS_BELOW_RIAL = 10_000
MILLION = 1_000_000


def wage_in_context(rial: int) -> int:
    """Read a typed wage the way it was meant (see ``COLLOQUIAL_MILLIONS_BELOW_RIAL``)."""
    return rial * MILLION if 0 < rial < COLLOQUIAL_MILLIONS_BELOW_RIAL else rial


def typed_wage(understanding: Understanding, bare_number: bool) -> int | None:
    """The wage a message names: its ``amount`` entity, else, where a wage is what was asked
    (``bare_number``), a number without unit (Toman)."""
    found = understanding.entity("amount")
    if found is not None and found.isdigit():
        return wage_in_context(int(found))
    if not bare_number or not understanding.text:
        return None
    wage = parse_amount(understanding.text)
    return None if wage is None else wage_in_context(wage)


class VoluntaryForm(StatesGroup):
    wage = State()


async def voluntary_insurance(
    event: Message | CallbackQuery,
    understanding: Understanding,
    services: Services,
    reply: Reply,
) -> None:
    """Give the voluntary-insurance rules, and an estimate when the question has a wage."""
    wage = typed_wage(understanding, bare_number=False)
    if understanding.follow_up and wage is not None:
        # «۲۰ میلیون باشه چی؟» after the rules or an estimate: the estimate alone.
        await reply_estimate(reply, services, wage)
        return
    rules = services.voluntary.rules()
    render = reply.render
    text = render.text(
        texts.VOLUNTARY_RULES,
        eservices=rules.portal_url,
        min_days=fmt.digits(rules.min_prior_record_days),
        max_age=fmt.digits(rules.max_age_years),
        rate=fmt.digits(f"{rules.rate_percent.normalize():f}"),
        min_wage=fmt.amount(rules.min_wage_base_rial),
        max_wage=fmt.amount(rules.max_wage_base_rial),
        deadline=fmt.digits(rules.payment_deadline_days),
        exam_months=fmt.digits(rules.medical_exam_months),
        slip_months=fmt.digits(rules.max_unpaid_slip_months),
    )
    if wage is not None:
        await reply.raw(text)
        await reply_estimate(reply, services, wage)
        return
    await reply.raw(text, keyboard=keyboards.voluntary_estimate())


async def on_estimate_button(query: CallbackQuery, state: FSMContext, reply: Reply) -> None:
    """Ask for the wage base to estimate."""
    await state.set_state(VoluntaryForm.wage)
    await reply(texts.ASK_WAGE_BASE)


async def on_wage(
    message: Message,
    state: FSMContext,
    services: Services,
    understander: Understander,
    reply: Reply,
) -> None:
    """Estimate the monthly contribution for the typed wage base (digits or words)."""
    wage = typed_wage(understander(message.text or ""), bare_number=True)
    if wage is None or wage <= 0:
        raise InputProblem(texts.WAGE_NOT_UNDERSTOOD)
    await reply_estimate(reply, services, wage)
    await state.set_state(None)


async def reply_estimate(reply: Reply, services: Services, wage: int) -> None:
    """Send the monthly contribution for ``wage`` and this month's payment deadline."""
    service = services.voluntary
    estimate = service.estimate(wage)
    deadline = service.payment_deadline(services.clock.today())
    render = reply.render
    await reply.raw(
        render.text(
            texts.VOLUNTARY_ESTIMATE,
            wage=fmt.amount(estimate.wage_base_rial),
            rate=fmt.digits(f"{estimate.rate_percent.normalize():f}"),
            amount=fmt.amount(estimate.monthly_contribution_rial),
        )
        + render.text(texts.VOLUNTARY_DEADLINE, deadline=fmt.date_long(deadline))
    )


async def voluntary_status(
    event: Message | CallbackQuery, services: Services, chat_user: ChatUserInfo, reply: Reply
) -> None:
    """The user's own contract: its number, the contribution, how far it is paid, the exam."""
    async with reply.typing():
        contract = await services.voluntary.my_contract(chat_user)
    render = reply.render
    text = render.text(
        texts.VOLUNTARY_STATUS,
        number=fmt.digits(contract.contract_number),
        date=fmt.date(contract.contract_date),
        wage=fmt.amount(contract.wage_base_rial),
        rate=fmt.digits(f"{contract.rate_percent.normalize():f}"),
        amount=fmt.amount(contract.monthly_contribution_rial),
    )
    if contract.paid_through is None:
        text += render.text(
            texts.VOLUNTARY_STATUS_NEVER_PAID, deadline=fmt.date(contract.payment_deadline)
        )
    else:
        year, month, _ = to_jalali(contract.paid_through)
        paid = {"month": fmt.month(year, month), "until": fmt.date(contract.paid_through)}
        if contract.paid_up:
            text += render.text(texts.VOLUNTARY_STATUS_PAID, **paid)
        else:
            url = services.voluntary.rules().portal_url
            text += render.text(texts.VOLUNTARY_STATUS_UNPAID, url=url, **paid)
    if contract.exam_deadline is not None:
        text += render.text(texts.VOLUNTARY_STATUS_EXAM, deadline=fmt.date(contract.exam_deadline))
    await reply.raw(text)


def build_router() -> Router:
    """The intent and its estimate button (answered outside any flow too), and the user's own
    contract."""
    router = Router(name=__name__)
    router.message.register(voluntary_status, Intent(VOLUNTARY_STATUS), flags=PERSONAL)
    router.callback_query.register(voluntary_status, Intent(VOLUNTARY_STATUS), flags=PERSONAL)
    router.message.register(voluntary_insurance, Intent("voluntary_insurance"))
    router.callback_query.register(voluntary_insurance, Intent("voluntary_insurance"))
    router.callback_query.register(on_estimate_button, VoluntaryEstimate.filter())
    return router


def build_steps() -> Router:
    """The wage-base step."""
    router = Router(name=f"{__name__}.steps")
    router.message.register(on_wage, StateFilter(VoluntaryForm.wage), FREE_TEXT)
    return router
