"""Every word the sandbox's web chat shows, in one place (the page reads them as JSON).

The demo personas are those of the demo data (registry issue); the unknown number is one the
registry does not hold, to try the mismatch path.
"""

from __future__ import annotations

from typing import Final

PERSONAS: Final[list[dict[str, str]]] = [
    {"name": "مریم رضایی", "mobile": "09121234567"},
    {"name": "رضا کاظمی", "mobile": "09351112233"},
    {"name": "حسن کریمی", "mobile": "09131112233"},
    {"name": "زهرا حسینی", "mobile": "09191234567"},
]
UNKNOWN_NUMBER: Final = "09390000000"

STRINGS: Final[dict[str, str]] = {
    "page_title": "گفت‌وگوی آزمایشی با دستیار تأمین اجتماعی",
    "header_title": "دستیار تأمین اجتماعی",
    "header_subtitle": "محیط آزمایشی — بدون نیاز به تلگرام یا اینترنت",
    "bot_label": "پیام‌رسان",
    "platform_telegram": "تلگرام",
    "platform_bale": "بله",
    "user_label": "کاربر",
    "change_user": "تغییر کاربر",
    "pick_user_title": "با چه کاربری گفت‌وگو می‌کنید؟",
    "pick_user_hint": "یکی از کاربران آزمایشی را برگزینید یا کاربر تازه‌ای بسازید.",
    "no_users": "هنوز کاربری ساخته نشده است.",
    "new_user_title": "ساختن کاربر تازه",
    "first_name": "نام",
    "first_name_placeholder": "مثلاً مریم",
    "last_name": "نام خانوادگی (اختیاری)",
    "user_id": "شناسهٔ عددی (اختیاری)",
    "create_user": "ساختن و شروع گفت‌وگو",
    "name_required": "لطفاً نام کاربر را بنویسید.",
    "input_placeholder": "پیام خود را بنویسید…",
    "send": "ارسال",
    "attach": "پیوست",
    "attach_photo": "فرستادن عکس یا پرونده",
    "attach_contact": "فرستادن یک مخاطب",
    "attach_location": "فرستادن موقعیت مکانی",
    "typing": "در حال نوشتن…",
    "edited": "ویرایش‌شده",
    "deleted": "این پیام حذف شد.",
    "photo": "عکس",
    "document": "پرونده",
    "contact": "مخاطب",
    "location": "موقعیت مکانی",
    "sticker": "برچسب",
    "voice": "پیام صوتی",
    "video": "ویدئو",
    "unsupported": "پیام",
    "keyboard_show": "نمایش صفحه‌کلید",
    "keyboard_hide": "پنهان کردن صفحه‌کلید",
    "contact_title": "کدام شماره را به اشتراک می‌گذارید؟",
    "contact_hint": "شمارهٔ یکی از افراد نمونه، شماره‌ای ناشناس یا شماره‌ای دلخواه را برگزینید.",
    "contact_unknown": "شمارهٔ ناشناس",
    "contact_custom": "شمارهٔ دلخواه",
    "contact_custom_placeholder": "مثلاً ۰۹۱۲۳۴۵۶۷۸۹",
    "contact_someone_else": "این مخاطبِ شخص دیگری است (نه شمارهٔ خودم)",
    "contact_send": "اشتراک‌گذاری",
    "cancel": "انصراف",
    "blocked_note": "شما این ربات را مسدود کرده‌اید.",
    "unblocked_note": "ربات از حالت مسدود درآمد.",
    "block": "مسدود کردن ربات",
    "unblock": "رفع مسدودی",
    "empty_chat": "برای شروع، دکمهٔ «شروع» را بزنید یا «/start» را بفرستید.",
    "start": "شروع",
    "error_generic": "متأسفانه کار انجام نشد. لطفاً دوباره تلاش کنید.",
    "error_network": "ارتباط با محیط آزمایشی برقرار نشد.",
    "link_opened": "این دکمه پیوندی را باز می‌کند.",
}
