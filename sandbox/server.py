"""Run the sandbox inside the current event loop, beside the bot or a test session.

``tamin-bot run`` and the tests start a :class:`SandboxServer`, point the bot at ``api_base``
and stop it when done. Uvicorn serves on a socket bound here (port 0 picks a free one), and its
own signal handling is switched off: the process that owns the loop decides when to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn

from sandbox.app import create_sandbox_app
from sandbox.config import SandboxConfig, demo_config
from sandbox.world import SandboxWorld

if TYPE_CHECKING:
    from aiogram.client.telegram import TelegramAPIServer

logger = logging.getLogger(__name__)


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The owner of the event loop handles signals and calls SandboxServer.stop().
        yield


class SandboxServer:
    """The sandbox served over HTTP on ``host:port`` from within the running event loop."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        self.config = config or demo_config()
        self.world = SandboxWorld(self.config)
        self.app = create_sandbox_app(world=self.world)
        self.host = host
        self._requested_port = port
        self.port: int | None = None
        self._log_level = log_level
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8081``; the Bot API lives at ``{url}/bot<token>/``."""
        if self.port is None:
            raise RuntimeError("the sandbox is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """What ``TELEGRAM_API_BASE`` / ``BALE_API_BASE`` should be to use this sandbox."""
        return self.url

    @property
    def chat_url(self) -> str:
        return f"{self.url}/chat"

    def telegram_api_server(self) -> TelegramAPIServer:
        """aiogram's server description for this sandbox (for ``AiohttpSession(api=…)``)."""
        from aiogram.client.telegram import TelegramAPIServer

        return TelegramAPIServer.from_base(self.url)

    async def start(self, startup_s: float = 10.0) -> SandboxServer:
        if self._task is not None:
            raise RuntimeError("the sandbox is already started")
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only then,
        # and without it every keep-alive response waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._requested_port))
        except OSError:
            sock.close()
            raise
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level=self._log_level,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=30,
        )
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="sandbox-http")
        deadline = time.monotonic() + startup_s
        # uvicorn exposes readiness only as a flag, so look at it until it flips (or serve() dies).
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the sandbox server stopped while starting")
            if time.monotonic() > deadline:
                await self.stop()
                raise TimeoutError("the sandbox server did not start in time")
            await asyncio.sleep(0.005)
        logger.info("sandbox listening on %s", self.url)
        return self

    async def stop(self) -> None:
        """Wake long polls, stop webhook deliveries, then shut uvicorn down."""
        if self._server is None or self._task is None:
            return
        await self.world.close()
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
        except TimeoutError:
            self._server.force_exit = True
            with contextlib.suppress(BaseException):
                await self._task
        self._server = None
        self._task = None

    async def __aenter__(self) -> SandboxServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def describe(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "chat_url": self.chat_url,
            "bots": [
                {"id": bot.id, "platform": bot.platform, "username": bot.spec.resolved_username}
                for bot in self.world.bots.values()
            ],
        }
