"""Rendering per platform: escaped HTML for Telegram, neutralised Markdown for Bale.

What a reader sees is checked with the sandbox's parsers, which follow Telegram's own HTML
parser and the Bale clients' Markdown dialect.
"""

from __future__ import annotations

import pytest

from bot import keyboards, texts
from bot.platform import Platform
from bot.render import Renderer, escape_bale, visible_text
from sandbox.formatting import parse_html, render_bale
from tests.bot.conftest import Harness

TRICKY = "کد *۱۴۲۰*۴# و فایل my_file_name.pdf و [لینک](http://x.y) و `کد` و <b>&amp;</b> \\* \\"


def test_telegram_escapes_every_value_and_keeps_catalogue_bold() -> None:
    render = Renderer(Platform.TELEGRAM)
    out = render("<b>عنوان</b> {value} & {other}", value="<i>x</i> & y", other=TRICKY)
    assert out.parse_mode == "HTML"
    parsed = parse_html(out.text)
    assert parsed.text == "عنوان <i>x</i> & y & " + TRICKY
    assert [e["type"] for e in parsed.entities] == ["bold"]


@pytest.mark.parametrize(
    "value",
    [
        TRICKY,
        "*۱۴۲۰*۴#",
        "a_b_c",
        "[x](y)",
        "**bold**",
        "__u__",
        "`x`",
        "```\ncode\n```",
        "trailing \\",
        "\\*",
        "\\\\_",
        "_*`[",
    ],
)
def test_bale_text_never_turns_into_formatting(value: str) -> None:
    render = Renderer(Platform.BALE)
    out = render("پیش {value} پس *ثابت* _ثابت_ [ثابت]", value=value)
    assert out.parse_mode is None
    seen = render_bale(out.text)
    assert seen.entities == []
    assert seen.text == f"پیش {value} پس *ثابت* _ثابت_ [ثابت]"
    assert visible_text(out.text, None) == seen.text


def test_bale_drops_the_catalogue_bold_tags() -> None:
    out = Renderer(Platform.BALE)(texts.HELP)
    assert "<b>" not in out.text
    assert render_bale(out.text).entities == []


def test_escape_bale_leaves_plain_persian_alone() -> None:
    assert escape_bale("سلام، حال شما چطور است؟ (۱۲۳)") == "سلام، حال شما چطور است؟ (۱۲۳)"


def test_every_catalogue_template_renders_on_both_platforms() -> None:
    """Each text fills with dummy values and parses (no stray markup, balanced tags)."""
    import string

    names = [n for n in dir(texts) if n.isupper()]
    templates: list[str] = []
    for name in names:
        value = getattr(texts, name)
        if isinstance(value, str):
            templates.append(value)
        elif isinstance(value, dict):
            templates.extend(v for v in value.values() if isinstance(v, str))
    assert len(templates) > 100
    for template in templates:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        values = {f: "*_[x]" for f in fields}
        telegram = Renderer(Platform.TELEGRAM)(template, **values)
        parse_html(telegram.text)  # raises on malformed HTML, as Telegram would refuse it
        bale = Renderer(Platform.BALE)(template, **values)
        assert render_bale(bale.text).entities == [], template


def test_callback_data_fits_in_64_bytes() -> None:
    markups = [
        keyboards.intent_choices(["eservices_registration", "check_eligibility"]),
        keyboards.offer_human(),
        keyboards.ticket_categories(),
        keyboards.relations(["wife", "husband", "son", "daughter", "father", "mother"]),
        keyboards.dependant_request_offer("daughter"),
        keyboards.confirm("dep"),
        keyboards.skip_attachment(),
        keyboards.tickets([("1420-123456", "۱۴۲۰-۱۲۳۴۵۶")]),
        keyboards.voluntary_estimate(),
    ]
    for markup in markups:
        for row in markup.inline_keyboard:
            for button in row:
                assert button.callback_data
                assert len(button.callback_data.encode()) <= 64


async def test_bale_conversation_is_rendered_for_bale(memory_harness: Harness) -> None:
    """A Bale user's answers carry no parse mode and show ``*``, ``_`` and ``[`` as written."""
    chat = memory_harness.chat(platform=Platform.BALE)
    calls = await chat.send("شماره تماس ۱۴۲۰")
    call = calls[-1]
    assert call.parse_mode is None
    assert call.entities == []
    assert "*۱۴۲۰*۴#" in call.text
    assert "\\*۱۴۲۰\\*۴#" in call.raw_text
    # What the user typed comes back neutralised too.
    await chat.send("میخوام شکایت ثبت کنم")
    await chat.press("tc:other")
    await chat.send("فایل my_report_[final].pdf را *حتماً* ببینید")
    calls = await chat.click(texts.BTN_SKIP_ATTACHMENT)
    summary = [c for c in calls if c.name == "sendMessage"][-1]
    assert summary.entities == []
    assert "فایل my_report_[final].pdf را *حتماً* ببینید" in summary.text


async def test_telegram_conversation_escapes_what_users_type(memory_harness: Harness) -> None:
    chat = memory_harness.chat()
    await chat.send("میخوام شکایت ثبت کنم")
    await chat.press("tc:other")
    await chat.send("<b>فوری</b> & مهم: شعبه <script> را ببندید")
    calls = await chat.click(texts.BTN_SKIP_ATTACHMENT)
    summary = [c for c in calls if c.name == "sendMessage"][-1]
    assert summary.parse_mode == "HTML"
    assert "<b>فوری</b> & مهم: شعبه <script> را ببندید" in summary.text
    assert [e["type"] for e in summary.entities] == ["bold"]  # the catalogue's title only
