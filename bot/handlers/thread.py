"""Keeping the thread: follow-ups on the last eligibility answer, and the way out of a flow.

- ``cover_until`` / ``cover_why`` / ``cover_next``: «تا کی؟», «چرا؟» and «حالا چیکار کنم؟»
  after an eligibility answer (the rules that read them so are in ``bot.dialogue``), answered
  from what that answer said.
- The step guard (``build_guard``, first of the flow steps): inside a flow, an exit word
  («انصراف», «بیخیال», «نه ممنون», a goodbye or a thanks) leaves it as /cancel does; a sentence
  where an ID, a date or an amount is expected is read as a sentence: a request is answered
  (a personal one of an unverified user is kept for after the verification) with a button
  back to the step, anything else gets the step's question again. What looks like the answer
  («۰۰۱۲۳۴۵۶۷۸», «۱۴۰۲/۰۵/۱۲», «۱۵ میلیون») goes on to the step's own handler, which explains
  what is wrong with it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, cast

from aiogram import BaseMiddleware, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot import formatting as fmt
from bot import keyboards, texts
from bot.acts import asks_for_person, asks_what_now, settled_closing
from bot.dialogue import (
    COVER_NEXT,
    COVER_UNTIL,
    COVER_WHY,
    ELIGIBILITY,
    EXIT_INTENTS,
    Dialogue,
    is_exit,
)
from bot.handlers.common import PERSONAL, Intent, is_free_text, is_task
from bot.handlers.dependants import DependantForm, leave_documents
from bot.handlers.verification import MISMATCH_KEY, PersonalGate, ask_to_verify, kept_request
from bot.handlers.voluntary import names_a_wage
from bot.keyboards import Resume
from bot.nlu import Understanding
from bot.reply import Reply
from nlu.quantities import find_amounts
from persian import parse_jalali

if TYPE_CHECKING:
    from bot.context import UpdateContext

_DIGIT_RUN: Final = re.compile(r"\d+")
# At most this many words around a number still read as the number («کد ملیم ۰۰۱۲۳۴۵۶۷۸ هست»).
_ANSWER_WORDS: Final = 3
# A goodbye or a thanks leaves a flow only as a message of its own, not inside a description.
_EXIT_WORDS: Final = 4
# A request leaves a step only when the NLU is surer of it than of everything else together: a
# weaker reading on a step is more likely about the step («الان کدومشو بفرستم؟» at the
# documents step read 0.45 contact_info, 0.28 out of scope), and the step's own answer says
# what it needs. Out of a flow the NLU's threshold (config.yml, chosen by cross-validation for
# "in scope at all") is the bar.
_STEP_REQUEST_CONFIDENCE: Final = 0.5


# --- follow-ups on the last eligibility answer ------------------------------------------
async def _rows(dialogue: Dialogue) -> list[dict[str, Any]]:
    topic = await dialogue.topic()
    if topic is None or topic.intent != ELIGIBILITY:
        return []
    rows = topic.answer.get("rows")
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def _person(row: dict[str, Any]) -> dict[str, str]:
    return {
        "name": str(row.get("name") or ""),
        "relation": fmt.relation_label(row.get("relation")),
    }


async def cover_until(event: Message, dialogue: Dialogue, reply: Reply) -> None:
    """«تا کی؟»: the cover's end date of each person of the last eligibility answer."""
    rows = await _rows(dialogue)
    if not rows:
        await reply(texts.FOLLOW_UP_FORGOTTEN)
        return
    render = reply.render
    parts = [render.text(texts.FOLLOW_UP_UNTIL_HEADER)]
    for row in rows:
        if row.get("covered") and row.get("until"):
            until = fmt.date(dt.date.fromisoformat(str(row["until"])))
            parts.append(render.text(texts.FOLLOW_UP_UNTIL_ROW, until=until, **_person(row)))
        elif row.get("covered"):
            parts.append(render.text(texts.FOLLOW_UP_UNTIL_NO_DATE, **_person(row)))
        else:
            parts.append(render.text(texts.FOLLOW_UP_UNTIL_NOT_COVERED, **_person(row)))
    await reply.raw("".join(parts))


async def cover_why(event: Message, dialogue: Dialogue, reply: Reply) -> None:
    """«چرا؟»: why each person of the last eligibility answer is not covered, and what to do."""
    rows = await _rows(dialogue)
    if not rows:
        await reply(texts.FOLLOW_UP_FORGOTTEN)
        return
    render = reply.render
    not_covered = [r for r in rows if not r.get("covered")]
    if not not_covered:
        names = texts.FOLLOW_UP_NAMES_JOIN.join(_person(r)["name"] for r in rows)
        await reply(texts.FOLLOW_UP_WHY_COVERED, names=names)
        return
    parts = []
    for row in not_covered:
        parts.append(
            render.text(
                texts.FOLLOW_UP_WHY_ROW, reason=str(row.get("reason") or ""), **_person(row)
            )
        )
        if row.get("step"):
            parts.append(render.text(texts.FOLLOW_UP_WHY_STEP, step=str(row["step"])))
    parts.append(render.text(texts.FOLLOW_UP_WHY_DISPUTE))
    await reply.raw("".join(parts).lstrip("\n"))


async def cover_next(event: Message, dialogue: Dialogue, reply: Reply) -> None:
    """«حالا چیکار کنم؟» after someone was found not covered: the way back for each of them."""
    rows = [r for r in await _rows(dialogue) if not r.get("covered")]
    if not rows:
        await reply(texts.FOLLOW_UP_FORGOTTEN)
        return
    render = reply.render
    parts = [render.text(texts.FOLLOW_UP_NEXT_HEADER)]
    for row in rows:
        step = str(row.get("step") or "") or render.text(texts.FOLLOW_UP_NEXT_NO_STEP)
        parts.append(render.text(texts.FOLLOW_UP_NEXT_ROW, step=step, **_person(row)))
    parts.append(render.text(texts.FOLLOW_UP_WHY_DISPUTE))
    await reply.raw("".join(parts))


def build_router() -> Router:
    """The follow-ups (personal: they tell the user's record)."""
    router = Router(name=__name__)
    router.message.register(cover_next, Intent(COVER_NEXT), flags=PERSONAL)
    router.message.register(cover_until, Intent(COVER_UNTIL), flags=PERSONAL)
    router.message.register(cover_why, Intent(COVER_WHY), flags=PERSONAL)
    return router


# --- the step guard --------------------------------------------------------------------
def _looks_like_number(text: str) -> bool:
    runs = _DIGIT_RUN.findall(text.replace(" ", "").replace("-", ""))
    longest = max((len(r) for r in runs), default=0)
    return longest >= 8 or (longest > 0 and len(text.split()) <= _ANSWER_WORDS)


def _looks_like_date(text: str) -> bool:
    try:
        parse_jalali(text)
    except ValueError:
        return any(c.isdigit() for c in text) and len(text.split()) <= _ANSWER_WORDS + 1
    return True


def _looks_like_amount(text: str) -> bool:
    # An amount with its unit or in words («دو میلیون و پانصد», «20 تومن») is a wage however
    # small it reads; the wage step itself interprets it (``voluntary.typed_wage``).
    if find_amounts(text):
        return True
    # A bare number: «شماره تماس ۱۴۲۰ چنده؟» holds one too, but no wage is that small.
    return names_a_wage(text)


def _never(text: str) -> bool:
    return False


# What the answer to each step looks like; a step not named here takes any text (a
# complaint's description is a sentence), so only an exit word leaves it. The contact step's
# free text already goes on to the intents (only a shared contact answers it).
_ANSWERS: Final[dict[str, Callable[[str], bool]]] = {
    "Verification:national_id": _looks_like_number,
    "DependantForm:national_id": _looks_like_number,
    "DependantForm:birth_date": _looks_like_date,
    "VoluntaryForm:wage": _looks_like_amount,
    # Buttons answer these; their own handlers ask for a button when a text is not a request.
    "ComplaintForm:category": _never,
    "ComplaintForm:attachment": _never,
    "ComplaintForm:confirm": _never,
    "DependantForm:confirm": _never,
    "DependantForm:documents": _never,
}
# Steps whose own handlers answer a text that is no request (they ask for a button).
_BUTTON_STEPS: Final = frozenset(
    {
        "ComplaintForm:category",
        "ComplaintForm:attachment",
        "ComplaintForm:confirm",
        "DependantForm:confirm",
        "DependantForm:documents",
    }
)


def read_step(message: Message, context: UpdateContext) -> tuple[str, Understanding | None]:
    """What a message inside a flow step is, when it is no answer to it.

    ("exit", None), ("request", what was asked), ("help", None) for «پس الان باید چیکار کنم؟»
    or ("again", None); ("", None) for a message
    the step's own handlers take (what looks like the answer, a button step's text, a short
    wrong answer they explain).
    """
    text = message.text
    step = context.get("raw_state")
    if step is None or not text or not is_free_text(text):
        return "", None
    if is_exit(text):
        return "exit", None
    looks_like_answer = _ANSWERS.get(step)
    if looks_like_answer is not None and looks_like_answer(text):
        return "", None
    understanding = context["understander"](text)
    closing = settled_closing(understanding) or understanding
    if not closing.unsure and closing.intent in EXIT_INTENTS and len(text.split()) <= _EXIT_WORDS:
        return "exit", None
    if asks_for_person(understanding):
        # «نمیخوام بنویسم، میخوام با یه آدم حرف بزنم» even where any text is the answer.
        return "request", understanding
    if looks_like_answer is None:
        # A description takes any text; the contact step's text goes on to the intents.
        return "", None
    if is_task(understanding) and understanding.confidence >= _STEP_REQUEST_CONFIDENCE:
        return "request", understanding
    if asks_what_now(text):
        return "help", None
    if step in _BUTTON_STEPS:
        return "", None
    if len(text.split()) <= _ANSWER_WORDS and step != "Verification:national_id":
        return "", None  # a short wrong answer: the step's own handler says what is wrong
    return "again", None


async def ask_step(step: str, state: FSMContext, reply: Reply, *, lead: str = "") -> None:
    """Ask the question of ``step`` (a state name) again, with its keyboard."""
    data = await state.get_data()
    template = texts.STEP_QUESTIONS.get(step)
    if template is None:
        return
    values: dict[str, Any] = {}
    keyboard: Any = None
    if step == "Verification:contact":
        values["button"] = texts.BTN_SHARE_CONTACT
        keyboard = keyboards.share_contact()
    elif step.startswith("DependantForm:") and "{relation}" in template:
        values["relation"] = fmt.relation_label(data.get("dep_relation") or "")
    elif step == "ComplaintForm:category":
        keyboard = keyboards.ticket_categories()
    elif step == "ComplaintForm:attachment":
        values["skip"] = texts.BTN_SKIP_ATTACHMENT
        keyboard = keyboards.skip_attachment()
    elif step == "ComplaintForm:confirm":
        keyboard = keyboards.confirm("tkt")
    elif step == "DependantForm:confirm":
        keyboard = keyboards.confirm("dep")
    elif step == "DependantForm:documents":
        values.update(done=texts.BTN_DOCUMENTS_DONE, later=texts.BTN_DOCUMENTS_LATER)
        keyboard = keyboards.dependant_documents()
    question = reply.render.text(template, **values)
    if lead:
        question = reply.render.text(lead) + "\n" + question
    await reply.raw(question, keyboard=keyboard)


async def step_help(step: str, state: FSMContext, reply: Reply) -> None:
    """«پس الان باید چیکار کنم؟» on a step: what it needs; after a mismatch of the mobile and
    the national ID, the branch instruction again (the step stays for another national ID)."""
    if step == "Verification:national_id" and (await state.get_data()).get(MISMATCH_KEY):
        await reply(texts.MISMATCH_WHAT_NOW, instruction=texts.MISMATCH_INSTRUCTION)
        return
    await ask_step(step, state, reply, lead=texts.STEP_HELP_LEAD)


class StepGuard(BaseMiddleware):
    """Outer middleware of the flow steps: an exit, a request or a sentence inside a flow.

    It answers such a message itself (the step's handlers never see it); any other message
    goes on to them. A request is answered by its own intent handler (found by the
    verification gate), with the step kept: the next message may still answer it, and a
    button asks its question again (or goes back to it if the answer began another flow).
    """

    def __init__(self, gate: PersonalGate) -> None:
        self.gate = gate

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Message):
            return await handler(event, data)
        context = cast("UpdateContext", data)
        reading, understanding = read_step(event, context)
        if not reading:
            return await handler(event, data)
        step = context.get("raw_state") or ""
        state, reply = context["state"], context["reply"]
        if reading == "exit" and step == DependantForm.documents.state:
            # The request is recorded already: leaving the step only defers the documents.
            await leave_documents(state, context["services"], reply)
        elif reading == "exit":
            await state.clear()
            await reply(texts.FLOW_LEFT, keyboard=keyboards.main_menu())
        elif reading == "help":
            await step_help(step, state, reply)
        elif reading == "again" or understanding is None:
            await ask_step(step, state, reply, lead=texts.STEP_NOT_AN_ANSWER)
        else:
            await self._answer(event, data, step, understanding)
        return True

    async def _answer(
        self, event: Message, data: dict[str, Any], step: str, understanding: Understanding
    ) -> None:
        context = cast("UpdateContext", data)
        state, reply, user = context["state"], context["reply"], context["chat_user"]
        if not user.is_verified and self.gate.is_personal(understanding.intent):
            if step.startswith("Verification:"):
                # Mid-verification: the request joins those waiting for it.
                kept = (await state.get_data()).get("pending")
                before = [kept] if isinstance(kept, dict) else list(kept or ())
                await state.update_data(pending=[*before, kept_request(understanding)])
                label = texts.INTENT_LABELS.get(understanding.intent, "")
                lead = texts.STEP_REQUEST_KEPT.format(label=label)
                await ask_step(step, state, reply, lead=lead)
                return
            await ask_to_verify((understanding,), state, user, context["clock"], reply)
            return
        await self.gate.answer(event, data, understanding)
        if await state.get_state() is None:
            return  # the answer ended the flow (a hand-over to a person): nothing to resume
        await reply(texts.RESUME_OFFER, keyboard=keyboards.resume(step))


async def on_resume(
    query: CallbackQuery, callback_data: Resume, state: FSMContext, reply: Reply
) -> None:
    """Go back to the step left for another question."""
    step = callback_data.state
    if step not in texts.STEP_QUESTIONS:
        await reply(texts.RESUME_GONE)
        return
    await state.set_state(step)
    await ask_step(step, state, reply)


def build_guard(gate: PersonalGate) -> Router:
    """The step guard, first of the flow steps, and the button back to a step."""
    router = Router(name=f"{__name__}.guard")
    router.message.outer_middleware(StepGuard(gate))
    router.callback_query.register(on_resume, Resume.filter())
    return router
