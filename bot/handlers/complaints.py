"""Complaints to 1420: category → description → optional photo or document → confirm →
tracking code and due date. And tracking: by the code in the message, or from "my tickets".

Tickets belong to the chat user who filed them (verified or not), so filing and tracking need
no verification; only the owner can look a ticket up.
"""

from __future__ import annotations

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
from bot.handlers.common import FREE_TEXT, InputProblem, Intent
from bot.keyboards import CategoryPick, Confirm, SkipAttachment, TicketPick
from bot.nlu import Understander, Understanding
from bot.reply import Reply
from persian import mask_national_id
from services.enums import TicketCategory
from services.identity import ChatUserInfo
from services.requests import InquiryInfo, TrackedItem
from services.tickets import MAX_ATTACHMENTS, AttachmentRef, TicketInfo, check_description

# Tickets offered under "my tickets".
MY_TICKETS_SHOWN = 8


class ComplaintForm(StatesGroup):
    category = State()
    description = State()
    attachment = State()
    confirm = State()


# --- filing ----------------------------------------------------------------------------
async def file_complaint(event: Message | CallbackQuery, state: FSMContext, reply: Reply) -> None:
    """Start a complaint: ask its category."""
    await state.set_state(ComplaintForm.category)
    await state.update_data(tkt_attachments=[])
    await reply(texts.ASK_TICKET_CATEGORY, keyboard=keyboards.ticket_categories())


async def on_category(
    query: CallbackQuery, callback_data: CategoryPick, state: FSMContext, reply: Reply
) -> None:
    """Take the category and ask for the description."""
    category = TicketCategory(callback_data.category)
    await state.update_data(tkt_category=category.value)
    await state.set_state(ComplaintForm.description)
    await reply(
        texts.ASK_TICKET_DESCRIPTION,
        category=texts.CATEGORY_LABELS[category.value],
        keyboard=keyboards.remove(),
    )


async def on_category_typed(message: Message, reply: Reply) -> None:
    """Ask again with the buttons when a category is typed instead of chosen."""
    await reply(texts.ASK_TICKET_CATEGORY, keyboard=keyboards.ticket_categories())


async def on_description(message: Message, state: FSMContext, reply: Reply) -> None:
    """Take the description and offer to attach a photo or document."""
    text = check_description(message.text or "")
    await state.update_data(tkt_text=text)
    await state.set_state(ComplaintForm.attachment)
    await reply(
        texts.ASK_TICKET_ATTACHMENT,
        skip=texts.BTN_SKIP_ATTACHMENT,
        keyboard=keyboards.skip_attachment(),
    )


def _attachment(message: Message) -> dict[str, Any]:
    if message.photo:
        # The last size is the largest; its file_id is what an agent will open.
        return {"file_id": message.photo[-1].file_id, "kind": "photo"}
    document = message.document
    assert document is not None
    return {
        "file_id": document.file_id,
        "kind": "document",
        "file_name": document.file_name,
        "mime_type": document.mime_type,
    }


async def on_attachment(message: Message, state: FSMContext, reply: Reply) -> None:
    """Keep a photo or document (its file reference) and ask to confirm."""
    form = await state.get_data()
    attachments = list(form.get("tkt_attachments") or [])
    if len(attachments) >= MAX_ATTACHMENTS:
        raise InputProblem(texts.TICKET_TOO_MANY_ATTACHMENTS, limit=fmt.digits(MAX_ATTACHMENTS))
    attachments.append(_attachment(message))
    form = await state.update_data(tkt_attachments=attachments)
    await reply(texts.TICKET_ATTACHMENT_RECEIVED)
    await _ask_confirm(state, reply, form)


async def on_skip(query: CallbackQuery, state: FSMContext, reply: Reply) -> None:
    """Go on without an attachment."""
    await _ask_confirm(state, reply, await state.get_data())


async def on_attachment_expected(message: Message, reply: Reply) -> None:
    """Explain that only a photo or file (or the skip button) answers this step."""
    await reply(
        texts.TICKET_ATTACHMENT_EXPECTED,
        skip=texts.BTN_SKIP_ATTACHMENT,
        keyboard=keyboards.skip_attachment(),
    )


async def _ask_confirm(state: FSMContext, reply: Reply, form: dict[str, Any]) -> None:
    await state.set_state(ComplaintForm.confirm)
    count = len(form.get("tkt_attachments") or [])
    # A description near the 4 000-character maximum no longer fits one message once quoted
    # and escaped: the quote is shortened to the platform's limit (the full text is filed).
    rendered = reply.render.fit(
        texts.CONFIRM_TICKET,
        "description",
        texts.TICKET_DESCRIPTION_SHORTENED,
        category=texts.CATEGORY_LABELS[form["tkt_category"]],
        description=form["tkt_text"],
        attachments=texts.ATTACHMENT_COUNT.format(count=fmt.digits(count))
        if count
        else texts.NO_ATTACHMENT,
    )
    await reply.raw(rendered.text, keyboard=keyboards.confirm("tkt"))


async def on_confirm(
    query: CallbackQuery,
    callback_data: Confirm,
    state: FSMContext,
    services: Services,
    chat_user: ChatUserInfo,
    reply: Reply,
) -> None:
    """File the ticket (or drop it) and give its tracking code and due date."""
    await _decide(callback_data.yes, state, services, chat_user, reply)


async def on_confirm_typed(
    message: Message,
    understander: Understander,
    state: FSMContext,
    services: Services,
    chat_user: ChatUserInfo,
    reply: Reply,
) -> None:
    """Take a typed no («نه نمیخوام ثبت بشه») as the no button; else ask for a button (a yes stays a
    button: filing is not undone)."""
    if typed_no(understander(message.text or "")):
        await _decide(False, state, services, chat_user, reply)
        return
    await reply(texts.PLEASE_USE_BUTTONS)


async def _decide(
    yes: bool, state: FSMContext, services: Services, chat_user: ChatUserInfo, reply: Reply
) -> None:
    form = await state.get_data()
    if not yes:
        await state.clear()
        await reply(texts.TICKET_CANCELLED, keyboard=keyboards.main_menu())
        return
    attachments = [AttachmentRef(**a) for a in form.get("tkt_attachments") or []]
    async with reply.typing():
        ticket = await services.tickets.create(
            chat_user.id, TicketCategory(form["tkt_category"]), form["tkt_text"], attachments
        )
    await state.clear()
    await reply(
        texts.TICKET_CREATED,
        code=fmt.code(ticket.tracking_code),
        due=fmt.date_long(ticket.due_date),
        keyboard=keyboards.main_menu(),
    )


# --- tracking --------------------------------------------------------------------------
def ticket_status_text(reply: Reply, ticket: TicketInfo) -> str:
    render = reply.render
    text = render.text(
        texts.TICKET_STATUS,
        code=fmt.code(ticket.tracking_code),
        category=texts.CATEGORY_LABELS[ticket.category.value],
        status=texts.TICKET_STATUS_LABELS[ticket.status.value],
        created=fmt.date_long(ticket.created_at.date()),
        due=fmt.date_long(ticket.due_date),
    )
    if ticket.answer:
        text += render.text(texts.TICKET_ANSWER, answer=ticket.answer)
    return text


async def track_ticket(
    event: Message | CallbackQuery,
    understanding: Understanding,
    services: Services,
    chat_user: ChatUserInfo,
    reply: Reply,
) -> None:
    """Show what the code in the message stands for, or list the user's requests."""
    code = understanding.entity("ticket_id")
    if code is not None:
        await reply.raw(tracked_text(reply, await services.requests.find(chat_user, code)))
        return
    mine = await services.requests.list_mine(chat_user, limit=MY_TICKETS_SHOWN)
    if not mine:
        await reply(texts.NO_REQUESTS)
        return
    render = reply.render
    parts = [render.text(texts.MY_REQUESTS_HEADER)]
    for item in mine:
        created = fmt.date_long(item.created_at.date())
        if isinstance(item.subject, TicketCategory):
            parts.append(
                render.text(
                    texts.MY_REQUEST_TICKET_ROW,
                    code=fmt.code(item.tracking_code),
                    category=texts.CATEGORY_LABELS[item.subject.value],
                    status=texts.TICKET_STATUS_LABELS[item.status.value],
                    created=created,
                    due=fmt.date_long(item.due_date) if item.due_date else "—",
                )
            )
        else:
            parts.append(
                render.text(
                    texts.MY_REQUEST_DEPENDANT_ROW,
                    code=fmt.code(item.tracking_code),
                    relation=fmt.relation_label(item.subject),
                    status=texts.REQUEST_STATUS_LABELS[item.status.value],
                    created=created,
                )
            )
    parts.append(render.text(texts.MY_REQUESTS_FOOTER))
    # The tickets also as buttons: one press shows a ticket's answer and its history.
    choices = [
        (
            t.tracking_code,
            texts.TICKET_BUTTON.format(
                code=fmt.code(t.tracking_code),
                status=texts.TICKET_STATUS_LABELS[t.status.value],
            ),
        )
        for t in mine
        if isinstance(t.subject, TicketCategory)
    ]
    await reply.raw("".join(parts), keyboard=keyboards.tickets(choices) if choices else None)


def tracked_text(reply: Reply, item: TrackedItem) -> str:
    """The status of whatever a tracking code found: a ticket, an application, an inquiry."""
    if isinstance(item, TicketInfo):
        return ticket_status_text(reply, item)
    render = reply.render
    if isinstance(item, InquiryInfo):
        return render.text(
            texts.INQUIRY_STATUS,
            code=fmt.code(item.tracking_code),
            created=fmt.date_long(item.created_at.date()),
            covered=texts.INQUIRY_COVERED if item.covered else texts.INQUIRY_NOT_COVERED,
            people=fmt.digits(item.people),
        )
    return render.text(
        texts.DEPENDANT_REQUEST_STATUS,
        code=fmt.code(item.tracking_code),
        relation=fmt.relation_label(item.relation),
        national_id=fmt.digits(mask_national_id(item.dependant_national_id)),
        status=texts.REQUEST_STATUS_LABELS[item.status.value],
        created=fmt.date_long(item.created_at.date()),
    )


async def on_ticket_pick(
    query: CallbackQuery,
    callback_data: TicketPick,
    services: Services,
    chat_user: ChatUserInfo,
    reply: Reply,
) -> None:
    """Show the status of the ticket chosen from "my tickets"."""
    ticket = await services.tickets.get_for_owner(chat_user.id, callback_data.code)
    await reply.raw(ticket_status_text(reply, ticket))


def build_router() -> Router:
    """The intents and the "my tickets" buttons (answered outside any flow too)."""
    router = Router(name=__name__)
    router.message.register(file_complaint, Intent("file_complaint"))
    router.callback_query.register(file_complaint, Intent("file_complaint"))
    router.message.register(track_ticket, Intent("track_ticket"))
    router.callback_query.register(track_ticket, Intent("track_ticket"))
    router.callback_query.register(on_ticket_pick, TicketPick.filter())
    return router


def build_steps() -> Router:
    """The filing steps."""
    router = Router(name=f"{__name__}.steps")
    # Only chats in this flow get past one check (rather than every step's state filter).
    router.message.filter(StateFilter(ComplaintForm))
    router.callback_query.filter(StateFilter(ComplaintForm))
    router.callback_query.register(
        on_category, StateFilter(ComplaintForm.category), CategoryPick.filter()
    )
    router.message.register(on_category_typed, StateFilter(ComplaintForm.category), FREE_TEXT)
    router.message.register(on_description, StateFilter(ComplaintForm.description), FREE_TEXT)
    attachment_states = StateFilter(ComplaintForm.attachment, ComplaintForm.confirm)
    router.message.register(on_attachment, attachment_states, inline(F.photo | F.document))
    router.callback_query.register(
        on_skip, StateFilter(ComplaintForm.attachment), SkipAttachment.filter()
    )
    router.message.register(
        on_attachment_expected, StateFilter(ComplaintForm.attachment), FREE_TEXT
    )
    router.callback_query.register(
        on_confirm, StateFilter(ComplaintForm.confirm), Confirm.filter(F.flow == "tkt")
    )
    router.message.register(on_confirm_typed, StateFilter(ComplaintForm.confirm), FREE_TEXT)
    return router
