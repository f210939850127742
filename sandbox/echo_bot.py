"""A minimal aiogram echo bot: the sandbox's own test subject and the benchmark's baseline.

It answers /start, repeats any text, says it received anything else, and ``/button`` shows an
inline button whose press is answered and edits the message (for the web chat's browser test).
Run it against a sandbox with ``python -m sandbox.echo_bot --api-base URL --token TOKEN``
(polling), or add ``--webhook-port N`` for webhook mode.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import signal
import socket
import sys
from collections.abc import Sequence

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

logger = logging.getLogger(__name__)

GREETING = "سلام! هر چه بنویسید، همان را برمی‌گردانم."
RECEIVED = "پیام شما رسید."
BUTTON_PROMPT = "این دکمه را بزنید:"
BUTTON_TEXT = "بزنید"
BUTTON_DATA = "echo:pressed"
BUTTON_ANSWER = "دکمه زده شد."
BUTTON_DONE = "دکمه را زدید."


def build_echo_router() -> Router:
    router = Router(name=__name__)

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        """Greet."""
        await message.answer(GREETING)

    @router.message(Command("button"))
    async def button(message: Message) -> None:
        """Show an inline button."""
        markup = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text=BUTTON_TEXT, callback_data=BUTTON_DATA)]]
        )
        await message.answer(BUTTON_PROMPT, reply_markup=markup)

    @router.message(F.text)
    async def echo(message: Message) -> None:
        """Repeat the text."""
        assert message.text is not None
        await message.answer(message.text)

    @router.message()
    async def anything_else(message: Message) -> None:
        """Acknowledge what is not text."""
        await message.answer(RECEIVED)

    @router.callback_query(F.data == BUTTON_DATA)
    async def pressed(query: CallbackQuery) -> None:
        """Answer the press and edit the message."""
        await query.answer(BUTTON_ANSWER)
        if isinstance(query.message, Message):
            await query.message.edit_text(BUTTON_DONE)

    return router


def build_echo_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher()
    dispatcher.include_router(build_echo_router())
    return dispatcher


def create_echo_bot(token: str, api_base: str) -> Bot:
    """A Bot that talks to the Bot API at ``api_base`` (a sandbox URL)."""
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))


async def run_polling(token: str, api_base: str, *, stop: asyncio.Event | None = None) -> None:
    """Poll until ``stop`` is set (or forever)."""
    bot = create_echo_bot(token, api_base)
    dispatcher = build_echo_dispatcher()
    await bot.delete_webhook()
    polling = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, close_bot_session=True)
    )
    if stop is None:
        await polling
        return
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({polling, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if not polling.done():
        await dispatcher.stop_polling()
        await polling
    stopped.cancel()


async def run_webhook(
    token: str,
    api_base: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve a webhook on ``host:port`` with a random secret token until ``stop`` is set."""
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from aiohttp import web

    bot = create_echo_bot(token, api_base)
    dispatcher = build_echo_dispatcher()
    secret = secrets.token_urlsafe(24)
    app = web.Application()
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot, secret_token=secret).register(
        app, path="/webhook"
    )
    setup_application(app, dispatcher, bot=bot)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    # Bind here so that port 0 yields a free port we can tell the sandbox about.
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only then,
    # and without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    await web.SockSite(runner, sock).start()
    await bot.set_webhook(f"http://{host}:{bound}/webhook", secret_token=secret)
    logger.info("echo bot webhook on port %s", bound)
    try:
        await (stop.wait() if stop is not None else asyncio.Event().wait())
    finally:
        await bot.delete_webhook()
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.echo_bot", description=__doc__)
    parser.add_argument("--api-base", required=True, help="the sandbox URL")
    parser.add_argument("--token", required=True)
    parser.add_argument("--webhook-port", type=int, default=None, help="webhook mode on this port")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if args.webhook_port is None:
            await run_polling(args.token, args.api_base, stop=stop)
        else:
            await run_webhook(args.token, args.api_base, port=args.webhook_port, stop=stop)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
