"""The knowledge base end to end: the real ``tamin-bot run`` process, its sandbox and its console.

A rule question answered before verification; a 👎 reaching the console's list of questions;
an entry edited in the console and served by the running bot without a restart.
"""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from sandbox import SandboxClient
from tests.e2e.conftest import RunningProduct
from tests.e2e.test_dialogues import new_chat

pytestmark = pytest.mark.e2e

SOURCE_LINE = "📄 منبع:"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FIELD = re.compile(r'<input name="([^"]+)"[^>]*value="([^"]*)"')
TEXTAREA = re.compile(r'<textarea name="(\w+)"[^>]*>(.*?)</textarea>', re.S)


class Supervisor:
    """The demo supervisor signed in to the running console over HTTP."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf = ""

    async def get(self, url: str) -> httpx.Response:
        response = await self.client.get(url)
        match = CSRF.search(response.text)
        if match:
            self.csrf = match.group(1)
        return response

    async def post(self, url: str, data: dict[str, str]) -> httpx.Response:
        return await self.client.post(url, data={**data, "csrf_token": self.csrf})


@pytest.fixture
async def supervisor(product: RunningProduct) -> AsyncIterator[Supervisor]:
    assert product.console_url, "tamin-bot run printed no console address"
    async with httpx.AsyncClient(base_url=product.console_url, timeout=20) as client:
        console = Supervisor(client)
        await console.get("/login")
        signed_in = await console.post(
            "/login", {"username": "supervisor", "password": "supervisor-1420-demo"}
        )
        assert signed_in.status_code == 303, signed_in.text
        yield console


async def test_a_rule_question_is_answered_before_verification(client: SandboxClient) -> None:
    chat = await new_chat(client)
    answer = await chat.say("مهلت پرداخت حق بیمه اختیاری چند روزه؟")
    assert SOURCE_LINE in answer.text
    assert "باید هویت شما را تأیید کنم" not in answer.text
    assert {"👍", "👎"} <= set(answer.buttons())


async def test_a_thumbs_down_reaches_the_consoles_list(
    client: SandboxClient, supervisor: Supervisor
) -> None:
    chat = await new_chat(client)
    question = "بیمه بیکاری چند ماه میدن"
    answer = await chat.say(question)
    assert SOURCE_LINE in answer.text
    thanks = await chat.tap("👎")
    assert "بازبینی کارشناسان" in thanks.text
    page = await supervisor.get("/knowledge/feedback")
    assert page.status_code == 200
    assert question in html.unescape(page.text)


async def test_an_entry_edited_in_the_console_is_served_without_a_restart(
    client: SandboxClient, supervisor: Supervisor
) -> None:
    entry_id = "unemployment-amount"
    page = await supervisor.get(f"/knowledge/{entry_id}")
    assert page.status_code == 200
    form = {k: html.unescape(v) for k, v in FIELD.findall(page.text)}
    form.update({k: html.unescape(v) for k, v in TEXTAREA.findall(page.text)})
    form["status"] = "approved"
    if 'name="uncertain" value="1" checked' in page.text:
        form["uncertain"] = "1"
    marker = f"پاسخ ویرایش‌شده در پیشخوان {uuid.uuid4().hex[:6]}"
    form["answer"] = f"{marker}: مقرری بیمه بیکاری بر پایهٔ میانگین دستمزد است."
    saved = await supervisor.post("/knowledge/save", form)
    assert saved.status_code == 303, saved.text
    chat = await new_chat(client)
    # Served within the knowledge section's refresh_seconds (5 s) at most.
    text = ""
    for _ in range(20):
        text = (await chat.say("مقرری بیمه بیکاری چقدره؟")).text
        if marker in text:
            break
        await asyncio.sleep(0.5)
    assert marker in text
