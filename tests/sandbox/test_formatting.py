"""Parse modes as Telegram reads them, Bale's rendering, and the web chat's safe HTML."""

from __future__ import annotations

import functools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.formatting import (
    EntityParseError,
    detect_entities,
    parse_html,
    parse_markdown_legacy,
    parse_markdown_v2,
    parse_text,
    render_bale,
    strip_formatted,
    to_display_html,
    utf16_len,
)


@pytest.mark.parametrize(
    ("html", "text", "entities"),
    [
        ("<b>بیمه</b> شما", "بیمه شما", [{"type": "bold", "offset": 0, "length": 4}]),
        ("<strong>a</strong><em>b</em>", "ab", [("bold", 0, 1), ("italic", 1, 1)]),
        (
            "<u>a</u><ins>b</ins><s>c</s><del>d</del>",
            "abcd",
            [
                ("underline", 0, 1),
                ("underline", 1, 1),
                ("strikethrough", 2, 1),
                ("strikethrough", 3, 1),
            ],
        ),
        (
            '<tg-spoiler>x</tg-spoiler><span class="tg-spoiler">y</span>',
            "xy",
            [("spoiler", 0, 1), ("spoiler", 1, 1)],
        ),
        ("<code>*1420*4#</code>", "*1420*4#", [("code", 0, 8)]),
        ("a &lt;b&gt; &amp; &quot;c&quot; &#1575;&#x628;", 'a <b> & "c" اب', []),
        ("<blockquote>نقل</blockquote>", "نقل", [("blockquote", 0, 3)]),
        ("<B>upper</B>", "upper", [("bold", 0, 5)]),
        ("😀<b>x</b>", "😀x", [("bold", 2, 1)]),  # offsets count UTF-16 units
    ],
)
def test_html_parses_like_telegram(
    html: str, text: str, entities: list[tuple[str, int, int]]
) -> None:
    parsed = parse_html(html)
    assert parsed.text == text
    expected = [
        e if isinstance(e, dict) else {"type": e[0], "offset": e[1], "length": e[2]}
        for e in entities
    ]
    assert parsed.entities == expected


def test_html_link_and_pre_with_language() -> None:
    parsed = parse_html('<a href="https://es.tamin.ir/?a=1&amp;b=2">پرتال</a>')
    assert parsed.entities == [
        {"type": "text_link", "offset": 0, "length": 5, "url": "https://es.tamin.ir/?a=1&b=2"}
    ]
    parsed = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert parsed.entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("۲ < ۳", 'Unsupported start tag "" at byte offset 3'),
        ("a<b", "Unclosed start tag at byte offset 1"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</i>", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        (
            "<a href>x</a>",
            'Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0',
        ),
        ("تامین & رفاه", 'Unescaped "&" at byte offset 11'),
    ],
)
def test_html_refused_as_telegram_refuses(html: str, reason: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(html)
    assert str(caught.value).startswith(reason)


def test_bare_ampersand_is_text_when_not_strict() -> None:
    assert parse_html("A & B", strict_ampersand=False).text == "A & B"


def test_markdown_v2() -> None:
    parsed = parse_markdown_v2("*b* _i_ __u__ ~s~ ||p|| `c` [l](https://tamin.ir) 1\\.2")
    assert parsed.text == "b i u s p c l 1.2"
    assert [e["type"] for e in parsed.entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]
    with pytest.raises(EntityParseError, match=r"Character '\.' is reserved"):
        parse_markdown_v2("نسخه 1.2")
    with pytest.raises(EntityParseError, match="Can't find end of Bold entity at byte offset 0"):
        parse_markdown_v2("*1420")
    assert parse_markdown_v2("\\*1420\\*4\\#").text == "*1420*4#"


def test_legacy_markdown() -> None:
    parsed = parse_markdown_legacy("*b* _i_ `c` [l](https://tamin.ir)")
    assert parsed.text == "b i c l"
    with pytest.raises(
        EntityParseError, match="Can't find end of the entity starting at byte offset 0"
    ):
        parse_markdown_legacy("*1420")


def test_parse_text_modes() -> None:
    assert parse_text("<b>x</b>", None).text == "<b>x</b>"
    assert parse_text("<b>x</b>", "HTML").text == "x"
    assert parse_text("*x*", "MarkdownV2").text == "x"
    with pytest.raises(EntityParseError, match="Unsupported parse_mode"):
        parse_text("x", "html5")


@pytest.mark.parametrize(
    ("raw", "seen", "types"),
    [
        ("*1420*4#", "14204#", ["bold"]),  # the bug Bale rendering must catch
        ("\\*1420\\*4\\#", "*1420*4\\#", []),  # escaped stars survive; # is not a marker
        ("\\*1420\\*4#", "*1420*4#", []),
        ("کد_ملی_شما", "کدملیشما", ["italic"]),
        ("کد\\_ملی\\_شما", "کد_ملی_شما", []),
        ("[سایت](https://tamin.ir)", "سایت", ["text_link"]),
        ("\\[سایت](https://tamin.ir)", "[سایت](https://tamin.ir)", []),
        ("a\\(b\\", "a\\(b\\", []),  # only _ * ` [ and \\ are escapes
        ("a\\\\", "a\\", []),
        ("۲ * ۳ * ۴", "۲ * ۳ * ۴", []),  # a marker next to spaces is not formatting
        ("*باز", "*باز", []),  # unmatched: shown as typed, never refused
        ("`*a*`", "*a*", ["code"]),
        ("*a\nb*", "*a\nb*", []),  # pairs only within one line
    ],
)
def test_bale_renders_markdown_from_plain_text(raw: str, seen: str, types: list[str]) -> None:
    rendered = render_bale(raw)
    assert rendered.text == seen
    assert [e["type"] for e in rendered.entities] == types


def test_strip_keeps_entities_aligned() -> None:
    stripped = strip_formatted(parse_html("  \n<b> سلام </b> \n"))
    assert stripped.text == "سلام"
    assert stripped.entities == [{"type": "bold", "offset": 0, "length": 4}]


def test_detect_bot_commands() -> None:
    assert detect_entities("/start ref_12") == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert detect_entities("a/b") == []
    assert detect_entities("سلام /help@tamin_bot") == [
        {"type": "bot_command", "offset": 5, "length": 15}
    ]


def test_display_html_escapes_text_and_keeps_only_known_tags() -> None:
    html = to_display_html(
        "<script>x</script> لینک",
        [
            {"type": "bold", "offset": 0, "length": 8},
            {"type": "text_link", "offset": 19, "length": 4, "url": "javascript:alert(1)"},
        ],
    )
    assert html == "<b>&lt;script&gt;</b>x&lt;/script&gt; لینک"
    link = to_display_html(
        "x", [{"type": "text_link", "offset": 0, "length": 1, "url": "https://a.ir"}]
    )
    assert link.startswith('<a href="https://a.ir"')


def test_display_html_handles_crossing_entities() -> None:
    html = to_display_html(
        "abcd",
        [{"type": "bold", "offset": 0, "length": 3}, {"type": "italic", "offset": 1, "length": 3}],
    )
    assert html == "<b>a<i>bc</i></b><i>d</i>"


def test_display_html_counts_emoji_as_two_utf16_units() -> None:
    html = to_display_html("😀 ab & c", [{"type": "bold", "offset": 3, "length": 2}])
    assert html == "😀 <b>ab</b> &amp; c"


@given(st.text(max_size=40), st.text(max_size=40), st.text(max_size=40))
def test_display_html_wraps_exactly_the_entity(before: str, inside: str, after: str) -> None:
    """Whatever the characters (emoji, RTL, markup), the tags surround exactly the entity."""
    import html as html_lib

    entity = {"type": "italic", "offset": utf16_len(before), "length": utf16_len(inside)}
    shown = to_display_html(before + inside + after, [entity] if inside else [])
    escape = functools.partial(html_lib.escape, quote=False)
    wrapped = f"<i>{escape(inside)}</i>" if inside else ""
    assert shown == escape(before) + wrapped + escape(after)


@given(st.text(max_size=60))
def test_escaped_text_always_parses_back(text: str) -> None:
    """What a renderer produces with html.escape is always accepted and read back unchanged."""
    import html as html_lib

    parsed = parse_html(html_lib.escape(text, quote=False))
    assert parsed.text == text
    assert utf16_len(parsed.text) == utf16_len(text)


def _escape_for_bale(text: str) -> str:
    """The escaping contract the bot's Bale renderer follows (see render_bale's docstring)."""
    return re.sub(r"[*_`\[]|\\(?=[*_`\[\\]|$)", lambda m: "\\" + m.group(0), text)


@given(st.text(alphabet="*_`[]()\\ ab۱۴#\n", max_size=40))
def test_bale_shows_escaped_text_as_written(text: str) -> None:
    assert render_bale(_escape_for_bale(text)).text == text
    assert render_bale(_escape_for_bale(text)).entities == []
