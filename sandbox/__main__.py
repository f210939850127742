"""``python -m sandbox`` (or ``tamin-bot sandbox``): serve the sandbox alone and say where it is.

It hosts the demo bots of :func:`sandbox.config.demo_config`; point a bot at the printed API
base with the printed token (a well-known demo token, not a secret). ``--echo`` also runs the
minimal echo bot on the Telegram-flavoured bot, to try the web chat without the assistant.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence

from sandbox.config import demo_config
from sandbox.server import SandboxServer

DEFAULT_PORT = 8081


def port_from_env(default: int = DEFAULT_PORT) -> int:
    """``SANDBOX_PORT``, else ``PORT``, else ``default`` (the ``sandbox`` config section's)."""
    for name in ("SANDBOX_PORT", "PORT"):
        value = os.environ.get(name, "").strip()
        if value:
            return int(value)
    return default


async def start_on_free_port(
    server_of: Callable[[int], SandboxServer], port: int
) -> SandboxServer:
    """Start on ``port``; when it is taken (a second copy on this machine), on a free one."""
    server = server_of(port)
    try:
        await server.start()
    except OSError:
        logging.getLogger(__name__).warning("port %s is taken; using a free port", port)
        print(f"Port {port} is taken: the sandbox takes a free port instead.", flush=True)
        server = server_of(0)
        await server.start()
    return server


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"default: $SANDBOX_PORT, else $PORT, else {DEFAULT_PORT}; a free one if taken",
    )
    parser.add_argument("--echo", action="store_true", help="also run the echo bot against it")
    args = parser.parse_args(argv)
    port = args.port if args.port is not None else port_from_env()

    async def run() -> None:
        server = await start_on_free_port(
            lambda p: SandboxServer(demo_config(), host=args.host, port=p, log_level="warning"),
            port,
        )
        print(f"Sandbox Bot API: {server.api_base}", flush=True)
        for bot in server.world.bots.values():
            print(f"  {bot.platform} demo bot token: {bot.token}", flush=True)
        print(f"Web chat: {server.chat_url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        echo: asyncio.Task[None] | None = None
        if args.echo:
            from sandbox.echo_bot import run_polling

            token = next(b.token for b in server.world.bots.values() if b.platform == "telegram")
            echo = asyncio.create_task(run_polling(token, server.api_base, stop=stop))
        await stop.wait()
        if echo is not None:
            with contextlib.suppress(Exception):
                await echo
        await server.stop()

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
