"""Injected failures and flood control: the outbound path must survive 429s like Telegram's."""

from __future__ import annotations

import httpx
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter, TelegramServerError

from sandbox import SandboxClient, SandboxClientError, SandboxServer

from .conftest import TG_TOKEN, UserFactory
from .test_bot_api import raw


async def test_429_for_a_method_a_given_number_of_times(
    sandbox: SandboxServer, tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user()
    fault = await client.add_fault(method="sendMessage", count=2, retry_after=3)
    status, body = await raw(sandbox, "sendMessage", chat_id=user["id"], text="x")
    assert status == 429
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    with pytest.raises(TelegramRetryAfter) as caught:
        await tg_bot.send_message(user["id"], "x")
    assert caught.value.retry_after == 3
    # Other methods were never affected, and the fault is spent after two.
    assert await tg_bot.send_chat_action(user["id"], "typing")
    assert (await tg_bot.send_message(user["id"], "رسید")).text == "رسید"
    faults = await client.faults()
    assert faults[0]["id"] == fault["id"] and faults[0]["fired"] == 2 and faults[0]["exhausted"]
    # A refused call sent nothing to the person.
    assert [m["text"] for m in await client.messages(user["id"])] == ["رسید"]


async def test_429_for_one_chat_only(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    first = await new_user("اول")
    second = await new_user("دوم")
    await client.add_fault(chat_id=first["id"], count=None, retry_after=1)
    with pytest.raises(TelegramRetryAfter):
        await tg_bot.send_message(first["id"], "x")
    with pytest.raises(TelegramRetryAfter):
        await tg_bot.send_chat_action(first["id"], "typing")
    assert await tg_bot.send_message(second["id"], "x")
    await client.clear_faults()
    assert await tg_bot.send_message(first["id"], "x")


async def test_probability_is_repeatable_with_a_seed(
    sandbox: SandboxServer, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user()
    await client.add_fault(method="sendMessage", count=None, probability=0.5)
    url = f"{sandbox.url}/bot{TG_TOKEN}/sendMessage"
    async with httpx.AsyncClient(trust_env=False) as http:
        outcomes = [
            (await http.post(url, json={"chat_id": user["id"], "text": str(n)})).status_code
            for n in range(40)
        ]
    refused = outcomes.count(429)
    assert 8 <= refused <= 32 and outcomes.count(200) == 40 - refused


async def test_other_injected_errors(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user()
    await client.add_fault(method="sendMessage", error_code=502, count=1)
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await tg_bot.send_message(user["id"], "x")
    with pytest.raises(SandboxClientError, match="probability"):
        await client.add_fault(probability=0)


async def test_flood_limits_per_chat(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    first = await new_user("اول")
    second = await new_user("دوم")
    await client.set_flood(per_chat_rate=0.5, per_chat_burst=2, global_rate=100, global_burst=100)
    assert await tg_bot.send_message(first["id"], "۱")
    assert await tg_bot.send_message(first["id"], "۲")
    with pytest.raises(TelegramRetryAfter) as caught:
        await tg_bot.send_message(first["id"], "۳")
    assert caught.value.retry_after >= 1
    assert await tg_bot.send_message(second["id"], "۱")  # another chat has its own bucket
    await client.clear_flood()
    assert await tg_bot.send_message(first["id"], "۳")
