"""What the process's web servers enforce before an app sees a request (issue 17, findings 7
and 8): bodies limited to 1 MB, slow heads and bodies cut off, X-Forwarded-For believed only
from configured proxies. Over real TCP, since uvicorn applies part of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from console.http_guard import HEAD_SECONDS, server_config
from console.server import ConsoleServer
from services.db.handoff_models import LoginAttempt
from tests.console.conftest import CSRF


def echo_app() -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return app


@pytest.fixture
async def guarded() -> AsyncIterator[int]:
    """An app behind the guards, with a short body deadline; yields its port."""
    server = uvicorn.Server(server_config(echo_app(), read_seconds=0.5))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn's readiness is only a flag)
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield int(port)
    server.should_exit = True
    await serving


async def test_bodies_over_one_megabyte_are_refused(guarded: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{guarded}", trust_env=False) as http:
        ok = await http.post("/echo", content=b"a" * 1_000_000)
        assert ok.status_code == 200 and ok.json() == {"bytes": 1_000_000}
        assert (await http.post("/echo", content=b"a" * 1_000_001)).status_code == 413
    # No Content-Length (chunked): refused as soon as the bytes pass the limit, with the
    # client still sending.
    reader, writer = await asyncio.open_connection("127.0.0.1", guarded)
    writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"b" * 50_000
    for _ in range(21):
        writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(200), timeout=5)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 413")


async def test_a_trickling_request_head_is_closed(guarded: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", guarded)
    loop = asyncio.get_running_loop()
    opened = loop.time()
    closed_after = None
    for byte in b"POST /echo HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 100:
        writer.write(bytes([byte]))
        try:
            await writer.drain()
        except ConnectionError:
            break
        try:
            if await asyncio.wait_for(reader.read(1), timeout=0.2) == b"":
                closed_after = loop.time() - opened
                break
        except TimeoutError:
            continue
    writer.close()
    assert closed_after is not None, "the server kept a trickling connection open"
    assert closed_after < HEAD_SECONDS + 2


async def test_a_slow_body_is_answered_408(guarded: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", guarded)
    writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(200), timeout=5)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408")


@pytest.mark.parametrize(("trusted", "recorded"), [((), "127.0.0.1"), (("127.0.0.1",), "5.6.7.8")])
async def test_forwarded_for_only_from_configured_proxies(
    app: FastAPI,
    queued: int,
    session: AsyncSession,
    trusted: tuple[str, ...],
    recorded: str,
) -> None:
    # Issue 17, finding 7: anyone on loopback could pick the address the throttle counts.
    console = await ConsoleServer(app, port=0, trusted_proxies=trusted).start()
    try:
        async with httpx.AsyncClient(base_url=console.url, trust_env=False) as http:
            page = await http.get("/login")
            match = CSRF.search(page.text)
            assert match is not None
            form = {"username": "sara", "password": "wrong-password", "csrf_token": match[1]}
            spoofed = {"X-Forwarded-For": "5.6.7.8"}
            refused = await http.post("/login", data=form, headers=spoofed)
            assert refused.status_code == 401
    finally:
        await console.stop()
    failed = select(LoginAttempt.ip).where(LoginAttempt.succeeded.is_(False))
    ips = (await session.scalars(failed)).all()
    assert ips == [recorded]
