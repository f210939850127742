"""/settings through the real dispatcher, and the menu of a user locked out of verification."""

from __future__ import annotations

import datetime as dt
import re

from aiogram.types import ReplyKeyboardMarkup
from sqlalchemy import select

from bot import keyboards, texts
from bot.handlers import build_handlers
from bot.handlers.verification import PersonalGate
from services.db.notice_models import NoticePreference
from services.enums import NoticeKind
from tests.bot import fakes
from tests.bot.conftest import HASSAN, MARYAM, REZA, Harness

PERSONAL_LABELS = {
    label for label, i in texts.MENU.items() if i in keyboards.PERSONAL_MENU_INTENTS
}


def label(kind: NoticeKind, on: bool) -> str:
    mark = texts.SETTINGS_ON_MARK if on else texts.SETTINGS_OFF_MARK
    return f"{mark} {texts.NOTICE_KIND_LABELS[kind.value]}"


async def test_settings_lists_every_kind_with_its_default(harness: Harness) -> None:
    chat = harness.chat()
    calls = await chat.send("/settings")
    [shown] = [c for c in calls if c.name == "sendMessage"]
    assert "۲۲:۰۰" in shown.text and "۰۸:۰۰" in shown.text
    # Answers the user asked for are on; reminders nobody asked for are off until switched on.
    assert shown.buttons() == [
        label(NoticeKind.TICKET_ANSWERED, True),
        label(NoticeKind.TICKET_OVERDUE, False),
        label(NoticeKind.REQUEST_DECIDED, True),
        label(NoticeKind.COVER_ENDING, False),
        label(NoticeKind.VOLUNTARY_PAYMENT, False),
        label(NoticeKind.MEDICAL_EXAM, False),
    ]


async def test_a_press_switches_the_kind_and_redraws_the_buttons(harness: Harness) -> None:
    chat = harness.chat()
    await chat.send("/settings")
    calls = await chat.click(label(NoticeKind.COVER_ENDING, False))
    edit = [c for c in calls if c.name == "editMessageReplyMarkup"]
    assert edit and label(NoticeKind.COVER_ENDING, True) in edit[0].buttons()
    assert "«نزدیک شدن پایان اعتبار درمان» روشن شد." in chat.joined(calls)
    calls = await chat.click(label(NoticeKind.TICKET_ANSWERED, True))
    assert "خاموش شد" in chat.joined(calls)
    async with harness.deps.session_factory() as session:
        rows = dict(
            (await session.execute(select(NoticePreference.kind, NoticePreference.enabled))).all()
        )
    assert rows == {"cover_ending": True, "ticket_answered": False}


async def test_a_forged_kind_is_refused_politely(harness: Harness) -> None:
    chat = harness.chat()
    calls = await chat.press("nt:everything:1")
    assert "دیگر فعال نیست" in chat.joined(calls) or calls
    async with harness.deps.session_factory() as session:
        assert (await session.scalars(select(NoticePreference))).all() == []


def test_the_personal_menu_set_matches_the_handlers_flags() -> None:
    routers = build_handlers()
    intents = routers[2]
    gate = PersonalGate(intents)
    for intent in texts.MENU.values():
        assert gate.is_personal(intent) == (intent in keyboards.PERSONAL_MENU_INTENTS), intent


def test_the_main_menu_is_built_once_per_variant_with_every_task_two_per_row() -> None:
    personal, public = keyboards.main_menu(), keyboards.main_menu(personal=False)
    # Shared by every reply (bot.keyboards.main_menu's rule): the same object each time.
    assert keyboards.main_menu() is personal and keyboards.main_menu(personal=False) is public
    labels = [b.text for row in personal.keyboard for b in row]
    assert labels == list(texts.MENU)
    assert [b.text for row in public.keyboard for b in row] == [
        label
        for label, intent in texts.MENU.items()
        if intent not in keyboards.PERSONAL_MENU_INTENTS
    ]
    assert all(len(row) <= 2 for row in personal.keyboard)
    assert personal.resize_keyboard and personal.is_persistent


def menu_labels(calls: list[fakes.Call]) -> set[str]:
    markups = [c.markup for c in calls if isinstance(c.markup, ReplyKeyboardMarkup)]
    assert markups, "no reply keyboard was sent"
    return {b.text for row in markups[-1].keyboard for b in row}


async def test_locked_out_user_does_not_see_the_personal_menu(harness: Harness) -> None:
    chat = harness.chat()
    await chat.share_contact(MARYAM[1])
    for _ in range(4):
        await chat.send(REZA[0])
    calls = await chat.send(HASSAN[0])
    assert "بسته شده است" in chat.joined(calls)
    shown = menu_labels(calls)
    assert not shown & PERSONAL_LABELS
    assert "☎️ راه‌های ارتباطی" in shown and "🙋 گفتگو با کارشناس" in shown
    for command in ("/menu", "/help", "/start", "/cancel"):
        calls = await chat.send(command)
        assert not menu_labels(calls) & PERSONAL_LABELS, command
    # A personal request while locked: the lock again, and still no personal buttons.
    calls = await chat.send("فیش حقوقی")
    assert "بسته شده است" in chat.joined(calls)
    assert not menu_labels(calls) & PERSONAL_LABELS
    # Once the lock ends, the whole menu is back.
    harness.clock.advance(dt.timedelta(minutes=61))
    calls = await chat.send("/menu")
    assert menu_labels(calls) >= PERSONAL_LABELS


async def test_a_tracking_code_is_isolated_left_to_right(harness: Harness) -> None:
    """Regression (issue 18): «۱۴۲۰-۰۲۲۱۸۵» showed as «۰۲۲۱۸۵-۱۴۲۰» in Persian text."""
    chat = harness.chat()
    await chat.verify(*MARYAM)
    await chat.send("ثبت شکایت")
    await chat.press("tc:insurance")
    await chat.send("از کارفرما شکایت دارم چون بیمهٔ من را پرداخت نکرده است.")
    await chat.press("sk")
    calls = await chat.press("ok:tkt:1")
    raw = "\n".join(c.text for c in calls if c.name == "sendMessage")
    assert re.search("\u2066۱۴۲۰-[۰-۹]{6}\u2069", raw), raw


async def test_the_menu_button_opens_the_settings(harness: Harness) -> None:
    chat = harness.chat()
    calls = await chat.send("🔔 اعلان‌ها")
    [shown] = [c for c in calls if c.name == "sendMessage"]
    assert shown.text.startswith("🔔 اعلان‌ها")
    assert len(shown.buttons()) == len(NoticeKind)


def test_every_notice_kind_is_worded() -> None:
    assert {k.value for k in NoticeKind} == texts.NOTICE_KIND_LABELS.keys()
