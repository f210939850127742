"""Fixtures for the sandbox's own tests: one sandbox on a free port, real aiogram Bots against it.

The sandbox, the control client and the aiogram ``Bot`` objects live for the whole test session
on one event loop (building and stopping them per test would cost more than the tests); before
each test the sandbox is reset to its first day, bots' webhooks and commands included. The
sandbox hosts one Telegram-flavoured and one Bale-flavoured bot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession

from sandbox import SandboxBot, SandboxClient, SandboxConfig, SandboxServer
from sandbox.echo_bot import run_polling

TG_TOKEN = "4242001:test-telegram-token-aaaaaaaaaaaaaaaa"
BALE_TOKEN = "4242002:test-bale-token-bbbbbbbbbbbbbbbbbbbb"
FIRST_UPDATE_ID = 1000
_HERE = Path(__file__).resolve().parent
_SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run this directory's async tests on the session loop that owns the shared sandbox."""
    for item in items:
        if _HERE in Path(str(item.path)).parents and pytest_asyncio.is_async_test(item):
            item.add_marker(_SESSION_LOOP, append=False)


def sandbox_config(**overrides: Any) -> SandboxConfig:
    values: dict[str, Any] = {
        "bots": (
            SandboxBot(token=TG_TOKEN, platform="telegram", username="tamin_test_bot"),
            SandboxBot(token=BALE_TOKEN, platform="bale", username="tamin_test_bale_bot"),
        ),
        "first_update_id": FIRST_UPDATE_ID,
        "random_seed": 7,
        "webhook_retry_delays_s": (0.02, 0.05),
    }
    values.update(overrides)
    return SandboxConfig(**values)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sandbox() -> AsyncIterator[SandboxServer]:
    server = SandboxServer(sandbox_config())
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(loop_scope="session", autouse=True)
async def _first_day(request: pytest.FixtureRequest) -> None:
    """Every test in this directory starts from an empty sandbox with unconfigured bots."""
    if "sandbox" in request.fixturenames:
        server: SandboxServer = request.getfixturevalue("sandbox")
        server.world.reset(bot_settings=True)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def client(sandbox: SandboxServer) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(sandbox.url, quiet_ms=60) as control:
        yield control


def make_bot(sandbox: SandboxServer, token: str) -> Bot:
    return Bot(token, session=AiohttpSession(api=sandbox.telegram_api_server()))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def tg_bot(sandbox: SandboxServer) -> AsyncIterator[Bot]:
    bot = make_bot(sandbox, TG_TOKEN)
    yield bot
    await bot.session.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def bale_bot(sandbox: SandboxServer) -> AsyncIterator[Bot]:
    bot = make_bot(sandbox, BALE_TOKEN)
    yield bot
    await bot.session.close()


UserFactory = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def new_user(client: SandboxClient) -> UserFactory:
    """Create a user who has already written to the bot(s) (so the bot may write to them)."""

    async def factory(
        first_name: str = "مریم",
        *,
        started: bool = True,
        bots: tuple[str, ...] = (TG_TOKEN,),
        **kw: Any,
    ) -> dict[str, Any]:
        user = await client.create_user(first_name, **kw)
        if started:
            for token in bots:
                await client.send_command(user["id"], "start", bot=token)
        return user

    return factory


@pytest_asyncio.fixture(loop_scope="session")
async def echo_bot(sandbox: SandboxServer) -> AsyncIterator[None]:
    """The minimal aiogram echo bot, polling the sandbox's Telegram-flavoured bot."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_polling(TG_TOKEN, sandbox.url, stop=stop))
    yield
    stop.set()
    await asyncio.wait_for(task, timeout=10)


# --- a browser (Debian's chromium through Playwright) ------------------------------------------
CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest_asyncio.fixture(loop_scope="session")
async def browser_page() -> AsyncIterator[object]:
    if not HAVE_CHROMIUM:
        pytest.skip(
            "Debian's chromium is not installed (/usr/bin/chromium); apt-get install chromium"
        )
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS
        )
        try:
            context = await browser.new_context(
                viewport={"width": 390, "height": 844}, locale="fa-IR"
            )
            yield await context.new_page()
        finally:
            await browser.close()
