"""What every web server of the process enforces before a request reaches an app.

A red-team run posted four 100 MB bodies (1.3 GB resident, the bot stalled 2.4 s) and kept
1 500 connections open for a minute by trickling bytes. So, for the console and the webhooks:

- :class:`BodyGuard` (ASGI, outermost): a body larger than ``max_bytes`` is refused with 413,
  by its ``Content-Length`` before anything is read, or as soon as the bytes received pass the
  limit; a body that takes longer than ``read_seconds`` to arrive is answered 408 and the
  connection closed. The app then gets the body in one message (bodies are small here).
- :class:`HeadTimeoutHttpTools`: a connection must send a complete request head within
  uvicorn's ``timeout_keep_alive`` of opening (or of the previous response); trickling bytes
  no longer keeps it open (uvicorn re-arms nothing until a response is complete). It is
  uvicorn's protocol on httptools, the C parser of Node's llhttp: on the webhook's hot path
  the pure-Python h11 parser cost several times as much CPU per request (README, issue 19).
  (It was h11's, with the same rule, until issue 19's profile of the webhook.)
- :func:`server_config`: the uvicorn configuration with both, and ``X-Forwarded-For`` trusted
  only from the configured proxies (uvicorn's default trusts it from any client on loopback).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httptools
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Telegram's updates are a few kilobytes; a console form is text.
DEFAULT_MAX_BODY = 1_000_000
DEFAULT_READ_SECONDS = 10.0
HEAD_SECONDS = 5


class BodyGuard:
    """Limit the size of every request body and the time it takes to arrive."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int = DEFAULT_MAX_BODY,
        read_seconds: float = DEFAULT_READ_SECONDS,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_seconds = read_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if not 0 <= declared <= self.max_bytes:
                    await _refuse(send, 413)
                    return
        # The body is read here, whole, before the app runs: a request is refused while
        # nothing has been answered yet, and the app gets it in one message.
        chunks: list[bytes] = []
        received = 0
        try:
            async with asyncio.timeout(self.read_seconds):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return  # the client left
                    chunk = message.get("body", b"")
                    received += len(chunk)
                    if received > self.max_bytes:
                        await _refuse(send, 413)
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await _refuse(send, 408)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send, status: int) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", b"0"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": b""})


class HeadTimeoutHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request head is late.

    uvicorn's own stops the keep-alive clock on the first byte received; this one when the
    parser has a complete head (``on_headers_complete``). uvicorn arms the clock again when a
    response is complete, as before.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def data_received(self, data: bytes) -> None:
        # uvicorn's, less its first line (``_unset_keepalive_if_required``): bytes alone do
        # not stop the clock.
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    def on_headers_complete(self) -> None:
        self._unset_keepalive_if_required()
        super().on_headers_complete()


def server_config(
    app: ASGIApp,
    *,
    trusted_proxies: Sequence[str] = (),
    max_body: int = DEFAULT_MAX_BODY,
    read_seconds: float = DEFAULT_READ_SECONDS,
    host: str = "127.0.0.1",
    port: int = 0,
) -> uvicorn.Config:
    """uvicorn's configuration for one of the process's servers, with the guards above."""
    return uvicorn.Config(
        BodyGuard(app, max_bytes=max_body, read_seconds=read_seconds),
        host=host,
        port=port,
        http=HeadTimeoutHttpTools,
        # Forwarded headers only from the proxies named in config.yml (none: never).
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies) or None,
        timeout_keep_alive=HEAD_SECONDS,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
