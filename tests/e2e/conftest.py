"""The real product process for end-to-end tests: ``tamin-bot run`` against its own sandbox.

One process per test session (starting it trains nothing but still costs a few seconds):
``tamin-bot demo-data`` then ``tamin-bot run`` with no token, a temporary SQLite database, a
temporary ``config.yml`` (the project's, plus a ``sandbox:`` section on a free port) and a free
console port. Tests drive it through :class:`sandbox.SandboxClient` over real HTTP, each with a
fresh sandbox user. The process is always stopped by the fixture's finaliser, and its stderr is
printed under every failed test.

Both commands run on one clock (``TAMIN_CLOCK_START``, services/clock.py): 10:00 Tehran time on
:func:`product_today`, the Tehran date when the session began, from which the clock runs on. The
demo data is a snapshot of its day (Hassan's cover runs 365 days from it), so the tests compute
what they expect from that same day, never from the machine's date: a run begun just before
Tehran's midnight once loaded the data on one day and checked it on the next.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from nlu import NluModel
from sandbox import SandboxClient
from services.clock import BARE_DATE_TIME, TEHRAN

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TAMIN_BOT = PROJECT_ROOT / ".venv" / "bin" / "tamin-bot"
START_TIMEOUT_S = 90.0
STDERR_TAIL_CHARS = 6000

# The personas of the foundation issue: (national ID, mobile).
MARYAM = ("6508124226", "09121234567")
REZA = ("2739897952", "09351112233")
HASSAN = ("3486477986", "09131112233")
ZAHRA = ("8332279291", "09191234567")
NOBODY_MOBILE = "09390000000"


@functools.cache
def product_today() -> dt.date:
    """The day the product lives on in this session (its clock's date, Tehran's)."""
    return dt.datetime.now(TEHRAN).date()


def product_clock_start() -> dt.datetime:
    """Where the product's clock starts: 10:00 on :func:`product_today`, hours from midnight."""
    return dt.datetime.combine(product_today(), BARE_DATE_TIME, TEHRAN)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tamin_bot_command() -> list[str]:
    if TAMIN_BOT.exists():
        return [str(TAMIN_BOT)]
    return [sys.executable, "-m", "app.cli"]


@dataclass
class RunningProduct:
    """The running ``tamin-bot run`` process and where it listens."""

    process: subprocess.Popen[bytes]
    sandbox_url: str
    chat_url: str
    stdout_path: Path
    stderr_path: Path
    # The agents' console (printed by `tamin-bot run`).
    console_url: str = ""
    # The day the demo data was computed for (printed by `tamin-bot demo-data`).
    demo_day: dt.date | None = None

    def stderr_tail(self) -> str:
        try:
            data = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return data[-STDERR_TAIL_CHARS:]


def product_env(tmp: Path, *, sandbox_port: int, console_port: int) -> dict[str, str]:
    """Environment for the product: temp DB and config, no token, loopback ports."""
    config = tmp / "config.yml"
    base = (PROJECT_ROOT / "config.yml").read_text(encoding="utf-8")
    # The scripted users act several times a second, faster than any person and than
    # Telegram lets a bot answer one chat: the per-chat pace would send later answers through
    # the outbox, after the client's quiet window, and the flood limit would refuse them. Both
    # have their own tests (tests/bot/test_pacing.py, tests/bot/test_middlewares.py); here a
    # burst and a limit large enough for any dialogue, so the dialogues need not wait.
    config.write_text(
        f"{base}\nsandbox:\n  host: 127.0.0.1\n  port: {sandbox_port}\n  bale: true\n"
        "pacing:\n  per_chat_burst: 1000\n",
        encoding="utf-8",
    )
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["bot"] = {**data.get("bot", {}), "flood_limit": 1000}
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BOT_TOKEN")}
    for name in ("PUBLIC_BASE_URL", "REDIS_URL", "TELEGRAM_API_BASE", "BALE_API_BASE"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'e2e.db'}",
        TAMIN_CONFIG=str(config),
        HOST="127.0.0.1",
        PORT=str(console_port),
        NO_PROXY="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
        TAMIN_CLOCK_START=product_clock_start().isoformat(),
    )
    return env


def start_product(tmp: Path) -> RunningProduct:
    """Load the demo data, start ``tamin-bot run`` and wait until it prints the web chat."""
    env = product_env(tmp, sandbox_port=free_port(), console_port=free_port())
    demo = subprocess.run(
        [*tamin_bot_command(), "demo-data"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    if demo.returncode != 0:
        raise RuntimeError(f"demo-data failed:\n{demo.stderr.decode(errors='replace')[-4000:]}")
    loaded = re.search(r"Demo data loaded in .* for (\d{4}-\d{2}-\d{2})", demo.stdout.decode())
    stdout_path, stderr_path = tmp / "run.out", tmp / "run.err"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen(
            [*tamin_bot_command(), "run"], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=err
        )
    product = RunningProduct(process, "", "", stdout_path, stderr_path)
    product.demo_day = dt.date.fromisoformat(loaded.group(1)) if loaded else None
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        printed = stdout_path.read_text(encoding="utf-8", errors="replace")
        match = re.search(r"Web chat: (http://[^\s]+)", printed)
        if match and "Agents' console" in printed:
            product.chat_url = match.group(1)
            product.sandbox_url = match.group(1).rsplit("/", 1)[0]
            console = re.search(r"Agents' console: (http://[^\s]+)", printed)
            product.console_url = console.group(1) if console else ""
            return product
        if process.poll() is not None:
            break
        time.sleep(0.1)
    stop_product(product)
    raise RuntimeError(
        f"tamin-bot run did not start (exit {process.returncode}):\n{product.stderr_tail()}"
    )


def stop_product(product: RunningProduct) -> None:
    """SIGTERM (the product shuts down cleanly on it), then SIGKILL if it lingers."""
    process = product.process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def product(
    tmp_path_factory: pytest.TempPathFactory, nlu_model: NluModel
) -> Iterator[RunningProduct]:
    # nlu_model: the product's model folder holds a fresh model before the bot starts, so the
    # bot process loads it instead of training a second time (tests/conftest.py).
    running = start_product(tmp_path_factory.mktemp("e2e-product"))
    try:
        yield running
    finally:
        stop_product(running)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # Keep the report so the fixture below can tell whether the test failed.
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def _bot_stderr_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    running = request.node.funcargs.get("product") if hasattr(request.node, "funcargs") else None
    if report is not None and report.failed and isinstance(running, RunningProduct):
        sys.stderr.write(f"\n----- tamin-bot run stderr (tail) -----\n{running.stderr_tail()}\n")


@pytest.fixture
async def client(product: RunningProduct) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(product.sandbox_url, quiet_ms=300, timeout_s=20) as sandbox:
        yield sandbox
