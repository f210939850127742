"""Scripted dialogues with the real ``tamin-bot run`` process over real HTTP, as a user sees them.

Every persona of the foundation issue and every feature of the bot issue: verification,
refusals and mismatches, eligibility with dependants, one relative, records, the dependant
request, a complaint with a photo and its tracking, the pension slip, the voluntary estimate,
the fallback and a human request; on Telegram and, for a dialogue, on Bale too. Each test is a
fresh sandbox user, so tests do not depend on one another.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import pytest

from sandbox import SandboxClient
from sandbox.client import Reaction
from tests.e2e.conftest import HASSAN, MARYAM, NOBODY_MOBILE, REZA, ZAHRA

pytestmark = pytest.mark.e2e

PERSIAN_TICKET_CODE = re.compile(r"۱۴۲۰-[۰-۹]{6}")
JALALI_DATE = re.compile(
    r"[۰-۹]{1,2} (فروردین|اردیبهشت|خرداد|تیر|مرداد|شهریور|مهر|آبان|آذر|دی|بهمن|اسفند) [۰-۹]{4}"
)
HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?>")
ASCII_DIGIT = re.compile(r"[0-9]")

BTN_SHARE_CONTACT = "📱 ارسال شمارهٔ همراه من"
BTN_YES = "✅ بله، ثبت شود"
BTN_START_DEPENDANT_REQUEST = "📝 ثبت درخواست افزودن"
BTN_VOLUNTARY_ESTIMATE = "🧮 محاسبهٔ حق بیمهٔ ماهانه"
BTN_HUMAN = "🙋 گفتگو با کارشناس ۱۴۲۰"
BTN_INSURANCE = "🗂 امور بیمه‌ای"


def persian(digits: str) -> str:
    return digits.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


def no_ascii_digits(text: str) -> bool:
    return not ASCII_DIGIT.search(re.sub(r"https?://\S+", "", text))


@dataclass
class Chat:
    """One private chat of a fresh sandbox user with one of the product's bots."""

    client: SandboxClient
    uid: int
    bot: str

    async def say(self, text: str) -> Reaction:
        return await self.client.say(self.uid, text, bot=self.bot)

    async def command(self, command: str) -> Reaction:
        action = await self.client.send_command(self.uid, command, bot=self.bot)
        return await self.client.reaction(self.uid, action, self.bot)

    async def tap(self, text: str) -> Reaction:
        return await self.client.tap(self.uid, text, bot=self.bot)

    async def contact(
        self, mobile: str, *, own: bool = True, owner: int | None = None
    ) -> Reaction:
        return await self.client.share_contact(
            self.uid, mobile, own=own, contact_user_id=owner, bot=self.bot
        )

    async def everything(self) -> str:
        messages = await self.client.messages(self.uid, bot=self.bot)
        shown = "\n".join(m.get("rendered_text") or "" for m in messages)
        return shown.translate(dict.fromkeys(range(0x2066, 0x206A)))  # invisible isolates

    async def wait_for(self, needle: str, timeout_s: float = 15.0) -> str:
        """Everything the bot wrote, once ``needle`` appears in it (a reply may trail quiet)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        text = ""
        while loop.time() < deadline:
            text = await self.everything()
            if needle in text:
                return text
            await asyncio.sleep(0.05)
        raise AssertionError(f"«{needle}» never appeared; the chat so far:\n{text}")

    async def verify(self, persona: tuple[str, str], *, persian_digits: bool = True) -> str:
        national_id, mobile = persona
        shared = await self.contact(mobile)
        assert "کد ملی" in shared.text, shared.text
        answer = await self.say(persian(national_id) if persian_digits else national_id)
        assert "هویت شما تأیید شد" in answer.text, answer.text
        return answer.text


async def new_chat(client: SandboxClient, name: str = "کاربر", bot: str = "telegram") -> Chat:
    user = await client.create_user(name)
    return Chat(client, int(user["id"]), bot)


async def verified_chat(
    client: SandboxClient, persona: tuple[str, str], name: str, bot: str = "telegram"
) -> Chat:
    chat = await new_chat(client, name, bot)
    await chat.verify(persona)
    return chat


# --- verification --------------------------------------------------------------------------


async def test_start_offers_the_contact_button(client: SandboxClient) -> None:
    chat = await new_chat(client, "مریم")
    start = await chat.command("start")
    assert "به دستیار تأمین اجتماعی خوش آمدید" in start.text
    keyboard = await client.keyboard(chat.uid, bot=chat.bot)
    assert keyboard is not None
    buttons = [b for row in keyboard["markup"]["keyboard"] for b in row]
    assert any(b.get("request_contact") and b["text"] == BTN_SHARE_CONTACT for b in buttons)


@pytest.mark.parametrize(
    ("persona", "name", "greeting"),
    [
        (MARYAM, "مریم", "مریم"),
        (REZA, "رضا", "رضا"),
        (HASSAN, "حسن", "حسن"),
        (ZAHRA, "زهرا", "زهرا"),
    ],
    ids=["maryam", "reza", "hassan", "zahra"],
)
async def test_each_persona_verifies_with_persian_digits(
    client: SandboxClient, persona: tuple[str, str], name: str, greeting: str
) -> None:
    chat = await new_chat(client, name)
    await chat.command("start")
    # The contact button of the reply keyboard, as the person presses it.
    action = await client.press_reply_button(
        chat.uid, BTN_SHARE_CONTACT, phone_number=persona[1], bot=chat.bot
    )
    shared = await client.reaction(chat.uid, action, chat.bot)
    assert "کد ملی" in shared.text
    answer = await chat.say(persian(persona[0]))
    assert "هویت شما تأیید شد" in answer.text
    assert greeting in answer.text


async def test_someone_elses_contact_is_refused(client: SandboxClient) -> None:
    chat = await new_chat(client)
    other = await client.create_user("دیگری")
    refused = await chat.contact(MARYAM[1], own=False, owner=int(other["id"]))
    assert "متعلق به حساب خود شما نیست" in refused.text
    # Nothing was kept: her national ID now does not verify this chat.
    answer = await chat.say(persian(MARYAM[0]))
    assert "هویت شما تأیید شد" not in answer.text


async def test_a_mobile_registered_for_nobody_is_refused(client: SandboxClient) -> None:
    chat = await new_chat(client)
    await chat.contact(NOBODY_MOBILE)
    answer = await chat.say(persian(MARYAM[0]))
    assert "به نام هیچ بیمه‌شده‌ای ثبت نشده" in answer.text
    assert "شعب تأمین اجتماعی" in answer.text
    assert "هویت شما تأیید شد" not in answer.text


async def test_a_national_id_of_someone_else_is_a_mismatch(client: SandboxClient) -> None:
    chat = await new_chat(client)
    await chat.contact(MARYAM[1])
    answer = await chat.say(persian(REZA[0]))
    assert "عدم تطابق کد ملی با شماره موبایل" in answer.text
    assert "شعب تأمین اجتماعی مراجعه کنید" in answer.text
    wrong = await chat.say("۱۲۳۴۵۶۷۸۹۰")
    assert "رقم کنترل" in wrong.text


# --- eligibility ---------------------------------------------------------------------------


async def test_maryam_eligibility_with_dependants(client: SandboxClient) -> None:
    chat = await new_chat(client, "مریم")
    asked = await chat.say("استحقاق درمان دارم؟")
    assert "باید هویت شما را تأیید کنم" in asked.text
    await chat.verify(MARYAM)
    # The kept request is answered right after verification, without asking again.
    text = await chat.wait_for("نتیجهٔ استعلام استحقاق درمان")
    answer = text[text.rindex("نتیجهٔ استعلام استحقاق درمان") :]
    blocks = answer.split("👤")[1:]
    assert len(blocks) == 3, answer
    me = next(b for b in blocks if "(خودتان)" in b)
    sara = next(b for b in blocks if "سارا" in b)
    ali = next(b for b in blocks if "علی" in b)
    assert "مریم رضایی" in me and "حمایت درمانی دارد" in me
    assert "حمایت درمانی دارد" in sara
    assert "حمایت درمانی ندارد" in ali
    assert "گواهی" in ali and "شعبه" in ali  # the reason and the next step
    assert "کد رهگیری" in answer
    assert no_ascii_digits(answer)


async def test_a_question_about_my_son(client: SandboxClient) -> None:
    chat = await verified_chat(client, MARYAM, "مریم")
    text = (await chat.say("پسرم حمایت درمانی داره؟")).text
    assert "علی رضایی (پسر)" in text
    assert "حمایت درمانی ندارد" in text
    assert "سارا" not in text and "(خودتان)" not in text
    # «بیمه داره» sits between eligibility and adding a dependant for the NLU: the bot either
    # answers at once or offers both; the eligibility choice answers with the son's status.
    text = await ask_about_my_son(chat)
    assert "علی رضایی (پسر)" in text
    assert "حمایت درمانی ندارد" in text


async def ask_about_my_son(chat: Chat) -> str:
    reaction = await chat.say("پسرم بیمه داره؟")
    if "مطمئن نیستم" in reaction.text:
        choice = next(b for b in reaction.buttons() if "حمایت درمانی" in b)
        reaction = await chat.tap(choice)
    return reaction.text


async def test_my_son_colloquially_answers_for_the_son_alone(client: SandboxClient) -> None:
    chat = await verified_chat(client, MARYAM, "مریم")
    text = await ask_about_my_son(chat)
    assert "علی رضایی (پسر)" in text
    assert "سارا" not in text and "(خودتان)" not in text


async def test_hassan_and_his_wife_are_covered(client: SandboxClient) -> None:
    chat = await verified_chat(client, HASSAN, "حسن")
    text = (await chat.say("استحقاق درمان")).text
    assert text.count("حمایت درمانی دارد") == 2
    assert "فاطمه" in text


async def test_zahra_voluntary_is_covered(client: SandboxClient) -> None:
    chat = await verified_chat(client, ZAHRA, "زهرا")
    text = (await chat.say("🩺 استحقاق درمان")).text
    assert "زهرا حسینی (خودتان)" in text and "حمایت درمانی دارد" in text


# --- records -------------------------------------------------------------------------------


async def test_reza_last_and_total_record(client: SandboxClient) -> None:
    chat = await verified_chat(client, REZA, "رضا")
    last = (await chat.say("📄 آخرین سابقه")).text
    assert "۳۶ ماه پیش" in last, last  # last paid three years ago
    assert "ریال" in last and "تومان" in last
    assert no_ascii_digits(last)
    total = (await chat.say("سابقه کل بیمه‌ام چند ساله؟")).text
    assert "سابقهٔ کل شما" in total
    assert re.search(r"سال [۰-۹]{4}:", total)
    assert no_ascii_digits(total)
    eligibility = (await chat.say("استحقاق درمان")).text
    assert "رضا کاظمی (خودتان)" in eligibility
    assert "حمایت درمانی ندارد" in eligibility


async def test_maryam_last_record_is_recent(client: SandboxClient) -> None:
    chat = await verified_chat(client, MARYAM, "مریم")
    last = (await chat.say("📄 آخرین سابقه")).text
    assert "شرکت صنایع غذایی نمونه پارس" in last
    assert no_ascii_digits(last)


# --- dependant request ---------------------------------------------------------------------


async def test_dependant_request_to_a_tracking_code(client: SandboxClient) -> None:
    chat = await new_chat(client, "رضا")
    conditions = (await chat.say("چطوری پسرم رو تحت تکفل اضافه کنم؟")).text
    assert "پسر تا پیش از ۲۰ سالگی" in conditions
    asked = await chat.tap(BTN_START_DEPENDANT_REQUEST)
    assert "باید هویت شما را تأیید کنم" in asked.text
    await chat.contact(REZA[1])
    await chat.say(persian(REZA[0]))
    await chat.wait_for("کد ملی ده‌رقمی پسر")
    birth = await chat.say("۰۴۹۹۳۷۰۸۹۹")
    assert "تاریخ تولد پسر" in birth.text
    summary = (await chat.say("۱۳۹۵/۰۲/۱۰")).text
    assert "کد ملی: ۰۴۹۹۳۷۰۸۹۹" in summary and "تاریخ تولد: ۱۳۹۵/۰۲/۱۰" in summary
    done = (await chat.tap(BTN_YES)).text
    assert "درخواست افزودن پسر ثبت شد" in done
    assert re.search(r"کد رهگیری: [۰-۹]{10}", done)
    assert "در حال بررسی در شعبه" in done


# --- complaint ticket and tracking ---------------------------------------------------------


async def test_complaint_with_a_photo_then_tracking_by_code(client: SandboxClient) -> None:
    chat = await verified_chat(client, MARYAM, "مریم")
    start = await chat.say("میخوام شکایت ثبت کنم")
    assert "دربارهٔ کدام موضوع" in start.text
    assert BTN_INSURANCE in start.buttons()
    described = await chat.tap(BTN_INSURANCE)
    assert "شرح شکایت" in described.text
    asked = await chat.say("کارفرمای من حق بیمهٔ سه ماه اخیر را پرداخت نکرده است.")
    assert "عکس یا سندی" in asked.text
    action = await client.send_photo(chat.uid, caption="فیش حقوقی", bot=chat.bot)
    attached = await client.reaction(chat.uid, action, chat.bot)
    assert "پیوست" in attached.text
    assert "پیوست: ۱ فایل" in attached.text
    filed = (await chat.tap(BTN_YES)).text
    assert "شکایت شما در سامانهٔ ۱۴۲۰ ثبت شد" in filed
    match = PERSIAN_TICKET_CODE.search(filed)
    assert match, filed
    assert JALALI_DATE.search(filed), filed  # the due date, in Jalali
    code = match.group(0)
    tracked = (await chat.say(f"وضعیت درخواست {code}")).text
    assert f"درخواست {code}" in tracked
    assert "امور بیمه‌ای" in tracked and "ثبت شده، در نوبت بررسی" in tracked
    assert JALALI_DATE.search(tracked)
    # Someone else cannot look it up.
    other = await new_chat(client)
    assert "پیدا نشد" in (await other.say(f"پیگیری {code}")).text


# --- pension, voluntary --------------------------------------------------------------------


async def test_hassan_pension_slip(client: SandboxClient) -> None:
    chat = await verified_chat(client, HASSAN, "حسن")
    text = (await chat.say("فیش حقوقی")).text
    assert "فیش مستمری" in text
    assert "خالص پرداختی" in text and "ماه‌های اخیر" in text
    assert "ریال" in text
    assert no_ascii_digits(text)
    other = await verified_chat(client, MARYAM, "مریم")
    assert "مستمری‌بگیر نیستید" in (await other.say("💰 فیش مستمری")).text


async def test_zahra_voluntary_estimate_for_a_typed_wage(client: SandboxClient) -> None:
    chat = await verified_chat(client, ZAHRA, "زهرا")
    rules = (await chat.say("بیمه اختیاری")).text
    assert "بیمهٔ اختیاری" in rules and "۲۷ درصد" in rules
    asked = await chat.tap(BTN_VOLUNTARY_ESTIMATE)
    assert "دستمزد مبنای ماهانه" in asked.text
    assert "مبلغ را متوجه نشدم" in (await chat.say("حدودا بیست")).text
    estimate = (await chat.say("۲۰ میلیون تومان")).text
    # 27 % of 200 000 000 Rial.
    assert "۵۴٬۰۰۰٬۰۰۰ ریال (۵٬۴۰۰٬۰۰۰ تومان)" in estimate
    assert "مهلت پرداخت تا" in estimate


# --- information, fallback, human ----------------------------------------------------------


async def test_information_before_verification(client: SandboxClient) -> None:
    chat = await new_chat(client)
    text = (await chat.say("شماره تماس ۱۴۲۰")).text
    assert "راه‌های ارتباط با تأمین اجتماعی" in text
    assert "*۱۴۲۰*۴#" in text
    assert "باید هویت شما را تأیید کنم" not in text


async def test_out_of_scope_and_a_human_request(client: SandboxClient) -> None:
    chat = await new_chat(client)
    assert "از کارهای من بیرون است" in (await chat.say("هوای تهران فردا چطوره؟")).text
    second = await chat.say("قیمت سکه")
    assert BTN_HUMAN in second.buttons()
    sticker = await client.reaction(
        chat.uid, await client.send_media(chat.uid, "sticker", bot=chat.bot), chat.bot
    )
    assert sticker.text and "Traceback" not in sticker.text
    human = (await chat.say("میخوام با اپراتور صحبت کنم")).text
    match = PERSIAN_TICKET_CODE.search(human)
    assert match, human
    tracked = (await chat.say(f"پیگیری {match.group(0)}")).text
    assert "ثبت شده، در نوبت بررسی" in tracked


# --- Bale ----------------------------------------------------------------------------------


async def test_bale_dialogue_shows_no_html(client: SandboxClient) -> None:
    chat = await new_chat(client, "مریم", bot="bale")
    await chat.command("start")
    await chat.say("استحقاق درمان دارم؟")
    await chat.verify(MARYAM)
    text = await chat.wait_for("نتیجهٔ استعلام استحقاق درمان")
    assert "حمایت درمانی دارد" in text and "حمایت درمانی ندارد" in text
    contact = (await chat.say("☎️ راه‌های ارتباطی")).text
    # The USSD code survives Bale's Markdown: its stars are not eaten as bold.
    assert "*۱۴۲۰*۴#" in contact
    messages = await client.messages(chat.uid, bot=chat.bot)
    assert messages
    for message in messages:
        shown = message.get("rendered_text") or ""
        assert not HTML_TAG.search(shown), shown
        assert not message.get("parse_mode"), message
        assert "&lt;" not in shown and "&amp;" not in shown, shown


async def test_platforms_do_not_share_users(client: SandboxClient) -> None:
    telegram = await verified_chat(client, MARYAM, "مریم")
    bale = Chat(client, telegram.uid, "bale")
    asked = await bale.say("استحقاق درمان دارم؟")
    assert "باید هویت شما را تأیید کنم" in asked.text
