"""The assistant's throughput, reply latency and memory against the sandbox, beside an echo bot.

Run with ``python -m benchmarks bot`` (or ``python -m benchmarks.bot_bench``). Everything is on
loopback: the sandbox (the Telegram-compatible Bot API of ``sandbox/``) runs in this process and
the simulated users are injected into it directly, as its control API would; the real
``tamin-bot run`` process and the minimal aiogram echo bot (``sandbox/echo_bot.py``) are
subprocesses talking to it over real HTTP, by polling and by webhook.

1. ``tamin-bot demo-data`` into a temporary SQLite database, then ``USERS`` chat users verify
   through the bot itself (own contact + national ID), round-robin over the four personas.
2. For each subject (assistant polling, assistant webhook, echo polling, echo webhook):
   saturation — ``USERS × PER_USER`` updates at once, three times (the median run is the
   figure: one run lasts a second or two, and this machine's speed wanders); updates per
   second from the first update in to the last reply out, latency, errors, resident memory.
3. The assistant (both modes) at a fixed 100 updates/s, and the echo bot too, for p99 latency.
4. A burst at 300 updates/s for 30 s against the assistant: lost updates and drain time.
5. The production stack, when reachable on loopback: the assistant (polling) on a throwaway
   PostgreSQL database, then on PostgreSQL with Redis for the FSM state and dedupe (what
   several workers would share); saturation and 100 updates/s.

Latency is "update in → last reply out", both from the sandbox's event timestamps (the user's
message event and the last ``sendMessage`` the update caused). Every loop is bounded in count
and time. The assistant's workload mixes personal intents (eligibility, last record) with
information ones (channels, greeting), so the database, the NLU and rendering all work.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import redis

from benchmarks.postgres import PG_HOST, PG_PORT, pg_admin, pg_admin_user

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# BOT_BENCH_SCALE (default 1) shrinks every run for a quick check of the script itself.
SCALE = float(os.environ.get("BOT_BENCH_SCALE", "1"))
# At least 300 users even when scaled down: the burst (300/s) must not exceed what the bot's
# per-user flood limit lets through (8 messages in 4 s), or the limit, not the bot, drops them.
USERS = max(300, int(600 * SCALE))
PER_USER = 2  # saturation run: USERS × PER_USER updates (the bot's throttle allows 8 in 4 s)
SATURATION_RUNS = 5  # each paired with an echo run; the median pair's ratio counts
THROTTLE_WINDOW_S = 4.5  # between saturation runs, so no user exceeds the bot's flood limit
FIXED_RATE = 100.0
FIXED_SECONDS = 20.0 * SCALE
BURST_RATE = 300.0
BURST_SECONDS = 30.0 * SCALE
DRAIN_LIMIT_S = 240.0
STALL_LIMIT_S = 10.0
START_LIMIT_S = 90.0
VERIFY_CONCURRENCY = 40
# Its own Redis database number: the bot's keys there (tamin:*) are cleared before and after.
REDIS_URL = "redis://127.0.0.1:6379/15"

ECHO_TOKEN = "7100001:bench-echo-token-000000000000"
PERSONAS = (
    ("6508124226", "09121234567"),  # مریم
    ("2739897952", "09351112233"),  # رضا
    ("3486477986", "09131112233"),  # حسن
    ("8332279291", "09191234567"),  # زهرا
)
WORKLOAD = ("استحقاق درمان", "📄 آخرین سابقه", "شماره تماس ۱۴۲۰", "سلام")
ECHO_WORKLOAD = ("سلام", "استحقاق درمان دارم؟", "شماره تماس ۱۴۲۰", "آخرین سابقه")


def free_port(pair: bool = False) -> int:
    """A free loopback port (and, with ``pair``, one whose successor is free too)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if not pair:
            return port
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port pair")


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


# --------------------------------------------------------------------------- subprocesses


@dataclass
class BotProcess:
    """A bot subprocess, its log file and a sampler of its resident memory."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    peak_rss: int = 0

    def _tree(self) -> list[psutil.Process]:
        # tamin-bot may be a console-script wrapper; count its children too.
        try:
            proc = psutil.Process(self.process.pid)
            return [proc, *proc.children(recursive=True)]
        except psutil.Error:
            return []

    def rss(self) -> int:
        total = 0
        for proc in self._tree():
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return int(total)

    def cpu_seconds(self) -> float:
        """User + system CPU time the process (and its children) have used so far."""
        total = 0.0
        for proc in self._tree():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def sample(self) -> int:
        now = self.rss()
        self.peak_rss = max(self.peak_rss, now)
        return now

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def spawn(name: str, argv: list[str], env: dict[str, str], workdir: Path) -> BotProcess:
    log_path = workdir / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            argv, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return BotProcess(name, process, log_path)


def tamin_argv(*args: str) -> list[str]:
    script = PROJECT_ROOT / ".venv" / "bin" / "tamin-bot"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "app.cli", *args]


def base_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BOT_TOKEN")}
    for name in ("PUBLIC_BASE_URL", "REDIS_URL", "BALE_API_BASE", "WEBHOOK_SECRET"):
        env.pop(name, None)
    env.update(DATABASE_URL=database_url, NO_PROXY="127.0.0.1,localhost", PYTHONUNBUFFERED="1")
    return env


# ------------------------------------------------------------------------------- the load


@dataclass
class Sent:
    chat_id: int
    at: float
    expected: int


@dataclass
class RunResult:
    label: str
    sent: int
    completed: int
    lost: int
    latencies_ms: list[float]
    first_in: float
    last_in: float
    last_out: float
    api_errors: int
    rss_peak: int
    rss_end: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return max(self.last_out - self.first_in, 1e-9)

    @property
    def throughput(self) -> float:
        return self.completed / self.duration

    @property
    def drain_s(self) -> float:
        return max(0.0, self.last_out - self.last_in)

    def line(self) -> str:
        lat = self.latencies_ms
        return (
            f"{self.label:<34} sent {self.sent:>5}  answered {self.completed:>5}  lost {self.lost:>3}"
            f"  {self.throughput:7.1f} upd/s  p50 {percentile(lat, 50):7.1f}"
            f"  p95 {percentile(lat, 95):7.1f}  p99 {percentile(lat, 99):7.1f} ms"
            f"  api errors {self.api_errors}  RSS peak {self.rss_peak / 2**20:.0f} MiB"
            f" (end {self.rss_end / 2**20:.0f} MiB)"
            f"  Bot API calls/update {self.extra.get('calls_per_update', 0):.2f}"
            f"  CPU {self.extra.get('cpu_ms_per_update', 0):.2f} ms/update"
            f"  (harness GC pause max {self.extra.get('harness_gc_max_ms', 0):.0f} ms)"
        )


class _GcPauses:
    """The longest garbage-collection pause in this (the sandbox's) process while it runs."""

    def __init__(self) -> None:
        self.longest_ms = 0.0
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.longest_ms = max(self.longest_ms, (time.perf_counter() - self._started) * 1000)

    def stop(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)


class Load:
    """Simulated users of one bot in the in-process sandbox world."""

    def __init__(self, world: Any, bot_token: str, users: list[int]) -> None:
        self.world = world
        self.bot = world.resolve_bot(bot_token)
        self.users = users

    def bot_messages(self) -> int:
        return int(self.bot.stats.get("calls:sendMessage", 0))

    def api_calls(self) -> int:
        return sum(int(v) for k, v in self.bot.stats.items() if str(k).startswith("calls:"))

    def api_errors(self) -> int:
        return sum(int(v) for k, v in self.bot.stats.items() if str(k).startswith("errors:"))

    def send(self, uid: int, text: str, expected: int) -> Sent:
        at = time.time()  # the sandbox stamps the update's event right after this
        message, _update = self.world.send_text(uid, text, bot=self.bot.id)
        return Sent(message.chat.id, at, expected)

    async def reply_count_after(self, uid: int, text: str, quiet_s: float = 0.4) -> int:
        """How many messages the bot sends for ``text`` (to size the expected replies)."""
        chat_seq = self.world.seq
        self.world.send_text(uid, text, bot=self.bot.id)
        await self.wait_first_bot_event(uid, chat_seq, 15.0)
        await self.world.wait_idle(quiet_s, 15.0, self.bot.id)
        events = self.world.events(self.bot, uid, chat_seq)
        return sum(1 for e in events if e["kind"] == "message" and e["sender"] == "bot")

    async def wait_first_bot_event(self, uid: int, since: int, limit_s: float) -> None:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            events = await self.world.wait_events(
                self.bot, uid, since, deadline - time.monotonic()
            )
            if any(e["sender"] == "bot" and e["kind"] == "message" for e in events):
                return
            if events:
                since = events[-1]["seq"]
        raise TimeoutError(f"no answer for user {uid} within {limit_s} s")

    async def run(
        self,
        label: str,
        plan: list[tuple[int, str, int]],
        rate: float | None,
        process: BotProcess,
    ) -> RunResult:
        """Send ``plan`` (user, text, expected replies) at ``rate`` per second (None: at once)."""
        # The sandbox keeps every event of the whole benchmark in this process; frozen, the
        # history is not walked by each full garbage collection, whose pauses (100 ms and
        # more late in a run) would otherwise show up as the bot's latency.
        gc.collect()
        gc.freeze()
        pauses = _GcPauses()
        start_seq = self.world.seq
        errors_before = self.api_errors()
        calls_before = self.api_calls()
        messages_before = self.bot_messages()
        expected_total = sum(p[2] for p in plan)
        sent: list[Sent] = []
        sampler = asyncio.create_task(self._sample(process))
        cpu_before = process.cpu_seconds()
        started = time.monotonic()
        try:
            for index, (uid, text, expected) in enumerate(plan):
                if rate is not None:
                    delay = started + index / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                elif index % 200 == 0:
                    await asyncio.sleep(0)  # let the server breathe while injecting
                sent.append(self.send(uid, text, expected))
            last_in = time.time()
            deadline = time.monotonic() + DRAIN_LIMIT_S
            progress, progress_at = self.bot_messages(), time.monotonic()
            while time.monotonic() < deadline:
                now_count = self.bot_messages()
                if now_count - messages_before >= expected_total:
                    break
                if now_count != progress:
                    progress, progress_at = now_count, time.monotonic()
                elif time.monotonic() - progress_at > STALL_LIMIT_S:
                    break  # nothing more is coming: the rest is lost
                await asyncio.sleep(0.02)
            # Anything extra (a throttle notice, a retry) shows up within the quiet period.
            with contextlib.suppress(Exception):
                await self.world.wait_idle(0.3, 10.0, self.bot.id)
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            pauses.stop()
        cpu_used = process.cpu_seconds() - cpu_before
        latencies, completed, lost, last_out = self._attribute(sent, start_seq)
        return RunResult(
            label=label,
            sent=len(sent),
            completed=completed,
            lost=lost,
            latencies_ms=latencies,
            first_in=sent[0].at if sent else time.time(),
            last_in=last_in,
            last_out=last_out,
            api_errors=self.api_errors() - errors_before,
            rss_peak=process.peak_rss,
            rss_end=process.sample(),
            extra={
                "calls_per_update": (self.api_calls() - calls_before) / max(len(sent), 1),
                "harness_gc_max_ms": pauses.longest_ms,
                # The bot's own CPU per answered update: steadier here than throughput, which
                # also depends on what else the two cores are doing at the time.
                "cpu_ms_per_update": cpu_used * 1000 / max(completed, 1),
            },
        )

    async def _sample(self, process: BotProcess) -> None:
        for _ in range(100_000):  # bounded: well beyond any run's length at 4 samples/s
            process.sample()
            await asyncio.sleep(0.25)

    def _attribute(self, sent: list[Sent], start_seq: int) -> tuple[list[float], int, int, float]:
        """Match replies to updates per chat, in order, each taking its expected count.

        Returns (latencies in ms, updates fully answered, updates lost, last reply time).
        """
        by_chat: dict[int, list[Sent]] = {}
        for item in sent:
            by_chat.setdefault(item.chat_id, []).append(item)
        latencies: list[float] = []
        completed = lost = 0
        last_out = 0.0
        for chat_id, items in by_chat.items():
            replies = deque(
                e["at"]
                for e in self.world.events(self.bot, chat_id, start_seq)
                if e["kind"] == "message" and e["sender"] == "bot"
            )
            if replies:
                last_out = max(last_out, replies[-1])
            for item in items:
                while replies and replies[0] < item.at:
                    replies.popleft()  # an extra reply to an earlier update
                if len(replies) < item.expected:
                    lost += 1
                    replies.clear()
                    continue
                for _ in range(item.expected - 1):
                    replies.popleft()
                latencies.append((replies.popleft() - item.at) * 1000)
                completed += 1
        return latencies, completed, lost, last_out


# ------------------------------------------------------------------------------ the phases


async def wait_started(process: BotProcess, world: Any, token: str, webhook: bool) -> None:
    """Until the bot polls the sandbox (or has set its webhook), bounded in time."""
    bot = world.resolve_bot(token)
    deadline = time.monotonic() + START_LIMIT_S
    while time.monotonic() < deadline:
        if process.process.poll() is not None:
            raise RuntimeError(f"{process.name} exited:\n{process.log_tail()}")
        snapshot = bot.snapshot()
        if webhook and snapshot.get("webhook_url"):
            return
        if not webhook and int(bot.stats.get("calls:getUpdates", 0)) > 0:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{process.name} did not start:\n{process.log_tail()}")


async def verify_users(load: Load, users: list[int]) -> int:
    """Each user shares their own contact and types the persona's national ID.

    Returns how many users needed a second try (the bot answered the national ID as if no
    verification were under way: a race between its reply and its state, worth knowing).
    """
    semaphore = asyncio.Semaphore(VERIFY_CONCURRENCY)
    failures: list[str] = []
    retried = 0

    async def attempt(uid: int, national_id: str, mobile: str) -> list[str]:
        since = load.world.seq
        load.world.share_contact(uid, mobile, bot=load.bot.id)
        await load.wait_first_bot_event(uid, since, 30.0)
        since = load.world.seq
        load.world.send_text(uid, national_id, bot=load.bot.id)
        await load.wait_first_bot_event(uid, since, 30.0)
        return [
            e["message"].get("rendered_text") or ""
            for e in load.world.events(load.bot, uid, since)
            if e["kind"] == "message" and e["sender"] == "bot"
        ]

    async def one(index: int, uid: int) -> None:
        nonlocal retried
        national_id, mobile = PERSONAS[index % len(PERSONAS)]
        async with semaphore:
            for attempt_no in range(3):
                texts = await attempt(uid, national_id, mobile)
                if any("هویت شما تأیید شد" in t for t in texts):
                    retried += attempt_no > 0
                    return
                await asyncio.sleep(0.5)
            failures.append(f"user {uid}: {texts}")

    await asyncio.gather(*(one(i, uid) for i, uid in enumerate(users)))
    if failures:
        raise RuntimeError(f"{len(failures)} users not verified, e.g. {failures[:2]}")
    return retried


async def calibrate(load: Load, users: list[int], workload: Sequence[str]) -> dict[Any, int]:
    """Replies per (persona, text), measured once on the first user of each persona."""
    counts: dict[Any, int] = {}
    for index in range(min(len(PERSONAS), len(users))):
        for text in workload:
            counts[(index, text)] = await load.reply_count_after(users[index], text)
    return counts


def plan_for(
    users: list[int], workload: Sequence[str], counts: dict[Any, int], total: int
) -> list[tuple[int, str, int]]:
    """``total`` updates round-robin over users (so one user's updates are spread out)."""
    plan = []
    for n in range(total):
        index = n % len(users)
        text = workload[(n // len(users) + index) % len(workload)]
        plan.append((users[index], text, counts[(index % len(PERSONAS), text)]))
    return plan


@dataclass
class Subject:
    """One bot under load: its label, simulated users, process, workload and reply counts."""

    label: str
    load: Load
    process: BotProcess
    workload: Sequence[str]
    counts: dict[Any, int]

    async def warm_up(self) -> None:
        # A short warm-up so that connection pools, caches and the NLU are hot.
        plan = plan_for(self.load.users, self.workload, self.counts, 200)
        await self.load.run("warm-up", plan, 200.0, self.process)
        self.process.peak_rss = 0

    async def saturation(self, n: int) -> RunResult:
        await asyncio.sleep(THROTTLE_WINDOW_S)
        plan = plan_for(
            self.load.users, self.workload, self.counts, len(self.load.users) * PER_USER
        )
        result = await self.load.run(
            f"{self.label}: saturation #{n + 1}", plan, None, self.process
        )
        print(result.line(), flush=True)
        return result


def _median(runs: list[RunResult], label: str, process: BotProcess) -> RunResult:
    median = sorted(runs, key=lambda r: r.throughput)[len(runs) // 2]
    median.label = label
    median.rss_peak = process.peak_rss
    return median


async def paired_saturation(
    subject: Subject, echo: Subject
) -> tuple[RunResult, RunResult, list[float]]:
    """Saturation runs of the assistant and the echo bot, taken in turns.

    This machine's speed wanders by ±15–30 % over minutes, so runs minutes apart do not
    compare: each assistant run is paired with the echo run right after it, and the ratio is
    the median of the pairs' ratios. Both processes are up; the idle one only long-polls.
    """
    await subject.warm_up()
    await echo.warm_up()
    mine: list[RunResult] = []
    theirs: list[RunResult] = []
    for n in range(SATURATION_RUNS):
        mine.append(await subject.saturation(n))
        theirs.append(await echo.saturation(n))
    ratios = [a.throughput / b.throughput for a, b in zip(mine, theirs, strict=True)]
    print(
        f"{subject.label}: ratios of the pairs "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + f" → median {sorted(ratios)[len(ratios) // 2]:.2f}",
        flush=True,
    )
    return (
        _median(mine, f"{subject.label}: saturation (median)", subject.process),
        _median(theirs, f"{echo.label}: saturation (median)", echo.process),
        ratios,
    )


async def fixed_and_burst(subject: Subject, *, burst: bool) -> list[RunResult]:
    """The subject at a fixed 100 updates/s, and optionally the 300/s burst."""
    load, process, workload, counts = (
        subject.load,
        subject.process,
        subject.workload,
        subject.counts,
    )
    results = []
    await asyncio.sleep(THROTTLE_WINDOW_S)
    plan = plan_for(load.users, workload, counts, int(FIXED_RATE * FIXED_SECONDS))
    label = subject.label
    results.append(await load.run(f"{label}: {FIXED_RATE:.0f}/s", plan, FIXED_RATE, process))
    print(results[-1].line(), flush=True)
    if burst:
        plan = plan_for(load.users, workload, counts, int(BURST_RATE * BURST_SECONDS))
        result = await load.run(
            f"{label}: burst {BURST_RATE:.0f}/s×{BURST_SECONDS:.0f}s", plan, BURST_RATE, process
        )
        results.append(result)
        print(result.line(), flush=True)
        print(
            f"{'':<34} burst: lost {result.lost}, backlog drained {result.drain_s:.2f} s after"
            " the last update",
            flush=True,
        )
    return results


@contextlib.contextmanager
def running(process: BotProcess) -> Iterator[BotProcess]:
    try:
        yield process
    finally:
        process.stop()


async def bench(workdir: Path) -> int:
    from sandbox import DEMO_TELEGRAM_TOKEN, SandboxBot, SandboxConfig, SandboxServer

    env = base_env(f"sqlite+aiosqlite:///{workdir / 'bench.db'}")
    config = SandboxConfig(
        bots=(
            SandboxBot(token=DEMO_TELEGRAM_TOKEN, platform="telegram"),
            SandboxBot(token=ECHO_TOKEN, platform="telegram", username="bench_echo_bot"),
        )
    )
    server = SandboxServer(config, port=0, log_level="warning")
    await server.start()
    results: dict[str, list[RunResult]] = {}
    ratios: dict[str, list[float]] = {}
    try:
        users = [server.world.create_user(first_name=f"کاربر {n}").id for n in range(USERS)]
        tamin = Load(server.world, DEMO_TELEGRAM_TOKEN, users)
        echo = Load(server.world, ECHO_TOKEN, users)
        bot_env = {
            **env,
            "TELEGRAM_BOT_TOKEN": DEMO_TELEGRAM_TOKEN,
            "TELEGRAM_API_BASE": server.api_base,
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
        }
        counts: dict[Any, int] = {}
        echo_counts = {(i, t): 1 for i in range(len(PERSONAS)) for t in ECHO_WORKLOAD}
        echo_argv = [
            sys.executable,
            "-m",
            "sandbox.echo_bot",
            "--api-base",
            server.api_base,
            "--token",
            ECHO_TOKEN,
        ]
        # The assistant by polling (the console takes PORT), beside the echo bot by polling.
        polling_env = {**bot_env, "PORT": str(free_port())}
        with (
            running(spawn("tamin-polling", tamin_argv("run"), polling_env, workdir)) as proc,
            running(spawn("echo-polling", echo_argv, env, workdir)) as echo_proc,
        ):
            await wait_started(proc, server.world, DEMO_TELEGRAM_TOKEN, webhook=False)
            await wait_started(echo_proc, server.world, ECHO_TOKEN, webhook=False)
            started = time.monotonic()
            retried = await verify_users(tamin, users)
            print(
                f"{len(users)} chat users verified through the bot in"
                f" {time.monotonic() - started:.1f} s ({retried} needed a second try)",
                flush=True,
            )
            counts = await calibrate(tamin, users, WORKLOAD)
            print(f"replies per update (persona, text): {sorted(set(counts.values()))}")
            subject = Subject("assistant, polling", tamin, proc, WORKLOAD, counts)
            echo_subject = Subject(
                "echo bot, polling", echo, echo_proc, ECHO_WORKLOAD, echo_counts
            )
            mine, theirs, ratios["tamin-polling"] = await paired_saturation(subject, echo_subject)
            results["tamin-polling"] = [mine, *await fixed_and_burst(subject, burst=True)]
            results["echo-polling"] = [theirs, *await fixed_and_burst(echo_subject, burst=False)]
        # By webhook: the assistant's ASGI app on PORT (the console on PORT + 1), and the echo
        # bot's on a port of its own.
        port = free_port(pair=True)
        webhook_env = {
            **bot_env,
            "PORT": str(port),
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "WEBHOOK_SECRET": "bench-webhook-secret-0123456789",
        }
        webhook_argv = [*echo_argv, "--webhook-port", str(free_port())]
        with (
            running(spawn("tamin-webhook", tamin_argv("run"), webhook_env, workdir)) as proc,
            running(spawn("echo-webhook", webhook_argv, env, workdir)) as echo_proc,
        ):
            await wait_started(proc, server.world, DEMO_TELEGRAM_TOKEN, webhook=True)
            await wait_started(echo_proc, server.world, ECHO_TOKEN, webhook=True)
            subject = Subject("assistant, webhook", tamin, proc, WORKLOAD, counts)
            echo_subject = Subject(
                "echo bot, webhook", echo, echo_proc, ECHO_WORKLOAD, echo_counts
            )
            mine, theirs, ratios["tamin-webhook"] = await paired_saturation(subject, echo_subject)
            # The burst runs once, in the default (polling) mode, to keep the run short.
            results["tamin-webhook"] = [mine, *await fixed_and_burst(subject, burst=False)]
            results["echo-webhook"] = [theirs, *await fixed_and_burst(echo_subject, burst=False)]
        with running(spawn("echo-polling-2", echo_argv, env, workdir)) as echo_proc:
            await wait_started(echo_proc, server.world, ECHO_TOKEN, webhook=False)
            echo_subject = Subject(
                "echo bot, polling", echo, echo_proc, ECHO_WORKLOAD, echo_counts
            )
            stack_results, stack_ratios = await production_stack(
                tamin, bot_env, counts, workdir, echo_subject
            )
            results.update(stack_results)
            ratios.update(stack_ratios)
    finally:
        await server.stop()
    print_summary(results, ratios)
    return 0


# ------------------------------------------------------------------- the production stack


def _clear_redis(client: redis.Redis) -> None:
    """Remove the bot's keys (FSM, dedupe) from the benchmark's own Redis database."""
    for key in client.scan_iter(match="tamin:*", count=1000):
        client.delete(key)


async def production_stack(
    load: Load,
    bot_env: dict[str, str],
    counts: dict[Any, int],
    workdir: Path,
    echo: Subject,
) -> tuple[dict[str, list[RunResult]], dict[str, list[float]]]:
    """The assistant by polling on a throwaway PostgreSQL database, without and with Redis,
    each paired with the echo bot (by polling) run for run."""
    from sandbox import DEMO_TELEGRAM_TOKEN

    results: dict[str, list[RunResult]] = {}
    ratios: dict[str, list[float]] = {}
    user = await pg_admin_user()
    if user is None:
        print(f"[postgresql] skipped: not reachable on {PG_HOST}:{PG_PORT}", flush=True)
        return results, ratios
    redis_client: redis.Redis | None = None
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
        client.ping()
        redis_client = client
    except (redis.RedisError, OSError):
        print(f"[redis] skipped: not reachable at {REDIS_URL}", flush=True)
    stacks: list[tuple[str, str, str | None]] = [("tamin-pg", "assistant, PostgreSQL", None)]
    if redis_client is not None:
        stacks.append(("tamin-pg-redis", "assistant, PostgreSQL + Redis", REDIS_URL))
    for key, label, redis_url in stacks:
        name = f"tamin_bot_bench_{os.getpid()}_{key.replace('-', '_')}"
        await pg_admin(user, f'CREATE DATABASE "{name}"')
        try:
            url = f"postgresql+asyncpg://{user}@{PG_HOST}:{PG_PORT}/{name}"
            env = {**bot_env, "DATABASE_URL": url, "PORT": str(free_port())}
            if redis_url is not None and redis_client is not None:
                env["REDIS_URL"] = redis_url
                _clear_redis(redis_client)
            demo = await asyncio.to_thread(
                subprocess.run,
                tamin_argv("demo-data"),
                cwd=PROJECT_ROOT,
                env=env,
                capture_output=True,
                timeout=300,
                check=False,
            )
            if demo.returncode != 0:
                print(demo.stderr.decode(errors="replace")[-3000:])
                continue
            with running(spawn(key, tamin_argv("run"), env, workdir)) as proc:
                await wait_started(proc, load.world, DEMO_TELEGRAM_TOKEN, webhook=False)
                await verify_users(load, load.users)
                subject = Subject(label, load, proc, WORKLOAD, counts)
                mine, theirs, ratios[key] = await paired_saturation(subject, echo)
                results[key] = [mine, *await fixed_and_burst(subject, burst=False)]
                results[f"{key}:echo"] = [theirs]
        finally:
            if redis_client is not None:
                _clear_redis(redis_client)
            await pg_admin(user, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results, ratios


def _print_fixed(name: str, runs: list[RunResult], aim: str) -> None:
    """The latency line of the fixed-rate run among ``runs``, if there is one."""
    fixed = next((r for r in runs if r.label.endswith(f"{FIXED_RATE:.0f}/s")), None)
    if fixed is not None:
        lat = fixed.latencies_ms
        print(
            f"  {name}: at {FIXED_RATE:.0f} upd/s p50 {percentile(lat, 50):.1f}"
            f" p99 {percentile(lat, 99):.1f} ms{aim}, lost {fixed.lost}"
        )


def print_summary(results: dict[str, list[RunResult]], ratios: dict[str, list[float]]) -> None:
    print("\nsummary (saturation: the median run; ratio: the median of the paired runs' ratios)")
    subjects = (
        ("SQLite, polling", "tamin-polling", "echo-polling"),
        ("SQLite, webhook", "tamin-webhook", "echo-webhook"),
        ("PostgreSQL, polling", "tamin-pg", "tamin-pg:echo"),
        ("PostgreSQL + Redis, polling", "tamin-pg-redis", "tamin-pg-redis:echo"),
    )
    for name, key, echo_key in subjects:
        mine = results.get(key)
        theirs = results.get(echo_key)
        pairs = ratios.get(key)
        if not mine or not theirs or not pairs:
            continue
        ratio = sorted(pairs)[len(pairs) // 2]
        print(
            f"  {name}: assistant {mine[0].throughput:.0f} upd/s vs echo"
            f" {theirs[0].throughput:.0f} upd/s → ratio {ratio:.2f} (aim ≥ 0.5; pairs"
            f" {min(pairs):.2f}–{max(pairs):.2f}); RSS peak {mine[0].rss_peak / 2**20:.0f} vs"
            f" {theirs[0].rss_peak / 2**20:.0f} MiB"
        )
        cpu_mine = mine[0].extra.get("cpu_ms_per_update", 0.0)
        cpu_theirs = theirs[0].extra.get("cpu_ms_per_update", 0.0)
        print(
            f"  {name}: CPU per update at saturation {cpu_mine:.2f} ms vs echo"
            f" {cpu_theirs:.2f} ms (echo / assistant {cpu_theirs / max(cpu_mine, 1e-9):.2f})"
        )
        _print_fixed(name, mine, " (aim < 100 ms)")
        burst = next((r for r in mine if "burst" in r.label), None)
        if burst is not None:
            print(
                f"  {name}: burst {BURST_RATE:.0f} upd/s × {BURST_SECONDS:.0f} s: lost"
                f" {burst.lost} of {burst.sent}, drained {burst.drain_s:.2f} s after,"
                f" p99 {percentile(burst.latencies_ms, 99):.1f} ms"
            )
    for name, key in (("polling", "echo-polling"), ("webhook", "echo-webhook")):
        _print_fixed(f"echo bot, {name}", results.get(key, []), "")
    print(f"  machine: {os.cpu_count()} CPUs, load average {os.getloadavg()}")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bot-bench-") as tmp:
        workdir = Path(tmp)
        demo = subprocess.run(
            tamin_argv("demo-data"),
            cwd=PROJECT_ROOT,
            env=base_env(f"sqlite+aiosqlite:///{workdir / 'bench.db'}"),
            capture_output=True,
            timeout=300,
            check=False,
        )
        if demo.returncode != 0:
            print(demo.stderr.decode(errors="replace")[-3000:])
            return 1
        return asyncio.run(bench(workdir))


if __name__ == "__main__":
    sys.exit(main())
