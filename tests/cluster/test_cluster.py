"""The production shape end to end: HAProxy, three ``tamin-bot webhook`` workers, PostgreSQL,
Redis, and the sandbox as Telegram (benchmarks/cluster.py starts them, as ``make cluster`` does).

- Any worker takes any update of any chat: a verification started on worker A is finished on
  worker B; a chat that escalates on worker A shows the agent the lines the user wrote through
  workers B and C (each update posted to a chosen worker, bypassing the proxy, so the test
  knows which worker took it).
- The proxy checks the webhook path, the method and the secret before a worker sees anything.
- Kill -9 of one worker in the middle of a run through the proxy, then a rolling restart of
  every worker: no update lost, no flow broken, none answered twice except an update whose
  answer reached the platform before its commit when the worker was killed (the delivery
  design's bar, as in tests/faults/test_kill9.py).

Skipped with the reason when haproxy, PostgreSQL or Redis is not on this machine.
"""

from __future__ import annotations

import asyncio
import collections
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import select

from benchmarks.bot_load import PROJECT_ROOT
from benchmarks.cluster import Cluster, ClusterUnavailable
from services.db import create_engine, create_session_factory
from services.db.handoff_models import Conversation
from services.settings import Settings

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.e2e,
    # One event loop for the module: the sandbox and the cluster live across its tests.
    pytest.mark.asyncio(loop_scope="module"),
]

PERSONAS = (("6508124226", "09121234567"), ("3486477986", "09131112233"))
VERIFIED = "هویت شما تأیید شد"
# How long the driver waits for a worker's answer (a deferred one comes from the sender, which
# polls the outbox), and the quiet moment after which an answer is taken as complete.
ANSWER_WAIT_S = 15.0
QUIET_S = 0.3


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sandbox() -> AsyncIterator[Any]:
    from sandbox import DEMO_TELEGRAM_TOKEN, SandboxServer, demo_config

    server = SandboxServer(demo_config(DEMO_TELEGRAM_TOKEN, None), port=0, log_level="warning")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(
    sandbox: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    from sandbox import DEMO_TELEGRAM_TOKEN

    workdir: Path = tmp_path_factory.mktemp("cluster")
    # The intent log's batch stretched to a minute: a line a worker took stays in its memory
    # unless an escalation asks for it, so the transcript test shows that it does.
    config = workdir / "config.yml"
    # The scripted users write several times a second, faster than any person and than
    # Telegram lets a bot answer one chat: the per-chat pace (bot/pacing.py, a burst of 3) would
    # send their fourth answer through the outbox. The pace has its own tests
    # (tests/bot/test_pacing.py); here, as in tests/e2e/conftest.py, a burst large enough for
    # any dialogue, and a sender runs anyway for an answer a 429 defers.
    # A killed worker's update is taken over once its lease runs out: 3 s instead of 10, so the
    # kill test waits less (the worker renews it while it handles the update).
    config.write_text(
        (PROJECT_ROOT / "config.yml")
        .read_text(encoding="utf-8")
        .replace("intent_log_batch_seconds: 0.25", "intent_log_batch_seconds: 60")
        .replace("per_chat_burst: 3", "per_chat_burst: 1000")
        .replace("update_lease_seconds: 10", "update_lease_seconds: 3")
        # The escalation waits up to this for the other workers' rows: 2 s is the product's
        # choice; on two shared cores (the suite runs on two workers) a busy worker answered
        # later than that and its lines were missing from the transcript.
        .replace(
            "intent_log_flush_timeout_seconds: 2.0", "intent_log_flush_timeout_seconds: 10.0"
        ),
        encoding="utf-8",
    )
    written = config.read_text(encoding="utf-8")
    for line in (
        "intent_log_batch_seconds: 60",
        "per_chat_burst: 1000",
        "update_lease_seconds: 3",
        "intent_log_flush_timeout_seconds: 10.0",
    ):
        assert line in written, line
    try:
        async with Cluster.start(
            workdir,
            api_base=sandbox.api_base,
            token=DEMO_TELEGRAM_TOKEN,
            workers=3,
            console=False,
            sender=True,
            extra_env={"TAMIN_CONFIG": str(config)},
        ) as running:
            yield running
    except ClusterUnavailable as error:
        pytest.skip(str(error))


class Driver:
    """Posts a chosen user's update to a chosen worker, as the platform would."""

    def __init__(self, sandbox: Any, cluster: Cluster) -> None:
        from sandbox import DEMO_TELEGRAM_TOKEN

        self.world = sandbox.world
        self.bot = self.world.resolve_bot(DEMO_TELEGRAM_TOKEN)
        self.cluster = cluster

    async def post(self, worker: int, update: Any) -> list[str]:
        """The update to one worker; the texts the bot sent in answer."""
        since = self.world.seq
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                self.cluster.worker_url(worker) + "/webhook/telegram",
                json=update.to_api(),
                headers={"X-Telegram-Bot-Api-Secret-Token": self.cluster.secret},
            ) as response,
        ):
            assert response.status == 200, await response.text()
        # An answer the pace defers goes out later through the sender: wait for the first
        # answer (bounded), then for a quiet moment so the whole answer is taken.
        chat_id = update.payload["chat"]["id"]
        deadline = time.monotonic() + ANSWER_WAIT_S
        texts = _bot_texts(self.world, self.bot, chat_id, since)
        while time.monotonic() < deadline:
            await asyncio.sleep(QUIET_S)
            now = _bot_texts(self.world, self.bot, chat_id, since)
            if now and now == texts:
                break
            texts = now
        return texts

    async def text(self, worker: int, uid: int, text: str) -> list[str]:
        _message, update = self.world.send_text(uid, text, bot=self.bot.id)
        return await self.post(worker, update)

    async def contact(self, worker: int, uid: int, mobile: str) -> list[str]:
        _message, update = self.world.share_contact(uid, mobile, bot=self.bot.id)
        return await self.post(worker, update)


async def _delete_webhook(cluster: Cluster, api_base: str, token: str) -> None:
    """Updates then stay in the sandbox until the test posts them to the worker it chooses."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{api_base}/bot{token}/deleteWebhook") as response,
    ):
        assert response.status == 200


async def test_any_worker_continues_a_chat_and_the_agent_sees_every_line(
    cluster: Cluster, sandbox: Any
) -> None:
    from sandbox import DEMO_TELEGRAM_TOKEN

    await _delete_webhook(cluster, sandbox.api_base, DEMO_TELEGRAM_TOKEN)
    driver = Driver(sandbox, cluster)
    uid = sandbox.world.create_user(first_name="کاربر خوشه").id
    national_id, mobile = PERSONAS[0]
    a, b, c = 0, 1, 2

    # A flow started on one worker continues on another: the contact on A, the ID on B.
    assert await driver.contact(a, uid, mobile)
    answer = await driver.text(b, uid, national_id)
    assert any(VERIFIED in t for t in answer), answer

    # Lines through C and B, then the escalation on A: their intent-log rows are still in B's
    # and C's buffers (a minute's batch here) unless A asks every worker for them.
    line_c = "بیمه‌ام فعاله؟"
    line_b = "آخرین سابقه‌ام رو می‌خوام"
    assert await driver.text(c, uid, line_c)
    assert await driver.text(b, uid, line_b)
    assert await driver.text(a, uid, "با کارشناس صحبت کنم")

    settings = _settings(cluster)
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            conversation = (
                await session.scalars(select(Conversation).where(Conversation.chat_id == uid))
            ).one()
        shown = [line["text"] for line in conversation.escalation["transcript"]]
    finally:
        await engine.dispose()
    assert line_c in shown and line_b in shown, shown


async def test_the_proxy_checks_path_method_and_secret(cluster: Cluster) -> None:
    base = cluster.public_base_url
    async with aiohttp.ClientSession() as http:

        async def status(method: str, path: str, **kwargs: Any) -> int:
            async with http.request(method, base + path, **kwargs) as response:
                return response.status

        assert await status("POST", "/webhook/telegram", json={}) == 403
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"}
        assert await status("POST", "/webhook/telegram", json={}, headers=wrong) == 403
        assert await status("GET", "/webhook/telegram") == 405
        assert await status("POST", "/webhook/bale/not-the-secret", json={}) == 404
        assert await status("GET", "/readyz") == 404  # health is for the proxy, not the world
        right = {"X-Telegram-Bot-Api-Secret-Token": cluster.secret}
        # Past the proxy: a worker answers (400: an empty body is no update).
        assert await status("POST", "/webhook/telegram", json={}, headers=right) == 400


def _settings(cluster: Cluster) -> Settings:
    from services.settings import load_settings

    return load_settings(database_url=cluster.env["DATABASE_URL"])


# ------------------------------------------------------------------ kill -9 and rolling restart

# The bar, sized to fit the suite: every user's contact, national ID and chatter offered
# at ``RATE`` (200 updates/s) for ``SECONDS``, the kill a third of the way in, then the rolling
# restart at ``RESTART_RATE``. This shared 2-core machine handles fewer than 200/s, so most of
# what is offered waits at the platform (the sandbox) as it would at Telegram: at the kill about
# 200 updates are sent and not yet done. CLUSTER_TEST_* set other figures. Before the chat
# lock's renewal was fixed (bot/redis_batch.py), handlers around the kill hung until their
# worker's SIGTERM, and their chats' backlog then came in bursts the flood limit refused.
RATE = float(os.environ.get("CLUSTER_TEST_RATE", "200"))
SECONDS = float(os.environ.get("CLUSTER_TEST_SECONDS", "3"))
# One user per update a second offered: a person writes about once a second at most, and the
# per-process flood limit (8 updates in 4 s, bot/middlewares/throttling.py) refuses a faster
# one with one notice and drops the rest, which this test would count as lost answers.
USERS = int(os.environ.get("CLUSTER_TEST_USERS", str(max(40, int(RATE)))))
# During the rolling restart a steadier stream, so the run stays bounded: every restart happens
# while updates arrive.
RESTART_RATE = float(os.environ.get("CLUSTER_TEST_RESTART_RATE", "5"))
CHATTER = ("سلام", "شماره تماس ۱۴۲۰", "ساعت کاری شعبه‌ها")


async def test_kill_9_and_a_rolling_restart_lose_nothing_and_answer_nothing_twice(
    cluster: Cluster, sandbox: Any
) -> None:
    """Each user verifies (contact, then national ID: a flow over two updates that may land on
    two workers) and then chats, through the proxy: ``RATE`` updates per second for
    ``SECONDS`` with one worker killed by SIGKILL a third of the way in, then a rolling restart
    (the killed worker started again, every other one SIGTERMed, started, ready) while updates
    keep coming at ``RESTART_RATE``.

    The bar is the issue's (as tests/faults/test_kill9.py): no user is left without an answer,
    no flow is broken, and none is answered twice. An update whose answer reached the platform
    while its commit had not completed when the worker was killed is handled again (at least
    once, never lost), and the send ledger (bot/send_ledger.py) keeps the re-run from sending
    that answer again. The updates that were in flight at the kill (sent before it, not marked
    done in the ledger right after it) are counted, to show the kill landed with work behind
    it; the checks for "beyond those" stay to tell a ledger failure from a dedupe failure."""
    from sandbox import DEMO_TELEGRAM_TOKEN

    started_at = time.monotonic()
    world = sandbox.world
    bot = world.resolve_bot(DEMO_TELEGRAM_TOKEN)
    # The platform posts to the proxy again (an earlier test took the webhook away).
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{sandbox.api_base}/bot{DEMO_TELEGRAM_TOKEN}/setWebhook",
            json={
                "url": cluster.public_base_url + "/webhook/telegram",
                "secret_token": cluster.secret,
                "max_connections": 100,
            },
        ) as response,
    ):
        assert response.status == 200

    # How many messages each kind of update gets, measured on one user first.
    expected = await _calibrate(world, bot, world.create_user(first_name="کاربر نمونه").id)
    users = [world.create_user(first_name=f"کاربر {n}").id for n in range(USERS)]
    start_seq = world.seq
    wanted: collections.Counter[int] = collections.Counter()
    # Each update sent: (user, its update_id, the answers it wants, whether it is the ID).
    updates: list[tuple[int, int, int, bool]] = []

    def plan(n: int) -> tuple[int, str, str]:
        """The n-th update: everyone's contact, everyone's national ID, then chatter."""
        uid = users[n % USERS]
        national_id, mobile = PERSONAS[(n % USERS) % 2]
        if n < USERS:
            return uid, "contact", mobile
        if n < 2 * USERS:
            return uid, "id", national_id
        return uid, CHATTER[(n // USERS) % 3], CHATTER[(n // USERS) % 3]

    def send_one() -> None:
        uid, kind, value = plan(len(updates))
        if kind == "contact":
            _message, update = world.share_contact(uid, value, bot=bot.id)
        else:
            _message, update = world.send_text(uid, value, bot=bot.id)
        assert update is not None
        wanted[uid] += expected[kind]
        updates.append((uid, update.update_id, expected[kind], kind == "id"))

    async def stream(rate: float, until: asyncio.Event | float) -> None:
        started, count = time.monotonic(), 0
        while True:
            if isinstance(until, float) and time.monotonic() - started >= until:
                return
            if isinstance(until, asyncio.Event) and until.is_set():
                return
            delay = started + count / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            send_one()
            count += 1

    # The updates that may be answered twice: sent before the kill, not done in the ledger
    # right after it (read before any worker could take them over).
    in_flight: list[tuple[int, int, int, bool]] = []
    done_at_kill: set[int] = set()

    async def kill_midway() -> None:
        await asyncio.sleep(SECONDS / 3)
        cluster.kill_worker(0)
        sent = list(updates)
        done_at_kill.update(await _done_updates([u[1] for u in sent]))
        in_flight.extend(u for u in sent if u[1] not in done_at_kill)

    killer = asyncio.create_task(kill_midway())
    await stream(RATE, SECONDS)
    await killer
    done = asyncio.Event()

    async def restarts() -> None:
        try:
            await cluster.start_worker(0)  # back after the kill
            for index in range(1, len(cluster.workers)):
                await cluster.restart_worker(index)
        finally:
            done.set()

    restarting = asyncio.create_task(restarts())
    await stream(RESTART_RATE, done)
    await restarting
    await _wait_until_answered(world, bot, users, wanted, start_seq)

    may_repeat: collections.Counter[int] = collections.Counter()
    id_may_repeat: set[int] = set()
    for uid, _update_id, answers, is_id in in_flight:
        may_repeat[uid] += answers
        if is_id:
            id_may_repeat.add(uid)
    lost, twice, beyond, broken = [], [], [], []
    for uid in users:
        texts = _bot_texts(world, bot, uid, start_seq)
        if len(texts) < wanted[uid]:
            lost.append(uid)
        elif len(texts) > wanted[uid]:
            twice.append(uid)
            if len(texts) - wanted[uid] > may_repeat[uid]:
                beyond.append(uid)
        verified = sum(VERIFIED in t for t in texts)
        if verified == 0 or (verified > 1 and uid not in id_may_repeat):
            broken.append(uid)
    seconds = time.monotonic() - started_at
    summary = (
        f"{len(updates)} updates to {USERS} users in {seconds:.0f} s, "
        f"{len(done_at_kill)} done and {len(in_flight)} in flight at the kill"
    )
    print(
        f"kill -9 and rolling restart: {summary}; users with an update lost {len(lost)}, "
        f"answered twice {len(twice)} (beyond the updates in flight at the kill "
        f"{len(beyond)}), verification broken {len(broken)}"
    )
    logs = "\n".join(w.log_tail(1500) for w in cluster.workers)
    assert done_at_kill, summary  # killed with work behind it
    assert not lost, f"{summary}: {len(lost)} users missed answers, e.g. {lost[:3]}\n{logs}"
    assert not beyond, (
        f"{summary}: {len(beyond)} users answered twice for an update that was not in flight "
        f"at the kill, e.g. {beyond[:3]}"
    )
    assert set(twice) <= set(may_repeat), summary
    assert not twice, (
        f"{summary}: {len(twice)} users answered twice, e.g. {twice[:3]}; what the first was "
        f"sent: {_bot_texts(world, bot, twice[0], start_seq) if twice else []}\n{logs}"
    )
    assert not broken, f"{summary}: {len(broken)} verifications broken, e.g. {broken[:3]}"


async def _done_updates(update_ids: list[int]) -> set[int]:
    """The updates the workers' shared ledger (Redis, bot/middlewares/dedupe.py) holds as done."""
    from redis.asyncio import Redis

    from benchmarks.cluster import CLUSTER_REDIS_URL

    if not update_ids:
        return set()
    client = Redis.from_url(CLUSTER_REDIS_URL)
    try:
        values = await client.mget([f"tamin:update:telegram:{u}" for u in update_ids])
    finally:
        await client.aclose()
    return {u for u, v in zip(update_ids, values, strict=True) if v == b"done"}


def _bot_texts(world: Any, bot: Any, uid: int, since: int) -> list[str]:
    return [
        e["message"].get("rendered_text") or e["message"].get("text") or ""
        for e in world.events(bot, uid, since)
        if e["kind"] == "message" and e["sender"] == "bot"
    ]


async def _answers_to(world: Any, bot: Any, uid: int, send: Any) -> int:
    since = world.seq
    send()
    await world.wait_idle(0.5, 30.0, bot.id)
    return len(_bot_texts(world, bot, uid, since))


async def _calibrate(world: Any, bot: Any, uid: int) -> dict[str, int]:
    national_id, mobile = PERSONAS[0]
    counts: dict[str, int] = {
        "contact": await _answers_to(
            world, bot, uid, lambda: world.share_contact(uid, mobile, bot=bot.id)
        ),
        "id": await _answers_to(
            world, bot, uid, lambda: world.send_text(uid, national_id, bot=bot.id)
        ),
    }
    for text in CHATTER:
        counts[text] = await _answers_to(
            world, bot, uid, lambda t=text: world.send_text(uid, t, bot=bot.id)
        )
    assert all(counts.values()), counts
    return counts


async def _wait_until_answered(
    world: Any, bot: Any, users: list[int], wanted: collections.Counter[int], since: int
) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if all(len(_bot_texts(world, bot, uid, since)) >= wanted[uid] for uid in users):
            break
        await asyncio.sleep(0.5)
    # Anything extra (an update answered twice) shows up within a quiet moment.
    await world.wait_idle(1.0, 30.0, bot.id)
