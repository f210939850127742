"""Jinja2 set-up of the console: filters that write Persian, and one ``render`` helper.

Every page gets the signed-in agent, the CSRF token for its forms, the flash messages of the
last action and the text catalogue ``T``. Jinja's autoescaping is on for every template, so
what users and agents typed is always shown as text.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.responses import Response

from console import texts
from console.deps import csrf_token
from persian import format_jalali, parse_jalali, to_ascii_digits, to_persian_digits
from services.clock import TEHRAN

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
FLASH_KEY = "flash"


def fa(value: object) -> str:
    """Persian digits for anything printed."""
    return to_persian_digits(str(value))


def jdate(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return texts.NONE
    if isinstance(value, dt.datetime):
        value = value.astimezone(TEHRAN).date()
    return format_jalali(value)


def jtime(value: dt.datetime | None) -> str:
    if value is None:
        return texts.NONE
    return fa(value.astimezone(TEHRAN).strftime("%H:%M"))


def jdatetime(value: dt.datetime | None) -> str:
    if value is None:
        return texts.NONE
    return f"{jdate(value)} {jtime(value)}"


def duration(value: dt.timedelta | None) -> str:
    """«۱ ساعت و ۵ دقیقه»-style waiting times."""
    if value is None:
        return texts.NONE
    minutes = int(value.total_seconds() // 60)
    if minutes < 1:
        return texts.LESS_THAN_MINUTE
    if minutes < 60:
        return fa(texts.MINUTES.format(n=minutes))
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return fa(texts.HOURS_MINUTES.format(h=hours, m=minutes))
    days, hours = divmod(hours, 24)
    return fa(texts.DAYS_HOURS.format(d=days, h=hours))


def intent_label(value: str | None) -> str:
    if not value:
        return texts.INTENTS["out_of_scope"]
    return texts.INTENTS.get(value, value)


def decimal(value: float, places: int = 1) -> str:
    """«۴٫۵»: Persian digits with the Persian decimal separator."""
    return fa(f"{value:.{places}f}").replace(".", "٫")


# Tracking codes (1420-022185) are left-to-right runs inside Persian text: unisolated, the bidi
# algorithm joins the dash to the Persian around it and shows «۰۲۲۱۸۵-۱۴۲۰». Isolate every code:
# in HTML with <bdi dir="ltr">, in plain text (the tab title) with FSI … PDI (U+2068/U+2069).
FSI, PDI = "\u2068", "\u2069"


def code(value: object) -> Markup:
    """A tracking code isolated left-to-right, in Persian digits."""
    return Markup('<bdi dir="ltr" class="code">{}</bdi>').format(fa(value))


def isolated(value: object) -> str:
    """A tracking code for plain text (a <title>): Persian digits between FSI and PDI."""
    return f"{FSI}{fa(value)}{PDI}"


def with_code(template: str, value: object) -> Markup:
    """``template`` («درخواست {code}») with the code isolated; the rest escaped as usual."""
    before, _, after = template.partition("{code}")
    return Markup("{}{}{}").format(fa(before), code(value), fa(after))


def parse_day(value: str | None) -> dt.date | None:
    """A day typed in a filter: Jalali (۱۴۰۵/۰۹/۱۵, any digits) or ISO; else None (no filter)."""
    if not value or not value.strip():
        return None
    text = to_ascii_digits(value.strip())
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parse_jalali(text)
    except ValueError:
        return None


def percent(value: float) -> str:
    return decimal(value * 100) + "٪"


def create_templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        fa=fa,
        jdate=jdate,
        jtime=jtime,
        jdatetime=jdatetime,
        duration=duration,
        intent=intent_label,
        percent=percent,
        decimal=decimal,
        code=code,
        isolated=isolated,
        with_code=with_code,
    )
    env.globals["T"] = texts
    return Jinja2Templates(env=env)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """Keep a message for the next page (after a redirect)."""
    messages = list(request.session.get(FLASH_KEY) or [])
    messages.append([kind, message])
    request.session[FLASH_KEY] = messages[-5:]


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    data: dict[str, Any] = {
        "agent": getattr(request.state, "agent", None),
        "csrf_token": csrf_token(request),
        "flashes": request.session.pop(FLASH_KEY, None) or [],
        "poll_ms": int(request.app.state.console_config.poll_seconds * 1000),
    }
    data.update(context or {})
    return templates.TemplateResponse(request, name, data, status_code=status_code)
