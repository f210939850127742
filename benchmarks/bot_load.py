"""The harness of the bot benchmark (:mod:`benchmarks.bot_bench`): its knobs, the bot
processes it starts, and :class:`Load`, which injects the simulated users' messages into the
in-process sandbox and measures what comes back (throughput, latency, losses, memory, CPU).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

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
# A bot process must be up within this many seconds (more on a machine shared with other work).
START_LIMIT_S = float(os.environ.get("BOT_BENCH_START_LIMIT_S", "90"))
VERIFY_CONCURRENCY = 40
# Its own Redis database number: the bot's keys there (tamin:*) are cleared before and after.
# A database of its own, cleared by the run; BOT_BENCH_REDIS_URL picks another, so that two
# runs at once (other work trees on a shared machine) do not drop each other's updates as
# duplicates.
REDIS_URL = os.environ.get("BOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
# The configurations to run (all by default): a comma-separated subset of these keys, for a
# profile of one of them (``BOT_BENCH_ONLY=tamin-pg``) without the half hour of the others.
CONFIGURATIONS = (
    "tamin-polling",
    "tamin-webhook",
    "tamin-pg",
    "tamin-pg-redis",
    "tamin-pg-redis-webhook",
)
ONLY = (
    tuple(key.strip() for key in os.environ.get("BOT_BENCH_ONLY", "").split(",") if key.strip())
    or CONFIGURATIONS
)
if unknown := set(ONLY) - set(CONFIGURATIONS):
    raise SystemExit(f"BOT_BENCH_ONLY: unknown configurations {sorted(unknown)}")

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
        # history is not walked by each full garbage collection, whose pauses (long ones late
        # in a run) would otherwise show up as the bot's latency.
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
