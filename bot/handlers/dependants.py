"""Dependants: the conditions for the relation asked about, then an optional guided request.

The conditions are public rules (no verification needed); the request is personal: relation →
the dependant's national ID → birth date → confirm → a tracking code, "under branch review".
"""

from __future__ import annotations

import datetime as dt

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot import formatting as fmt
from bot import keyboards, texts
from bot.deps import Services
from bot.handlers.common import DEPENDANT_REQUEST, FREE_TEXT, PERSONAL, InputProblem, Intent
from bot.keyboards import Confirm, RelationPick
from bot.nlu import Understanding
from bot.reply import Reply
from persian import InvalidNationalId, normalize_national_id, parse_jalali
from services.clock import Clock
from services.dependants import DependantFacts
from services.enums import Gender, Relation, relations_named
from services.errors import InvalidNationalIdError
from services.identity import ChatUserInfo
from services.settings import Settings


class DependantForm(StatesGroup):
    national_id = State()
    birth_date = State()
    confirm = State()


def conditions_text(reply: Reply, settings: Settings, relation: str) -> str:
    """Return the rendered conditions for ``relation``, how to apply, and the offer."""
    rules = settings.config.dependants
    ages = {
        "husband_age": fmt.digits(rules.husband_min_age_years),
        "son_age": fmt.digits(rules.son_age_limit_years),
        "father_age": fmt.digits(rules.father_min_age_years),
        "mother_age": fmt.digits(rules.mother_min_age_years),
    }
    render = reply.render
    return (
        render.text(texts.DEPENDANT_CONDITIONS[relation].format(**ages))
        + render.text(texts.DEPENDANT_HOW, portal=settings.config.contact_centre.eservices_url)
        + render.text(texts.DEPENDANT_OFFER_REQUEST)
    )


async def add_dependent(
    event: Message | CallbackQuery,
    understanding: Understanding,
    services: Services,
    chat_user: ChatUserInfo,
    settings: Settings,
    reply: Reply,
) -> None:
    """Give the conditions for the relation asked about (ask which one if unclear)."""
    asked = understanding.entity("relation")
    choices = relations_named(asked) or tuple(Relation)
    if asked == "spouse" and chat_user.is_verified:
        identity = await services.identity.verified_identity(chat_user)
        choices = (Relation.WIFE if identity.person.gender is Gender.MALE else Relation.HUSBAND,)
    if len(choices) == 1:
        await show_conditions(reply, settings, choices[0].value)
        return
    await reply(
        texts.ASK_DEPENDANT_RELATION, keyboard=keyboards.relations(c.value for c in choices)
    )


async def show_conditions(reply: Reply, settings: Settings, relation: str) -> None:
    await reply.raw(
        conditions_text(reply, settings, relation),
        keyboard=keyboards.dependant_request_offer(relation),
    )


async def on_relation_pick(
    query: CallbackQuery, callback_data: RelationPick, reply: Reply, settings: Settings
) -> None:
    """Show the conditions for the relation chosen on a button."""
    await show_conditions(reply, settings, callback_data.relation)


async def start_request(
    event: Message | CallbackQuery, understanding: Understanding, state: FSMContext, reply: Reply
) -> None:
    """Start the guided request (personal): ask the dependant's national ID."""
    relation = understanding.entity("relation") or ""
    await state.set_state(DependantForm.national_id)
    await state.update_data(dep_relation=relation)
    await reply(
        texts.ASK_DEPENDANT_NATIONAL_ID,
        relation=fmt.relation_label(relation),
        keyboard=keyboards.remove(),
    )


async def on_national_id(message: Message, state: FSMContext, reply: Reply) -> None:
    """Take the dependant's national ID and ask the birth date."""
    try:
        national_id = normalize_national_id(message.text or "")
    except InvalidNationalId as exc:
        raise InvalidNationalIdError(exc.problem) from exc
    data = await state.update_data(dep_national_id=national_id)
    await state.set_state(DependantForm.birth_date)
    await reply(texts.ASK_DEPENDANT_BIRTH_DATE, relation=fmt.relation_label(data["dep_relation"]))


async def on_birth_date(message: Message, state: FSMContext, clock: Clock, reply: Reply) -> None:
    """Take the birth date and ask to confirm the request."""
    try:
        birth = parse_jalali(message.text or "")
    except ValueError:
        raise InputProblem(texts.BIRTH_DATE_NOT_UNDERSTOOD) from None
    if birth > clock.today():
        raise InputProblem(texts.BIRTH_DATE_IN_FUTURE)
    form = await state.update_data(dep_birth_date=birth.isoformat())
    await state.set_state(DependantForm.confirm)
    await reply(
        texts.CONFIRM_DEPENDANT,
        relation=fmt.relation_label(form["dep_relation"]),
        national_id=fmt.digits(form["dep_national_id"]),
        birth_date=fmt.date(birth),
        keyboard=keyboards.confirm("dep"),
    )


async def on_confirm(
    query: CallbackQuery,
    callback_data: Confirm,
    state: FSMContext,
    services: Services,
    chat_user: ChatUserInfo,
    reply: Reply,
) -> None:
    """Record the request (or drop it) and say what happens next."""
    form = await state.get_data()
    if not callback_data.yes:
        await state.clear()
        await reply(texts.DEPENDANT_CANCELLED, keyboard=keyboards.main_menu())
        return
    relation = Relation(form["dep_relation"])
    birth = dt.date.fromisoformat(form["dep_birth_date"])
    service = services.dependants
    async with reply.typing():
        application = await service.record_application(
            chat_user, relation, form["dep_national_id"], birth
        )
    await state.clear()
    decision = service.assess(DependantFacts(relation=relation, birth_date=birth))
    documents = "، ".join(texts.DOCUMENT_LABELS.get(d.value, d.value) for d in decision.documents)
    render = reply.render
    await reply.raw(
        render.text(
            texts.DEPENDANT_SUBMITTED,
            relation=fmt.relation_label(relation),
            code=fmt.code(application.tracking_code),
        )
        + render.text(texts.DEPENDANT_DOCUMENTS, documents=documents),
        keyboard=keyboards.main_menu(),
    )


async def on_use_buttons(message: Message, reply: Reply) -> None:
    """Ask for a button press where only buttons answer the question."""
    await reply(texts.PLEASE_USE_BUTTONS)


def build_router() -> Router:
    """The intent, and its buttons (they are answered outside any flow too).

    The request button names the ``dependant_request`` action (``bot.handlers.common``), which
    no message names: it is personal, so an unverified user is verified first.
    """
    router = Router(name=__name__)
    router.message.register(add_dependent, Intent("add_dependent"))
    router.callback_query.register(add_dependent, Intent("add_dependent"))
    router.callback_query.register(start_request, Intent(DEPENDANT_REQUEST), flags=PERSONAL)
    router.callback_query.register(on_relation_pick, RelationPick.filter())
    return router


def build_steps() -> Router:
    """The guided request's steps."""
    router = Router(name=f"{__name__}.steps")
    # Only chats in this flow get past one check (rather than every step's state filter).
    router.message.filter(StateFilter(DependantForm))
    router.callback_query.filter(StateFilter(DependantForm))
    router.message.register(on_national_id, StateFilter(DependantForm.national_id), FREE_TEXT)
    router.message.register(on_birth_date, StateFilter(DependantForm.birth_date), FREE_TEXT)
    router.callback_query.register(
        on_confirm, StateFilter(DependantForm.confirm), Confirm.filter(F.flow == "dep")
    )
    router.message.register(on_use_buttons, StateFilter(DependantForm.confirm), FREE_TEXT)
    return router
