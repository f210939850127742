"""Serve the console inside the running event loop, beside the bot and the sandbox.

``tamin-bot run`` (and the end-to-end tests) start a :class:`ConsoleServer` and stop it on
shutdown. uvicorn's own signal handling is off: the owner of the loop decides when to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator, Sequence

import uvicorn
from fastapi import FastAPI

from console.http_guard import server_config

logger = logging.getLogger(__name__)


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ConsoleServer:
    """The console app over HTTP on ``host:port`` (port 0 picks a free one)."""

    def __init__(
        self,
        app: FastAPI,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        trusted_proxies: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.host = host
        self.trusted_proxies = tuple(trusted_proxies)
        self._requested_port = port
        self.port: int | None = None
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the console is not started")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    async def start(self, startup_s: float = 10.0) -> ConsoleServer:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._requested_port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        # Body limits, read timeouts and forwarded headers only from configured proxies.
        config = server_config(self.app, trusted_proxies=self.trusted_proxies)
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="console-http")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + startup_s
        # uvicorn shows readiness only as a flag.
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the console server stopped while starting")
            if loop.time() > deadline:
                await self.stop()
                raise TimeoutError("the console server did not start in time")
            await asyncio.sleep(0.01)
        logger.info("console listening on %s", self.url)
        return self

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
        except TimeoutError:
            self._server.force_exit = True
            with contextlib.suppress(BaseException):
                await self._task
        self._server = None
        self._task = None
