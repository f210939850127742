"""``tamin-bot agents``: add, list, passwd, disable — against a real (temporary) database."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from app.cli import main
from services.agents import AgentService, InvalidCredentials
from services.clock import SystemClock
from services.db import create_engine, create_session_factory
from services.settings import load_settings


def run(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(list(argv))


async def _login(username: str, password: str) -> str:
    settings = load_settings()
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            agent = await AgentService(session, settings, SystemClock()).authenticate(
                username=username, password=password, ip="cli-test"
            )
            return agent.role.value
    finally:
        await engine.dispose()


def test_agents_commands(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    assert (
        run(
            monkeypatch,
            "agents",
            "add",
            "Sara",
            "--name",
            "سارا احمدی",
            "--password-stdin",
            stdin="first-password-1\n",
        )
        == 0
    )
    assert (
        run(
            monkeypatch,
            "agents",
            "add",
            "boss",
            "--name",
            "رئیس",
            "--role",
            "supervisor",
            "--password-stdin",
            stdin="boss-password-1\n",
        )
        == 0
    )
    assert (
        run(
            monkeypatch,
            "agents",
            "add",
            "sara",
            "--name",
            "x",
            "--password-stdin",
            stdin="another-password\n",
        )
        == 1
    )
    assert (
        run(
            monkeypatch,
            "agents",
            "add",
            "weak",
            "--name",
            "x",
            "--password-stdin",
            stdin="short\n",
        )
        == 1
    )
    out = capsys.readouterr()
    assert "Created agent 'sara' (سارا احمدی)." in out.out
    assert "agent_exists" in out.err and "password_too_short" in out.err

    assert run(monkeypatch, "agents", "list") == 0
    listing = capsys.readouterr().out
    assert "sara" in listing and "supervisor" in listing and "first-password" not in listing

    assert asyncio.run(_login("sara", "first-password-1")) == "agent"
    assert (
        run(
            monkeypatch,
            "agents",
            "passwd",
            "sara",
            "--password-stdin",
            stdin="second-password-2\n",
        )
        == 0
    )
    assert asyncio.run(_login("sara", "second-password-2")) == "agent"
    assert run(monkeypatch, "agents", "disable", "sara") == 0
    with pytest.raises(InvalidCredentials):
        asyncio.run(_login("sara", "second-password-2"))
    assert run(monkeypatch, "agents", "disable", "nobody") == 1
