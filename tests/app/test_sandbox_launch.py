"""Starting the sandbox for ``tamin-bot run`` when no token is configured."""

from __future__ import annotations

import socket

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from app.run import needs_sandbox
from app.sandbox_launch import sandbox_run_config, start_sandbox_for
from services.settings import SandboxConfig, load_settings


async def test_start_sandbox_for_settings_without_tokens() -> None:
    settings = load_settings(telegram_bot_token=None, bale_bot_token=None)
    assert needs_sandbox(settings)
    assert not needs_sandbox(load_settings(telegram_bot_token="1:abcdefghijklmnop"))
    assert sandbox_run_config(settings).host == "127.0.0.1"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        overridden = settings.model_copy(
            update={
                "config": settings.config.model_copy(
                    update={"sandbox": SandboxConfig(port=taken, bale=True)}
                )
            }
        )
        assert sandbox_run_config(overridden).port == taken
        server, bot_settings = await start_sandbox_for(overridden)
    try:
        assert server.port != taken  # the configured port was busy, so a free one was taken
        env = bot_settings.env
        assert env.telegram_api_base == env.bale_api_base == server.api_base
        assert env.telegram_bot_token is not None and env.bale_bot_token is not None
        for token in (env.telegram_bot_token, env.bale_bot_token):
            bot = Bot(
                token.get_secret_value(),
                session=AiohttpSession(api=TelegramAPIServer.from_base(env.telegram_api_base)),
            )
            try:
                assert (await bot.get_me()).is_bot
            finally:
                await bot.session.close()
    finally:
        await server.stop()
