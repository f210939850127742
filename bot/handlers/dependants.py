"""Dependants: the conditions for the relation asked about, then an optional guided request.

The conditions are public rules (no verification needed); the request is personal: relation →
the dependant's national ID → birth date → confirm → a tracking code, "under branch review" →
the documents the relation needs, as photos or PDFs (each kept against the request at once,
for the desk), until «تمام شد»; or «بعداً می‌فرستم», which leaves a button to send them later.

```mermaid
flowchart LR
    offer[conditions + offer] -->|ثبت درخواست| nid[national ID]
    nid --> birth[birth date] --> confirm{confirm}
    confirm -->|no| menu[main menu]
    confirm -->|yes: code| docs[documents]
    docs -->|photo / PDF / image: kept, counted| docs
    docs -->|other type, text: asked again| docs
    docs -->|تمام شد| menu
    docs -->|بعداً می‌فرستم| later[button «ارسال مدارک»] -->|pressed, still under review| docs
```
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot import formatting as fmt
from bot import keyboards, texts
from bot.acts import typed_no
from bot.deps import Services
from bot.filters import inline
from bot.handlers.common import DEPENDANT_REQUEST, FREE_TEXT, PERSONAL, InputProblem, Intent
from bot.keyboards import Confirm, DependantDocs, RelationPick, SendDocuments
from bot.nlu import Understander, Understanding
from bot.reply import Reply
from persian import InvalidNationalId, normalize_national_id, parse_jalali
from services.clock import Clock
from services.dependants import DependantFacts
from services.enums import DependantRequestStatus, Gender, Relation, relations_named
from services.errors import InvalidNationalIdError
from services.identity import ChatUserInfo
from services.settings import Settings


class DependantForm(StatesGroup):
    national_id = State()
    birth_date = State()
    confirm = State()
    documents = State()


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
    await _decide(callback_data.yes, state, services, chat_user, reply)


async def on_confirm_typed(
    message: Message,
    understander: Understander,
    state: FSMContext,
    services: Services,
    chat_user: ChatUserInfo,
    reply: Reply,
) -> None:
    """Take a typed no («نه، ثبت نکن») as the no button; else ask for a button (a yes stays a
    button: filing is not undone)."""
    if typed_no(understander(message.text or "")):
        await _decide(False, state, services, chat_user, reply)
        return
    await on_use_buttons(message, reply)


async def _decide(
    yes: bool, state: FSMContext, services: Services, chat_user: ChatUserInfo, reply: Reply
) -> None:
    form = await state.get_data()
    if not yes:
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
    decision = service.assess(DependantFacts(relation=relation, birth_date=birth))
    documents = "، ".join(texts.DOCUMENT_LABELS.get(d.value, d.value) for d in decision.documents)
    # The request is recorded: the documents step keeps only its code.
    await state.set_data({"dep_code": application.tracking_code})
    await state.set_state(DependantForm.documents)
    render = reply.render
    await reply.raw(
        render.text(
            texts.DEPENDANT_SUBMITTED,
            relation=fmt.relation_label(relation),
            code=fmt.code(application.tracking_code),
        )
        + render.text(texts.DEPENDANT_DOCUMENTS, documents=documents)
        + render.text(texts.ASK_DEPENDANT_DOCUMENTS, **_BUTTONS),
        keyboard=keyboards.dependant_documents(),
    )


# --- the documents step ------------------------------------------------------------------
_BUTTONS = {"done": texts.BTN_DOCUMENTS_DONE, "later": texts.BTN_DOCUMENTS_LATER}
# Scans and photos of documents. SVG is an image type too, but it is a script-bearing text
# format and no scanner makes it.
_REFUSED_IMAGES = frozenset({"image/svg+xml"})


def _accepted_type(mime_type: str | None) -> bool:
    if not mime_type:
        return False
    mime = mime_type.lower()
    return mime == "application/pdf" or (mime.startswith("image/") and mime not in _REFUSED_IMAGES)


def _document_of(message: Message, settings: Settings) -> dict[str, Any]:
    """The message's file as a document of the request, or :class:`InputProblem`."""
    limit = settings.config.dependants.max_document_bytes
    if message.photo:
        # The last size is the largest; messenger photos are JPEG and come without a MIME type.
        photo = message.photo[-1]
        found: dict[str, Any] = {"file_id": photo.file_id, "kind": "photo"}
        size = photo.file_size
    elif message.document is not None:
        document = message.document
        # Some clients send no MIME type: the file name's extension tells (and is kept, so
        # the desk shows the file the right way).
        mime = document.mime_type or mimetypes.guess_type(document.file_name or "")[0]
        if not _accepted_type(mime):
            raise InputProblem(texts.DEPENDANT_DOCUMENT_WRONG_TYPE)
        found = {
            "file_id": document.file_id,
            "kind": "document",
            "file_name": document.file_name,
            "mime_type": mime,
        }
        size = document.file_size
    else:
        raise InputProblem(texts.DEPENDANT_DOCUMENT_WRONG_TYPE)
    # A size the messenger did not report is taken: the desk's own fetch checks it again.
    if size is not None and size > limit:
        raise InputProblem(
            texts.DEPENDANT_DOCUMENT_TOO_BIG, limit=fmt.digits(limit // (1024 * 1024))
        )
    return {**found, "file_size": size}


async def on_document(
    message: Message,
    state: FSMContext,
    services: Services,
    chat_user: ChatUserInfo,
    settings: Settings,
    reply: Reply,
) -> None:
    """Keep a photo or PDF against the request and say how many have arrived."""
    code = (await state.get_data()).get("dep_code")
    if not code:
        await _step_gone(state, reply)
        return
    service = services.dependants
    # Counted in the database, not the chat's state: an album arrives as several updates
    # handled at once, and each must see the others' documents.
    count = await service.document_count(code)
    limit = settings.config.dependants.max_documents
    if count >= limit:
        raise InputProblem(
            texts.DEPENDANT_DOCUMENTS_TOO_MANY,
            limit=fmt.digits(limit),
            done=texts.BTN_DOCUMENTS_DONE,
        )
    found = _document_of(message, settings)
    await service.add_document(code, platform=chat_user.platform, **found)
    await reply(
        texts.DEPENDANT_DOCUMENT_RECEIVED,
        count=fmt.digits(count + 1),
        done=texts.BTN_DOCUMENTS_DONE,
        keyboard=keyboards.dependant_documents(),
    )


async def _step_gone(state: FSMContext, reply: Reply) -> None:
    # The step was resumed after another flow ended and cleared its data: the request's code
    # is gone with it (the request and its documents so far are kept).
    await state.clear()
    await reply(texts.RESUME_GONE, keyboard=keyboards.main_menu())


async def on_documents_expected(message: Message, reply: Reply) -> None:
    """Ask for a photo or PDF (or a button) when a text arrives in the documents step."""
    await reply(
        texts.DEPENDANT_DOCUMENTS_EXPECTED, **_BUTTONS, keyboard=keyboards.dependant_documents()
    )


async def on_not_a_document(message: Message, reply: Reply) -> None:
    """Refuse a sticker, voice, video, location … in the documents step, politely."""
    await reply(texts.DEPENDANT_DOCUMENT_WRONG_TYPE, keyboard=keyboards.dependant_documents())


async def on_documents_button(
    query: CallbackQuery,
    callback_data: DependantDocs,
    state: FSMContext,
    services: Services,
    reply: Reply,
) -> None:
    """«تمام شد» (with at least one document) or «بعداً می‌فرستم»: leave the step."""
    code = (await state.get_data()).get("dep_code")
    if not code:
        await _step_gone(state, reply)
        return
    count = await services.dependants.document_count(code)
    if callback_data.action == "done" and not count:
        await reply(
            texts.DEPENDANT_DOCUMENTS_NONE_YET,
            **_BUTTONS,
            keyboard=keyboards.dependant_documents(),
        )
        return
    if callback_data.action == "later":
        await leave_documents(state, services, reply)
        return
    await state.clear()
    await reply(
        texts.DEPENDANT_DOCUMENTS_DONE,
        count=fmt.digits(count),
        code=fmt.digits(code),
        keyboard=keyboards.main_menu(),
    )


async def leave_documents(state: FSMContext, services: Services, reply: Reply) -> None:
    """Leave the documents step («بعداً می‌فرستم», /cancel or an exit word): the request stays,
    under review, and a button brings the step back."""
    code = (await state.get_data()).get("dep_code")
    await state.clear()
    if not code:
        await reply(texts.RESUME_GONE, keyboard=keyboards.main_menu())
        return
    count = await services.dependants.document_count(code)
    render = reply.render
    so_far = (
        render.text(texts.DEPENDANT_DOCUMENTS_SO_FAR, count=fmt.digits(count)) if count else ""
    )
    later = render.text(
        texts.DEPENDANT_DOCUMENTS_LATER, code=fmt.digits(code), send=texts.BTN_SEND_DOCUMENTS
    )
    await reply.raw(so_far + later, keyboard=keyboards.send_documents(code))
    # The button above is inline; the menu comes back with a message of its own.
    await reply(texts.DEPENDANT_DOCUMENTS_MENU, keyboard=keyboards.main_menu())


async def on_send_documents(
    query: CallbackQuery,
    callback_data: SendDocuments,
    state: FSMContext,
    services: Services,
    chat_user: ChatUserInfo,
    reply: Reply,
) -> None:
    """Go back to the documents step of one's own request while it is under review."""
    code = callback_data.code
    service = services.dependants
    mine = {a.tracking_code: a for a in await service.list_applications(chat_user)}
    application = mine.get(code)
    if application is None or application.status is not DependantRequestStatus.UNDER_BRANCH_REVIEW:
        status = application.status.value if application is not None else "rejected"
        await reply(
            texts.DEPENDANT_DOCUMENTS_CLOSED,
            code=fmt.digits(code),
            status=texts.REQUEST_STATUS_LABELS[status],
        )
        return
    count = await service.document_count(code)
    await state.set_state(DependantForm.documents)
    await state.set_data({"dep_code": code})
    await reply(
        texts.DEPENDANT_DOCUMENTS_AGAIN,
        code=fmt.digits(code),
        count=fmt.digits(count),
        done=texts.BTN_DOCUMENTS_DONE,
        keyboard=keyboards.dependant_documents(),
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
    # «ارسال مدارک» under the «بعداً می‌فرستم» answer: any time later, the owner only (an
    # unverified user is told to verify: the service raises NotVerified).
    router.callback_query.register(on_send_documents, SendDocuments.filter())
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
    router.message.register(on_confirm_typed, StateFilter(DependantForm.confirm), FREE_TEXT)
    documents = StateFilter(DependantForm.documents)
    router.message.register(on_document, documents, inline(F.photo | F.document))
    router.callback_query.register(on_documents_button, documents, DependantDocs.filter())
    router.message.register(on_documents_expected, documents, FREE_TEXT)
    # Anything else (sticker, voice, video, location, contact …): refused, the step kept.
    # Commands and the menu buttons are not free text: they go on to the commands and intents.
    router.message.register(on_not_a_document, documents, inline(~F.text))
    return router
