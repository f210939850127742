"""The console's one catalogue of Persian texts (page titles, labels, messages, errors).

Polite, plain Persian with correct half-spaces (U+200C); digits are turned Persian by the
templates' ``fa`` filter. The templates read these names as ``T.NAME``.
"""

from __future__ import annotations

from typing import Final

APP_NAME: Final = "میز کار کارشناسان ۱۴۲۰"
APP_SUBTITLE: Final = "دستیار تأمین اجتماعی"

# --- navigation ------------------------------------------------------------------------------
NAV_QUEUE: Final = "صف انتظار"
NAV_MINE: Final = "گفتگوهای من"
NAV_ALL: Final = "همهٔ گفتگوها"
NAV_TICKETS: Final = "درخواست‌های ۱۴۲۰"
NAV_DASHBOARD: Final = "داشبورد"
NAV_SETTINGS: Final = "تنظیمات"
NAV_LOGOUT: Final = "خروج"
ROLE_AGENT: Final = "کارشناس"
ROLE_SUPERVISOR: Final = "سرپرست"
AVAILABLE: Final = "آماده‌ام"
AWAY: Final = "در دسترس نیستم"
SET_AVAILABLE: Final = "اعلام آمادگی"
SET_AWAY: Final = "اعلام عدم دسترسی"

# --- login -----------------------------------------------------------------------------------
LOGIN_TITLE: Final = "ورود کارشناسان"
LOGIN_USERNAME: Final = "نام کاربری"
LOGIN_PASSWORD: Final = "گذرواژه"
LOGIN_SUBMIT: Final = "ورود"
LOGIN_FAILED: Final = "نام کاربری یا گذرواژه درست نیست."
LOGIN_THROTTLED: Final = "ورودهای ناموفق زیاد بود. لطفاً پس از ساعت {until} دوباره تلاش کنید."
LOGIN_NEEDED: Final = "لطفاً ابتدا وارد شوید."
LOGGED_OUT: Final = "با موفقیت خارج شدید."

# --- queue -----------------------------------------------------------------------------------
QUEUE_TITLE: Final = "صف انتظار"
QUEUE_EMPTY: Final = "هم‌اکنون کسی در صف نیست."
MINE_TITLE: Final = "گفتگوهای باز من"
MINE_EMPTY: Final = "گفتگوی بازی ندارید."
HISTORY_TITLE: Final = "گفتگوهای بسته‌شدهٔ من"
ALL_TITLE: Final = "همهٔ گفتگوها"
ALL_EMPTY: Final = "گفتگویی با این مشخصات نیست."
COL_USER: Final = "کاربر"
COL_WAITING: Final = "مدت انتظار"
COL_SINCE: Final = "زمان درخواست"
COL_REASON: Final = "علت ارجاع"
COL_PLATFORM: Final = "پیام‌رسان"
COL_STATUS: Final = "وضعیت"
COL_AGENT: Final = "کارشناس"
COL_LABELS: Final = "برچسب‌ها"
COL_LAST: Final = "آخرین پیام"
COL_RATING: Final = "رضایت"
TAKE: Final = "پذیرش گفتگو"
OPEN: Final = "باز کردن"
UNVERIFIED_USER: Final = "کاربر احراز نشده"
FILTER: Final = "نمایش"
ANY: Final = "همه"

PLATFORMS: Final = {"telegram": "تلگرام", "bale": "بله"}
STATUSES: Final = {
    "queued": "در صف",
    "open": "در حال گفتگو",
    "resolved": "بسته‌شده",
    "ticketed": "تبدیل به درخواست ۱۴۲۰",
}
REASONS: Final = {
    "human_agent": "درخواست کاربر",
    "nlu_miss": "ربات متوجه نشد",
    "agent_pick": "شروع به دست کارشناس",
}
RESOLUTIONS: Final = {"resolved": "پایان به دست کارشناس", "user_left": "کاربر گفتگو را ترک کرد"}

# --- conversation ----------------------------------------------------------------------------
CONVERSATION_TITLE: Final = "گفتگو شمارهٔ {id}"
IDENTITY: Final = "هویت کاربر"
IDENTITY_NAME: Final = "نام"
IDENTITY_NATIONAL_ID: Final = "کد ملی"
IDENTITY_MOBILE: Final = "شمارهٔ همراه"
IDENTITY_UNVERIFIED: Final = "هویت این کاربر هنوز تأیید نشده است."
REVEAL: Final = "نمایش کامل (ثبت می‌شود)"
REVEALED_NOTICE: Final = "اطلاعات کامل نمایش داده شد و این کار در گزارش ممیزی ثبت شد."
TRANSCRIPT: Final = "پیام‌های پیش از ارجاع"
TRANSCRIPT_EMPTY: Final = "پیامی پیش از ارجاع ثبت نشده است."
BOT_UNDERSTOOD: Final = "برداشت ربات: {intent}"
BOT_FALLBACK: Final = "ربات متوجه نشد"
ANSWERS: Final = "پاسخ‌هایی که سامانه داده است"
ANSWERS_EMPTY: Final = "در این مدت پاسخی از سامانه ثبت نشده است."
ANSWER_KINDS: Final = {
    "eligibility": "استعلام استحقاق درمان",
    "ticket": "درخواست ۱۴۲۰",
    "dependant_request": "درخواست افزودن فرد تحت تکفل",
}
ANSWER_STATUSES: Final = {
    "covered": "حمایت درمانی دارد",
    "not_covered": "حمایت درمانی ندارد",
    "open": "باز",
    "in_progress": "در حال بررسی",
    "answered": "پاسخ داده شده",
    "closed": "بسته",
    "under_branch_review": "در حال بررسی شعبه",
    "approved": "پذیرفته شده",
    "rejected": "رد شده",
}
TRACKING_CODE: Final = "کد رهگیری"
MESSAGES: Final = "گفتگو"
REPLY: Final = "پاسخ به کاربر"
REPLY_PLACEHOLDER: Final = "پاسخ خود را بنویسید…"
SEND: Final = "ارسال"
CANNED: Final = "پاسخ‌های آماده"
CANNED_PICK: Final = "درج پاسخ آماده…"
NOTES: Final = "یادداشت‌های داخلی"
NOTES_HINT: Final = "یادداشت‌ها فقط برای کارشناسان است و برای کاربر فرستاده نمی‌شود."
NOTE_ADD: Final = "افزودن یادداشت"
NOTES_EMPTY: Final = "یادداشتی نیست."
LABELS: Final = "برچسب‌ها"
LABEL_ADD: Final = "افزودن برچسب"
LABEL_REMOVE: Final = "برداشتن"
LABELS_EMPTY: Final = "برچسبی تعریف نشده است."
TRANSFER: Final = "سپردن به کارشناس دیگر"
TRANSFER_TO_QUEUE: Final = "بازگرداندن به صف"
TRANSFER_SUBMIT: Final = "سپردن"
RESOLVE: Final = "پایان گفتگو"
RESOLVE_CONFIRM: Final = "گفتگو پایان یابد و از کاربر نظرسنجی شود؟"
READ_ONLY: Final = "این گفتگو فقط برای مشاهده است."
SENDER_USER: Final = "کاربر"
SENDER_AGENT: Final = "کارشناس"
SENDER_BOT: Final = "دستیار"
DELIVERY: Final = {
    "pending": "در صف ارسال",
    "sent": "رسید",
    "failed": "نرسید",
    # A notice (services.notices) held by the quiet hours, or switched off by the user.
    "waiting": "پس از ساعت‌های سکوت فرستاده می‌شود",
    "off": "فرستاده نشد؛ کاربر این اعلان را خاموش کرده است",
}
PHOTO: Final = "عکس"
DOCUMENT: Final = "سند"
FILE_UNAVAILABLE: Final = "(فایل در دسترس نیست)"
DOWNLOAD: Final = "دریافت"
EVENTS: Final = {
    "queued": "کاربر در صف انتظار قرار گرفت.",
    "taken": "{agent} گفتگو را پذیرفت.",
    "picked": "{agent} گفتگو را آغاز کرد.",
    "transferred": "گفتگو به {text} سپرده شد.",
    "requeued": "گفتگو به صف بازگشت.",
    "resolved": "{agent} گفتگو را پایان داد.",
    "user_left": "کاربر به ربات بازگشت و گفتگو بسته شد.",
    "rated": "کاربر به این گفتگو امتیاز {text} از ۵ داد.",
}
RATING: Final = "امتیاز رضایت: {rating} از ۵"
LIVE_HINT: Final = "پیام‌های تازه خودکار نمایش داده می‌شوند."
STATUS_CHANGED: Final = "وضعیت این گفتگو تغییر کرده است؛ صفحه را تازه کنید."

# --- flash messages after actions ------------------------------------------------------------
TAKEN_OK: Final = "گفتگو به شما سپرده شد."
REPLY_OK: Final = "پاسخ در صف ارسال قرار گرفت."
NOTE_OK: Final = "یادداشت ثبت شد."
LABEL_OK: Final = "برچسب‌ها به‌روز شد."
TRANSFER_OK: Final = "گفتگو سپرده شد."
REQUEUE_OK: Final = "گفتگو به صف بازگشت."
RESOLVE_OK: Final = "گفتگو پایان یافت و پرسش رضایت برای کاربر فرستاده شد."
TICKET_ANSWER_OK: Final = "پاسخ ثبت شد و با کد رهگیری برای کاربر فرستاده می‌شود."
TICKET_CLOSE_OK: Final = "درخواست بسته شد."
TICKET_CHAT_OK: Final = "گفتگو با کاربر آغاز شد."
SAVED: Final = "ذخیره شد."
DELETED: Final = "حذف شد."
AVAILABILITY_OK: Final = "وضعیت شما به‌روز شد."

# --- tickets ---------------------------------------------------------------------------------
TICKETS_TITLE: Final = "درخواست‌ها و شکایت‌های ۱۴۲۰"
TICKETS_EMPTY: Final = "درخواستی با این مشخصات نیست."
TICKET_TITLE: Final = "درخواست {code}"
COL_CODE: Final = "کد رهگیری"
COL_CATEGORY: Final = "موضوع"
COL_DUE: Final = "مهلت پاسخ"
COL_CREATED: Final = "تاریخ ثبت"
COL_TEXT: Final = "شرح"
CATEGORIES: Final = {"insurance": "امور بیمه‌ای", "medical": "امور درمانی", "other": "سایر موارد"}
TICKET_STATUSES: Final = {
    "open": "باز",
    "in_progress": "در حال بررسی",
    "answered": "پاسخ داده شده",
    "closed": "بسته",
}
DUE_FILTERS: Final = {
    "overdue": "گذشته از مهلت",
    "today": "مهلت امروز",
    "week": "مهلت تا یک هفته",
}
DUE_CLASSES: Final = {
    "overdue": "گذشته از مهلت",
    "due_today": "مهلت امروز",
    "on_time": "در مهلت",
    "done": "پاسخ داده شده",
}
SLA_HINT: Final = (
    "هدف پاسخ‌گویی: امور بیمه‌ای ۳ روز، امور درمانی ۷ روز و هیچ درخواستی بیش از ۱۰ روز کاری."
)
TICKET_TEXT: Final = "شرح درخواست"
TICKET_ANSWER: Final = "پاسخ"
TICKET_ANSWER_HINT: Final = "پاسخ با کد رهگیری در پیام‌رسان برای کاربر فرستاده می‌شود."
TICKET_ANSWER_SUBMIT: Final = "ثبت و ارسال پاسخ"
TICKET_CLOSE: Final = "بستن درخواست"
TICKET_START_CHAT: Final = "گفتگو با کاربر"
TICKET_HISTORY: Final = "سابقهٔ درخواست"
TICKET_ATTACHMENTS: Final = "پیوست‌ها: {count} فایل"
TICKET_FROM_ESCALATION: Final = "این درخواست از یک ارجاع به کارشناس ساخته شده است."
TICKET_DELIVERIES: Final = "ارسال پاسخ به کاربر"
TICKET_EVENT_KINDS: Final = {"created": "ثبت", "status": "تغییر وضعیت", "note": "یادداشت"}

# --- dashboard -------------------------------------------------------------------------------
DASHBOARD_TITLE: Final = "داشبورد سرپرست"
KPI_QUEUE: Final = "در صف انتظار"
KPI_OLDEST: Final = "قدیمی‌ترین انتظار"
KPI_OPEN: Final = "گفتگوهای باز"
KPI_ONLINE: Final = "کارشناسان آماده"
KPI_AVG_WAIT: Final = "میانگین انتظار امروز"
KPI_RESOLVED: Final = "گفتگوهای پایان‌یافتهٔ امروز"
KPI_TICKETS_RESOLVED: Final = "درخواست‌های پاسخ‌داده‌شدهٔ امروز"
KPI_TICKETS_OPEN: Final = "درخواست‌های باز"
KPI_TICKETS_OVERDUE: Final = "درخواست‌های گذشته از مهلت"
KPI_SATISFACTION: Final = "میانگین رضایت ({days} روز اخیر)"
KPI_SATISFACTION_COUNT: Final = "از {count} نظر"
KPI_FALLBACK: Final = "نرخ نافهمیدن ربات ({days} روز اخیر)"
CHART_MESSAGES: Final = "پیام‌ها در {days} روز اخیر"
CHART_LEGEND_UNDERSTOOD: Final = "فهمیده‌شده"
CHART_LEGEND_FALLBACK: Final = "نافهمیده"
CHART_LEGEND_RATE: Final = "نرخ نافهمیدن (خط)"
CHART_INTENTS: Final = "پرتکرارترین درخواست‌ها"
CHART_EMPTY: Final = "هنوز پیامی ثبت نشده است."
NONE: Final = "—"

INTENTS: Final = {
    "check_eligibility": "استعلام استحقاق درمان",
    "last_contribution": "آخرین سابقه",
    "insurance_record": "سابقهٔ کل",
    "add_dependent": "افراد تحت تکفل",
    "file_complaint": "ثبت شکایت",
    "track_ticket": "پیگیری درخواست",
    "pension_slip": "فیش مستمری",
    "human_agent": "گفتگو با کارشناس",
    "voluntary_insurance": "بیمهٔ اختیاری",
    "eservices_registration": "ثبت‌نام در سامانه",
    "booklet_renewal": "تمدید دفترچه",
    "contact_info": "راه‌های ارتباطی",
    "greet": "سلام",
    "goodbye": "خداحافظی",
    "thanks": "تشکر",
    "help": "راهنما",
    "affirm": "تأیید",
    "deny": "رد",
    "out_of_scope": "خارج از موضوع",
}

# --- settings (supervisors) ------------------------------------------------------------------
SETTINGS_TITLE: Final = "تنظیمات"
CANNED_TITLE: Final = "پاسخ‌های آماده"
CANNED_SHORT_CODE: Final = "کد کوتاه (لاتین)"
CANNED_TITLE_FIELD: Final = "عنوان"
CANNED_TEXT: Final = "متن پاسخ"
CANNED_EMPTY: Final = "پاسخ آماده‌ای تعریف نشده است."
SAVE: Final = "ذخیره"
DELETE: Final = "حذف"
EDIT: Final = "ویرایش"
LABELS_TITLE: Final = "برچسب‌ها"
LABEL_NAME: Final = "نام برچسب"
AGENTS_TITLE: Final = "کارشناسان"
AGENT_ONLINE: Final = "آماده"
AGENT_OFFLINE: Final = "غایب"
AGENT_DISABLED: Final = "غیرفعال"
AGENT_USERNAME: Final = "نام کاربری"
AGENT_NAME: Final = "نام نمایشی"
AGENT_ROLE: Final = "نقش"
AGENT_PASSWORD: Final = "گذرواژهٔ آغازین (دست‌کم ۱۲ نویسه)"
AGENT_ADD: Final = "افزودن کارشناس"
AGENT_DISABLE: Final = "غیرفعال کردن"
AGENT_ENABLE: Final = "فعال کردن"
AGENT_LAST_SEEN: Final = "آخرین حضور"
ROLES: Final = {"agent": ROLE_AGENT, "supervisor": ROLE_SUPERVISOR}
AUDIT_LINK: Final = "گزارش ممیزی"
AUDIT_TITLE: Final = "گزارش ممیزی (۳۰۰ کار آخر)"
AUDIT_AT: Final = "زمان"
AUDIT_ACTOR: Final = "انجام‌دهنده"
AUDIT_ACTION: Final = "کار"
AUDIT_SUBJECT: Final = "موضوع"

# --- errors ----------------------------------------------------------------------------------
ERROR_TITLE: Final = "کار انجام نشد"
BACK: Final = "بازگشت"
CSRF_FAILED: Final = (
    "این فرم منقضی شده یا از جای دیگری فرستاده شده است. لطفاً صفحه را تازه کنید و دوباره بفرستید."
)
FORBIDDEN: Final = "شما اجازهٔ دیدن یا انجام این کار را ندارید."
NOT_FOUND: Final = "صفحه یا موردی که خواستید پیدا نشد."
SUPERVISORS_ONLY: Final = "این بخش فقط برای سرپرستان است."
DOMAIN_ERRORS: Final = {
    "conversation_not_found": "این گفتگو پیدا نشد.",
    "not_allowed": FORBIDDEN,
    "invalid_conversation_state": "این کار در وضعیت کنونی گفتگو («{state}») شدنی نیست.",
    "invalid_text": "متن خالی است یا از اندازهٔ مجاز ({limit} نویسه) بلندتر است.",
    "invalid_label": "برچسب درست نیست.",
    "invalid_canned_reply": "پاسخ آماده درست نیست: کد کوتاه لاتین و یکتا، عنوان و متن لازم است.",
    "no_chat_for_ticket": "این کاربر گفتگویی در پیام‌رسان ندارد که بتوان برایش پیام فرستاد.",
    "ticket_not_found": "درخواستی با این کد رهگیری پیدا نشد.",
    "invalid_ticket_text": "متن پاسخ خالی است یا بیش از اندازه بلند است.",
    "invalid_ticket_transition": "این کار در وضعیت کنونی درخواست شدنی نیست.",
    "agent_exists": "این نام کاربری پیش‌تر ثبت شده است.",
    "invalid_agent_data": "اطلاعات کارشناس درست نیست (نام کاربری لاتین، گذرواژهٔ دست‌کم ۱۲ نویسه).",
    "agent_not_found": "این کارشناس پیدا نشد.",
}
GENERIC_ERROR: Final = "کار انجام نشد. لطفاً دوباره تلاش کنید."
MINUTES: Final = "{n} دقیقه"
HOURS_MINUTES: Final = "{h} ساعت و {m} دقیقه"
DAYS_HOURS: Final = "{d} روز و {h} ساعت"
LESS_THAN_MINUTE: Final = "کمتر از یک دقیقه"

# --- knowledge base (issue 16: console/routes/knowledge.py) ------------------------------------
NAV_KNOWLEDGE: Final = "پایگاه دانش"
KB_TITLE: Final = "پایگاه دانش"
KB_FEEDBACK_TITLE: Final = "پرسش‌های بی‌پاسخ و بازخورد منفی"
KB_FEEDBACK_LINK: Final = "پرسش‌های بی‌پاسخ"
KB_NEW: Final = "مدخل تازه"
KB_ALL: Final = "همه"
KB_STATUSES: Final = {"draft": "پیش‌نویس", "approved": "تأییدشده", "retired": "بازنشسته"}
KB_COUNTS: Final = "تأییدشده: {approved} · پیش‌نویس: {draft} · بازنشسته: {retired}"
KB_SEARCH: Final = "جستجو در شناسه و عنوان"
KB_FILTER: Final = "نمایش"
KB_COL_ID: Final = "شناسه"
KB_COL_TITLE: Final = "عنوان"
KB_COL_STATUS: Final = "وضعیت"
KB_COL_REVIEW: Final = "بازبینی تا"
KB_COL_ORIGIN: Final = "نسخه"
KB_EDITED: Final = "ویرایش‌شده در پیشخوان"
KB_FROM_FILE: Final = "پرونده"
KB_EMPTY: Final = "مدخلی با این ویژگی‌ها نیست."
KB_EDIT_TITLE: Final = "ویرایش مدخل {id}"
KB_NEW_TITLE: Final = "مدخل تازه"
KB_FIELD_LABELS: Final = {
    "id": "شناسه (لاتین کوچک با خط تیره)",
    "title": "عنوان",
    "status": "وضعیت",
    "tags": "برچسب‌ها (با ویرگول جدا کنید)",
    "questions": "پرسش‌ها (هر خط یک شیوهٔ پرسیدن)",
    "answer": "پاسخ کوتاه (با خود واقعیت آغاز شود)",
    "more": "توضیح بیشتر (پشت دکمهٔ «بیشتر»)",
    "source.title": "عنوان منبع",
    "source.clause": "بند منبع",
    "source.date": "تاریخ منبع (سال، سال-ماه یا سال-ماه-روز)",
    "source.url": "نشانی منبع",
    "valid_from": "معتبر از (میلادی، سال-ماه-روز)",
    "review_by": "بازبینی تا (میلادی، سال-ماه-روز)",
    "uncertain": "رقم یا حکم قطعی نیست",
}
KB_INVALID: Final = "مدخل ذخیره نشد. این بخش‌ها را بررسی کنید: {fields}"
KB_SAVED: Final = "مدخل ذخیره شد و تا چند ثانیهٔ دیگر در پاسخ‌های دستیار به کار می‌رود."
KB_APPROVE: Final = "تأیید"
KB_RETIRE: Final = "بازنشسته کردن"
KB_RESTORE: Final = "بازگرداندن به پیش‌نویس"
KB_STATUS_CHANGED: Final = "وضعیت مدخل به «{status}» تغییر کرد."
KB_SOURCE_OF: Final = "منبع: {title}، {clause} ({date})"
KB_COL_QUESTION: Final = "پرسش"
KB_COL_COUNT: Final = "تعداد"
KB_COL_KINDS: Final = "نوع"
KB_KINDS: Final = {"unanswered": "بی‌پاسخ", "down": "👎", "up": "👍"}
KB_EXAMPLES: Final = "نمونه‌ها"
KB_ADD_TO: Final = "افزودن به پرسش‌های مدخل"
KB_ADD: Final = "افزودن"
KB_DISMISS: Final = "کنار گذاشتن"
KB_VARIANT_ADDED: Final = "پرسش به مدخل «{id}» افزوده شد."
KB_DISMISSED: Final = "پرسش‌ها از فهرست کنار رفتند."
KB_FEEDBACK_EMPTY: Final = "پرسش بی‌پاسخ یا بازخورد منفی‌ای ثبت نشده است."
DOMAIN_ERRORS["kb_entry_not_found"] = "مدخلی با این شناسه پیدا نشد."
DOMAIN_ERRORS["kb_entry_invalid"] = "مدخل درست نیست؛ لطفاً بخش‌های آن را بررسی کنید."

# --- dependant requests desk, search, attachments (issue 18: console/routes/requests.py) -----
NAV_REQUESTS: Final = "درخواست‌های تکفل"
NAV_SEARCH: Final = "جستجو"
SEARCH_PLACEHOLDER: Final = "کد رهگیری، کد ملی، موبایل یا متن"
SEARCH_TITLE: Final = "جستجوی درخواست‌ها"
SEARCH_HINT: Final = (
    "کد رهگیری را با هر رقمی، با خط تیره یا بی آن بنویسید؛ جستجو با کد ملی یا موبایل "
    "(کامل یا پوشیده مانند ۰۹۱۲***۴۵۶۷) در گزارش ممیزی ثبت می‌شود."
)
SEARCH_KINDS: Final = {
    "code": "کد رهگیری",
    "national_id": "کد ملی (ثبت در گزارش ممیزی)",
    "mobile": "شمارهٔ موبایل (ثبت در گزارش ممیزی)",
    "text": "متن",
    "empty": "",
}
SEARCH_BY: Final = "جستجو بر پایهٔ: {kind}"
SEARCH_EMPTY: Final = "چیزی پیدا نشد."
SEARCH_TICKETS: Final = "درخواست‌های ۱۴۲۰"
SEARCH_REQUESTS: Final = "درخواست‌های افزودن افراد تحت تکفل"
REQUESTS_TITLE: Final = "درخواست‌های افزودن افراد تحت تکفل"
REQUESTS_HINT: Final = (
    "درخواست‌هایی که کاربران در گفتگو ثبت کرده‌اند؛ با تأیید، فرد از تاریخ تصمیم در فهرست "
    "افراد تحت تکفل بیمه‌شده قرار می‌گیرد و نتیجه با کد رهگیری برای کاربر فرستاده می‌شود."
)
REQUESTS_EMPTY: Final = "درخواستی با این ویژگی‌ها نیست."
REQUEST_TITLE: Final = "درخواست تکفل {code}"
REQUEST_STATUSES: Final = {
    "under_branch_review": "در انتظار بررسی",
    "approved": "تأییدشده",
    "rejected": "ردشده",
}
RELATIONS: Final = {
    "wife": "همسر (زن)",
    "husband": "همسر (شوهر)",
    "son": "پسر",
    "daughter": "دختر",
    "father": "پدر",
    "mother": "مادر",
}
REJECT_REASONS: Final = {
    "documents_missing": "مدارک ناقص یا ناخوانا",
    "conditions_not_met": "شرایط تکفل برقرار نیست",
    "registry_mismatch": "ناهمخوانی با ثبت احوال",
    "covered_elsewhere": "بیمهٔ درمانی دیگری دارد",
    "not_first_degree": "بستگی درجهٔ یک نیست",
    "other": "دلیل دیگر (در توضیح)",
}
ASSIGNED_FILTERS: Final = {
    "mine": "روی میز من",
    "unassigned": "بی‌کارشناس",
    "others": "نزد کارشناسان دیگر",
}
COL_RELATION: Final = "نسبت"
COL_INSURED: Final = "کد ملی بیمه‌شده"
COL_DEPENDANT: Final = "کد ملی فرد"
COL_ASSIGNED: Final = "کارشناس"
COL_DOCUMENTS: Final = "مدارک"
COL_REJECT_REASON: Final = "دلیل رد"
DATE_FROM: Final = "از تاریخ"
DATE_TO: Final = "تا تاریخ"
DATE_HINT: Final = "۱۴۰۵/۰۹/۱۵"
REQUEST_INSURED: Final = "بیمه‌شدهٔ اصلی"
REQUEST_DEPENDANT: Final = "فرد درخواستی"
REQUEST_BIRTH_DATE: Final = "تاریخ تولد"
REQUEST_FILED: Final = "ثبت درخواست"
REQUEST_AGE: Final = "{years} سال تمام"
REQUEST_DECISION: Final = "تصمیم"
REQUEST_DECIDED_BY: Final = "{at} به دست {actor}"
REQUEST_NOTE: Final = "توضیح"
REQUEST_DOCUMENTS: Final = "مدارک فرستاده‌شده"
REQUEST_NO_DOCUMENTS: Final = "کاربر مدرکی همراه این درخواست نفرستاده است."
REQUEST_TAKE: Final = "برداشتن روی میز من"
REQUEST_TAKEN_BY: Final = "روی میز {name}"
REQUEST_TAKEN_OK: Final = "درخواست روی میز شما قرار گرفت."
REQUEST_APPROVE: Final = "تأیید و افزودن به افراد تحت تکفل"
REQUEST_APPROVE_HINT: Final = (
    "نام و نام خانوادگی را همان‌گونه که در شناسنامه و ثبت احوال آمده بنویسید. پوشش درمانی از "
    "امروز و تا پایان اعتبار بیمه‌شدهٔ اصلی برقرار می‌شود."
)
REQUEST_FIRST_NAME: Final = "نام"
REQUEST_LAST_NAME: Final = "نام خانوادگی"
REQUEST_REJECT: Final = "رد درخواست"
REQUEST_REJECT_REASON: Final = "دلیل رد"
REQUEST_REJECT_NOTE: Final = "توضیح برای کاربر (برای «دلیل دیگر» لازم است)"
REQUEST_APPROVED_OK: Final = "درخواست تأیید شد و نتیجه با کد رهگیری برای کاربر فرستاده می‌شود."
REQUEST_REJECTED_OK: Final = "درخواست رد شد و نتیجه با کد رهگیری برای کاربر فرستاده می‌شود."
# When the user switched the request_decided notice off in /settings (services.notices).
REQUEST_APPROVED_SILENT: Final = (
    "درخواست تأیید شد. کاربر اعلان نتیجهٔ درخواست‌ها را خاموش کرده است و پیامی برایش فرستاده نمی‌شود."
)
REQUEST_REJECTED_SILENT: Final = (
    "درخواست رد شد. کاربر اعلان نتیجهٔ درخواست‌ها را خاموش کرده است و پیامی برایش فرستاده نمی‌شود."
)
REQUEST_REASON_REQUIRED: Final = "لطفاً دلیل رد را از فهرست برگزینید."
REQUEST_DELIVERIES: Final = "پیام به کاربر"
OPEN_FULL: Final = "اندازهٔ کامل"
ATTACHMENTS_TITLE: Final = "پیوست‌ها"
DOMAIN_ERRORS["dependant_request_not_found"] = "درخواستی با این کد رهگیری پیدا نشد."
DOMAIN_ERRORS["dependant_request_decided"] = "دربارهٔ این درخواست پیش‌تر تصمیم گرفته شده است."
DOMAIN_ERRORS["invalid_decision"] = (
    "تصمیم کامل نیست: برای تأیید نام و نام خانوادگی، و برای «دلیل دیگر» توضیح لازم است."
)
DOMAIN_ERRORS["already_dependant"] = "این فرد هم‌اکنون در فهرست افراد تحت تکفل بیمه‌شده است."
DOMAIN_ERRORS["person_not_found"] = "بیمه‌شدهٔ این درخواست در سامانه پیدا نشد."

# --- the audit log in Persian (issue 18) ------------------------------------------------------
AUDIT_EMPTY: Final = "کاری با این ویژگی‌ها ثبت نشده است."
AUDIT_FAMILIES: Final = {
    "agent": "حساب کارشناسان",
    "canned": "پاسخ‌های آماده",
    "conversation": "گفتگوها",
    "dependants": "درخواست‌های تکفل",
    "desk": "جستجو با کد ملی یا موبایل",
    "handoff": "ارجاع به کارشناس",
    "identity": "احراز هویت کاربران",
    "label": "برچسب‌ها",
    "ticket": "درخواست‌های ۱۴۲۰",
    "tickets": "وضعیت درخواست‌های ۱۴۲۰",
}
AUDIT_ACTIONS: Final = {
    "agent.available": "تغییر وضعیت آمادگی",
    "agent.create": "ساخت حساب کارشناس",
    "agent.enable": "فعال یا غیرفعال کردن کارشناس",
    "agent.login": "ورود به میز کار",
    "agent.login_failed": "ورود ناموفق",
    "agent.logout": "خروج از میز کار",
    "agent.password": "تغییر گذرواژه",
    "canned.delete": "حذف پاسخ آماده",
    "canned.save": "ذخیرهٔ پاسخ آماده",
    "conversation.label_add": "افزودن برچسب به گفتگو",
    "conversation.note": "یادداشت روی گفتگو",
    "conversation.open_attachment": "باز کردن پیوست گفتگو",
    "conversation.reply": "پاسخ به کاربر",
    "conversation.resolve": "پایان گفتگو",
    "conversation.reveal_identity": "نمایش کامل هویت در گفتگو",
    "conversation.start": "آغاز گفتگو با کاربر",
    "conversation.take": "برداشتن گفتگو از صف",
    "conversation.transfer": "سپردن گفتگو",
    "dependants.application": "ثبت درخواست تکفل به دست کاربر",
    "dependants.approve": "تأیید درخواست تکفل",
    "dependants.assign": "برداشتن درخواست تکفل",
    "dependants.open_document": "باز کردن مدرک درخواست تکفل",
    "dependants.reject": "رد درخواست تکفل",
    "dependants.reveal_identity": "نمایش کامل هویت در درخواست تکفل",
    "desk.search_mobile": "جستجو با شمارهٔ موبایل",
    "desk.search_national_id": "جستجو با کد ملی",
    "handoff.queued": "ورود کاربر به صف",
    "handoff.rated": "امتیاز کاربر به گفتگو",
    "handoff.ticketed": "ثبت درخواست ۱۴۲۰ به جای گفتگو",
    "handoff.user_left": "ترک گفتگو به دست کاربر",
    "identity.locked": "قفل احراز هویت پس از تلاش‌های نادرست",
    "identity.logout": "خروج کاربر از حساب",
    "identity.unverified_by_new_contact": "لغو احراز با شمارهٔ تازه",
    "identity.verified": "احراز هویت کاربر",
    "kb_entry_created": "ساخت مدخل پایگاه دانش",
    "kb_feedback_dismissed": "کنار گذاشتن بازخورد",
    "kb_variant_added": "افزودن پرسش به مدخل",
    "label.create": "ساخت برچسب",
    "label.delete": "حذف برچسب",
    "ticket.open_attachment": "باز کردن پیوست درخواست ۱۴۲۰",
    "ticket.reveal_identity": "نمایش کامل هویت در درخواست ۱۴۲۰",
    "tickets.status": "تغییر وضعیت درخواست ۱۴۲۰",
}


def audit_actor(actor: str) -> str:
    """«کارشناس sara», «کاربر گفتگو ۱۲», «سامانه»: who did it, in Persian."""
    kind, _, rest = actor.partition(":")
    if kind == "agent":
        return f"کارشناس {rest}"
    if kind == "chat_user":
        return f"کاربر گفتگو {rest}".translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    if kind == "chat":
        return "کاربر در " + {"telegram": "تلگرام", "bale": "بله"}.get(rest, rest)
    return {"console": "میز کار", "demo-data": "دادهٔ نمایشی"}.get(actor, actor)


# --- agent comfort (issue 18) -----------------------------------------------------------------
ALERTS_ENABLE: Final = "🔔 اعلان گفتگوی تازه"
ALERTS_HINT: Final = "با گفتگوی تازه در صف، صدایی پخش و اعلانی در مرورگر نشان داده می‌شود."
ALERT_NEW_CHAT: Final = "گفتگوی تازه در صف انتظار"
SHORTCUTS_HINT: Final = (
    "میان‌برها: Ctrl+Enter فرستادن، Alt+R رفتن به کادر پاسخ، Alt+۱ تا Alt+۹ پاسخ آمادهٔ "
    "شمارهٔ ۱ تا ۹، «/» جستجو"
)
