"""Issue 17, finding 12: a message is measured after escaping against the platform's limit.

A complaint of 4 000 characters (the most a description may have) quoted in the confirmation
was "message is too long" in Bale (every Markdown marker escaped doubles) and in Telegram too
(the template's own words on top): the user was left at a step with no buttons. The quote is
now shortened to fit, the full text is still filed, and any other over-long answer is split.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.factory import BotDeps, build_bot, build_dispatcher
from bot.middlewares.throttling import ThrottlingMiddleware
from bot.platform import Platform
from bot.render import MESSAGE_LIMIT, Renderer, utf16_len
from sandbox import DEMO_BALE_TOKEN, DEMO_TELEGRAM_TOKEN, SandboxClient, SandboxServer, demo_config
from sandbox.formatting import parse_html, render_bale
from services.clock import SystemClock
from services.db.models import Ticket
from services.tickets import MAX_TEXT_LENGTH

# Every character that needs escaping on one platform or the other, in Persian words, and an
# emoji (two UTF-16 units, as the Bot API counts: Telegram too refuses 4 000 of these).
CHUNK = "کارفرما *حق بیمه* را _نپرداخته_ و <شعبه> گفت [بعداً] & `دوباره` بیایید 🙏 "
LONG_COMPLAINT = (CHUNK * (MAX_TEXT_LENGTH // len(CHUNK) + 1))[:MAX_TEXT_LENGTH].strip()
CONFIRM_VALUES = {"category": "امور بیمه‌ای", "attachments": texts.NO_ATTACHMENT}


@pytest.mark.parametrize("platform", list(Platform))
def test_the_quoted_complaint_is_shortened_to_the_platform_s_limit(platform: Platform) -> None:
    render = Renderer(platform)
    whole = render(texts.CONFIRM_TICKET, description=LONG_COMPLAINT, **CONFIRM_VALUES)
    assert render.measure(whole.text) > MESSAGE_LIMIT  # what the platform refused before
    fitted = render.fit(
        texts.CONFIRM_TICKET,
        "description",
        texts.TICKET_DESCRIPTION_SHORTENED,
        description=LONG_COMPLAINT,
        **CONFIRM_VALUES,
    )
    assert MESSAGE_LIMIT - 200 < render.measure(fitted.text) <= MESSAGE_LIMIT
    if platform is Platform.TELEGRAM:
        shown = parse_html(fitted.text).text
    else:
        shown = render_bale(fitted.text).text
        assert render_bale(fitted.text).entities == []  # still no stray formatting
    assert "ثبت شود؟" in shown and "متن کامل ثبت می‌شود" in shown
    # The quote is the complaint's own beginning, cut between words.
    quoted = shown.split("شرح: ", 1)[1].split(" … (", 1)[0]
    assert LONG_COMPLAINT.startswith(quoted) and LONG_COMPLAINT[len(quoted)] == " "


@pytest.mark.parametrize("platform", list(Platform))
def test_a_short_complaint_is_quoted_whole(platform: Platform) -> None:
    render = Renderer(platform)
    values = {"description": "کارفرما *حق بیمه* را نپرداخته", **CONFIRM_VALUES}
    fitted = render.fit(texts.CONFIRM_TICKET, "description", "…", **values)
    assert fitted == render(texts.CONFIRM_TICKET, **values)


@pytest.mark.parametrize("platform", list(Platform))
def test_any_over_long_answer_is_split_into_messages_that_fit(platform: Platform) -> None:
    render = Renderer(platform)
    text = render.text("<b>پاسخ</b>\n{a}\n{b}", a=LONG_COMPLAINT, b=LONG_COMPLAINT + "😀" * 50)
    pieces = render.split(text)
    assert len(pieces) >= 3
    assert all(render.measure(p) <= MESSAGE_LIMIT for p in pieces)
    if platform is Platform.TELEGRAM:
        seen = "".join(parse_html(p).text for p in pieces)  # each piece parses on its own
    else:
        assert all(render_bale(p).entities == [] for p in pieces)
        seen = "".join(render_bale(p).text for p in pieces)
    assert seen.replace(" ", "").replace("\n", "") == (
        ("پاسخ" + LONG_COMPLAINT * 2 + "😀" * 50).replace(" ", "")
    )
    assert utf16_len("😀") == 2


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(demo_config()) as server:
        yield server


@pytest.mark.e2e
@pytest.mark.parametrize("platform", list(Platform))
async def test_a_4000_character_complaint_is_confirmed_and_filed_whole(
    sandbox: SandboxServer, bot_deps: BotDeps, session: AsyncSession, platform: Platform
) -> None:
    deps = dataclasses.replace(bot_deps, clock=SystemClock())
    token = DEMO_TELEGRAM_TOKEN if platform is Platform.TELEGRAM else DEMO_BALE_TOKEN
    bot = build_bot(platform, token, sandbox.api_base)
    dp = build_dispatcher(deps, throttling=ThrottlingMiddleware(limit=1000, window=1))
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        async with SandboxClient(sandbox.url, quiet_ms=300) as control:
            name = str(platform)
            uid = int((await control.create_user("مریم"))["id"])
            start = await control.say(uid, "میخوام شکایت ثبت کنم", bot=name)
            assert texts.CATEGORY_LABELS["insurance"] in start.buttons()
            await control.tap(uid, texts.CATEGORY_LABELS["insurance"], bot=name)
            await control.say(uid, LONG_COMPLAINT, bot=name)
            confirm = await control.tap(uid, texts.BTN_SKIP_ATTACHMENT, bot=name)
            # The confirmation arrived (the sandbox refuses what is over the limit) with its
            # buttons, quoting the beginning of the complaint.
            assert texts.BTN_YES in confirm.buttons(), confirm.text
            assert "متن کامل ثبت می‌شود" in confirm.text
            assert LONG_COMPLAINT[:200] in confirm.text
            calls = await control.calls(method="sendMessage", bot=name)
            assert all(c["ok"] for c in calls), [c["description"] for c in calls]
            filed = await control.tap(uid, texts.BTN_YES, bot=name)
            assert "شکایت شما در سامانهٔ ۱۴۲۰ ثبت شد" in filed.text
    finally:
        await dp.stop_polling()
        await polling
        await bot.session.close()
    ticket = (await session.scalars(select(Ticket))).one()
    assert ticket.text == LONG_COMPLAINT  # the whole text is filed
