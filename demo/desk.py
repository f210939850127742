"""Canned replies and labels for the agents' console, so its pages are not empty in a demo.

Written in the console's voice (polite, Persian, the organisation's wording from DOMAIN.md);
loaded with the demo data by ``tamin-bot demo-data``, idempotently (a code or label name that
exists already is left as a supervisor may have edited it).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import Clock
from services.db.handoff_models import CannedReply, Label

# (short code, title, text)
DEMO_CANNED_REPLIES: Final[tuple[tuple[str, str, str], ...]] = (
    (
        "greeting",
        "سلام و آغاز گفتگو",
        "سلام، وقت شما بخیر. کارشناس ۱۴۲۰ هستم؛ لطفاً بفرمایید چطور می‌توانم کمکتان کنم.",
    ),
    (
        "eligibility-branch",
        "مراجعه به شعبه برای استحقاق درمان",
        "اگر وضعیت «حمایت درمانی ندارد» با شرایط شما نمی‌خواند، لطفاً با کارت ملی به شعبهٔ "
        "تأمین اجتماعی محل پرونده مراجعه کنید تا بررسی شود.",
    ),
    (
        "dependant-documents",
        "مدارک افزودن افراد تحت تکفل",
        "برای افزودن افراد تحت تکفل، تصویر شناسنامه و کارت ملی فرد (و برای همسر سند ازدواج، "
        "برای پسر بالای سن مجاز گواهی اشتغال به تحصیل) لازم است. شعبه پس از بررسی نتیجه را "
        "با کد رهگیری اعلام می‌کند.",
    ),
    (
        "mobile-mismatch",
        "ناهمخوانی کد ملی و موبایل",
        "شمارهٔ همراه شما به نام خودتان در سامانهٔ خدمات غیرحضوری ثبت نشده است. لطفاً با "
        "کارت ملی به شعبه مراجعه کنید تا شماره ثبت شود.",
    ),
    (
        "records-objection",
        "اعتراض به سابقه",
        "اگر سابقهٔ ماهی ثبت نشده یا ناقص است، می‌توانید از راه سامانهٔ خدمات غیرحضوری "
        "(es.tamin.ir) اعتراض به سابقه ثبت کنید؛ این اعتراض مهلت ندارد.",
    ),
    (
        "closing",
        "پایان گفتگو",
        "از شکیبایی شما سپاسگزارم. اگر پرسش دیگری داشتید، در خدمتیم. روزتان خوش.",
    ),
)

DEMO_LABELS: Final[tuple[str, ...]] = (
    "استحقاق درمان",
    "افراد تحت تکفل",
    "سابقه و حق بیمه",
    "مستمری",
    "بیمهٔ اختیاری",
    "شکایت",
    "پیگیری شعبه",
)


async def ensure_demo_catalogue(session: AsyncSession, clock: Clock) -> tuple[int, int]:
    """Add the demo canned replies and labels that are missing; return how many were added."""
    codes = set(await session.scalars(select(CannedReply.short_code)))
    names = set(await session.scalars(select(Label.name)))
    now = clock.now()
    replies = [
        CannedReply(short_code=code, title=title, text=text, updated_at=now)
        for code, title, text in DEMO_CANNED_REPLIES
        if code not in codes
    ]
    labels = [Label(name=name) for name in DEMO_LABELS if name not in names]
    session.add_all([*replies, *labels])
    await session.flush()
    return len(replies), len(labels)
