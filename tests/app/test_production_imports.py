"""Production processes never import the ``sandbox`` package, nor what only the extras bring.

Each check runs in a fresh interpreter and reads its ``sys.modules``: the bot and console
factories, the command line, and the real ``tamin-bot run`` with a token set, serving a
sandbox that this test process runs (so the child polls it without loading it).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nlu import NluModel
from sandbox import DEMO_TELEGRAM_TOKEN, SandboxClient, SandboxServer, demo_config

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# The sandbox, the ``sandbox`` extra's libraries and the benchmarks' psutil (a dev extra): a
# production install (``pip install .``) has none of them but the sandbox's own code.
_OPTIONAL = ("sandbox", "httpx", "PIL", "psutil")

# Prints the optional modules the interpreter holds when it exits, however the code ended.
_REPORT = f"""
import atexit, sys
atexit.register(lambda: print(
    "OPTIONAL MODULES:", sorted(m for m in sys.modules if m.split(".")[0] in {_OPTIONAL!r}),
    flush=True,
))
"""

_FACTORIES = """
from app.cli import build_parser
from app.run import needs_sandbox, run
from bot.factory import build_bots, build_dispatcher
from console.app import create_console_app
build_parser()
"""


def _optional_modules(printed: str) -> list[str]:
    match = re.search(r"^OPTIONAL MODULES: \[(.*)\]$", printed, re.MULTILINE)
    assert match, f"the child did not report its modules:\n{printed[-2000:]}"
    return re.findall(r"'([^']+)'", match.group(1))


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _REPORT + code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_the_factories_and_the_command_line_do_not_import_the_sandbox() -> None:
    assert _optional_modules(_python(_FACTORIES)) == []


def test_the_report_sees_the_sandbox_when_it_is_imported() -> None:
    # The no-token path's module: the check above would catch it on the production path.
    assert "sandbox" in _optional_modules(_python("import app.sandbox_launch"))


async def _read_lines(stream: asyncio.StreamReader, lines: list[str]) -> None:
    async for line in stream:
        lines.append(line.decode("utf-8", errors="replace"))


@pytest.mark.e2e
async def test_run_with_a_token_does_not_import_the_sandbox(
    tmp_path: Path, nlu_model: NluModel
) -> None:
    # ``nlu_model``: the session's model, trained once into the folder ``run`` loads from, so
    # the child process loads it instead of training its own (a minute under load).
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BOT_TOKEN")}
    for name in ("PUBLIC_BASE_URL", "REDIS_URL", "BALE_API_BASE", "TAMIN_CONFIG"):
        env.pop(name, None)
    lines: list[str] = []
    async with SandboxServer(demo_config(bale_token=None)) as sandbox:
        env.update(
            TELEGRAM_BOT_TOKEN=DEMO_TELEGRAM_TOKEN,
            TELEGRAM_API_BASE=sandbox.api_base,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
            HOST="127.0.0.1",
            PORT="0",
            NO_PROXY="127.0.0.1,localhost",
            PYTHONUNBUFFERED="1",
        )
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _REPORT + "from app.cli import main; main(['run'])",
            cwd=PROJECT_ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert child.stdout is not None
        reader = asyncio.create_task(_read_lines(child.stdout, lines))
        try:
            for _ in range(1200):
                if any("Agents' console" in line for line in lines):
                    break
                assert child.returncode is None, "".join(lines)[-4000:]
                await asyncio.sleep(0.05)
            else:
                pytest.fail("tamin-bot run did not start")
            # It really serves the bot with the token: a greeting is answered through the sandbox.
            async with SandboxClient(sandbox.url) as client:
                user = await client.create_user("مریم")
                reaction = await client.say(int(user["id"]), "سلام", bot="telegram")
            assert "وقت شما بخیر" in reaction.text
        finally:
            if child.returncode is None:
                child.send_signal(signal.SIGTERM)
            await asyncio.wait_for(child.wait(), 30)
            await reader
    printed = "".join(lines)
    assert child.returncode == 0, printed[-4000:]
    assert "No bot token is set" not in printed
    assert _optional_modules(printed) == []
