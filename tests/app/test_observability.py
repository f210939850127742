"""Probes and logs of a process: ``/readyz`` over real HTTP, JSON log lines without PII."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.log_setup import JsonFormatter, configure_logging
from app.run import start_metrics_server
from services.clock import FixedClock
from services.db import create_engine, create_session_factory
from services.observability import sample_queues
from services.settings import Settings, load_settings
from services.supervision import Supervisor
from tests.bot.conftest import redis_available  # noqa: F401 (the fixture)

NATIONAL_ID = "6508124226"
MOBILE = "09121234567"
BOT_TOKEN = "123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0"
UNREACHABLE_PG = "postgresql+asyncpg://nobody:nothing@127.0.0.1:1/none"


def _settings(database_url: str, **env: Any) -> Settings:
    return load_settings(database_url=database_url, metrics_port=0, **env)


async def _probe(settings: Settings, **probes: object) -> tuple[int, dict[str, object], str]:
    """Start the metrics server of ``settings`` and ask its /readyz and /metrics."""
    server = await start_metrics_server(settings, **probes)
    assert server is not None
    try:
        async with httpx.AsyncClient(base_url=server.url, trust_env=False) as http:
            ready = await http.get("/readyz")
            page = await http.get("/metrics")  # open on the internal address
            assert page.status_code == 200
            return ready.status_code, ready.json(), page.text
    finally:
        await server.stop()


async def test_readyz_fails_when_the_database_is_unreachable(tmp_path: Path) -> None:
    bad = _settings(UNREACHABLE_PG)
    engine = create_engine(bad)
    try:
        status, body, _ = await _probe(
            bad, supervisor=None, session_factory=create_session_factory(engine)
        )
    finally:
        await engine.dispose()
    assert status == 503
    assert body["status"] == "not ready" and body["database"] != "ok"

    good = _settings(f"sqlite+aiosqlite:///{tmp_path / 'ok.db'}")
    engine = create_engine(good)
    try:
        status, body, page = await _probe(
            good, supervisor=None, session_factory=create_session_factory(engine)
        )
    finally:
        await engine.dispose()
    assert status == 200 and body["database"] == "ok"
    assert "tamin_updates_total" in page or "# HELP tamin_updates" in page


async def test_readyz_fails_when_redis_or_the_model_or_a_task_is_missing(tmp_path: Path) -> None:
    from redis.asyncio import Redis

    settings = _settings(f"sqlite+aiosqlite:///{tmp_path / 'ok.db'}")
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        status, body, _ = await _probe(settings, supervisor=None, redis=redis)
    finally:
        await redis.aclose()
    assert status == 503 and body["redis"] != "ok"

    status, body, _ = await _probe(settings, supervisor=None, model_loaded=False)
    assert status == 503 and body["model"] == "not loaded"

    supervisor = Supervisor(first_delay=30, max_delay=30)

    async def fails() -> None:
        raise RuntimeError("down")

    supervisor.start("outbound", fails)
    try:
        import asyncio

        await asyncio.sleep(0.05)
        status, body, _ = await _probe(settings, supervisor=supervisor, model_loaded=True)
    finally:
        await supervisor.stop()
    assert status == 503
    assert body["tasks"]["outbound"]["running"] is False  # type: ignore[index]


@pytest.mark.redis
async def test_readyz_is_ready_with_a_reachable_redis(
    tmp_path: Path,
    redis_available: bool,  # noqa: F811
) -> None:
    from redis.asyncio import Redis

    if not redis_available:
        pytest.skip("no Redis on loopback")
    settings = _settings(f"sqlite+aiosqlite:///{tmp_path / 'ok.db'}")
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        status, body, _ = await _probe(settings, supervisor=None, redis=redis, model_loaded=True)
    finally:
        await redis.aclose()
    assert status == 200 and body["redis"] == "ok" and body["model"] == "loaded"


def test_without_a_port_there_is_no_metrics_server() -> None:
    import asyncio

    settings = load_settings(database_url="sqlite+aiosqlite:///:memory:")
    assert asyncio.run(start_metrics_server(settings, supervisor=None)) is None


def test_json_log_lines_parse_and_carry_no_personal_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = logging.getLogger()
    before = root.level
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    monkeypatch.setenv("TAMIN_LOG_FORMAT", "json")
    try:
        configure_logging(logging.INFO)  # as the command line does, before the settings
        assert isinstance(handler.formatter, JsonFormatter)
        log = logging.getLogger("tests.app.json")
        log.info("user %s shared %s", NATIONAL_ID, MOBILE)
        log.warning("calling https://api.telegram.org/bot%s/sendMessage", BOT_TOKEN)
        log.info("Persian digits too: ۶۵۰۸۱۲۴۲۲۶ و ۰۹۱۲۱۲۳۴۵۶۷")
        try:
            raise ValueError(f"bad national id {NATIONAL_ID} for {MOBILE}")
        except ValueError:
            log.exception("failed for %s", NATIONAL_ID)
    finally:
        configure_logging(logging.INFO, "text")
        root.removeHandler(handler)
        root.setLevel(before)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4
    records = [json.loads(line) for line in lines]  # each line one JSON object
    assert [r["level"] for r in records] == ["INFO", "WARNING", "INFO", "ERROR"]
    assert {r["logger"] for r in records} == {"tests.app.json"}
    assert all(r["time"].endswith("+00:00") for r in records)
    assert "ValueError" in records[3]["exc"] and "Traceback" in records[3]["exc"]
    assert "123456789:***" in records[1]["message"]
    text = stream.getvalue()
    for secret in (NATIONAL_ID, MOBILE, BOT_TOKEN, BOT_TOKEN.split(":")[1]):
        assert secret not in text
    assert "۶۵۰۸۱۲۴۲۲۶" not in text and "۰۹۱۲۱۲۳۴۵۶۷" not in text
    # Persian stays readable (not \\u escapes) for whoever reads the shipped logs.
    assert "Persian digits too" in records[2]["message"] and " و " in records[2]["message"]


def test_the_log_format_setting_is_checked() -> None:
    from services.settings import EnvSettings

    assert EnvSettings(tamin_log_format=" JSON ").tamin_log_format == "json"
    with pytest.raises(ValueError, match="tamin_log_format"):
        EnvSettings(tamin_log_format="xml")


async def test_the_queue_sampler_reads_the_database(
    session_factory: object, clock: FixedClock, db_settings: Settings
) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from services.db.handoff_models import Conversation
    from services.enums import ConversationStatus, HandoffReason
    from services.metrics import metrics
    from services.outbox import enqueue

    assert isinstance(session_factory, async_sessionmaker)
    factory: async_sessionmaker[AsyncSession] = session_factory
    now = clock.now()
    async with factory() as session:
        for chat in (1, 2):
            enqueue(session, clock, platform="telegram", chat_id=chat, payload={"kind": "x"})
        for chat, minutes in ((1, 5), (2, 12)):
            session.add(
                Conversation(
                    platform="telegram",
                    chat_id=chat,
                    status=ConversationStatus.QUEUED.value,
                    reason=HandoffReason.HUMAN_AGENT.value,
                    escalation={},
                    created_at=now - dt.timedelta(minutes=minutes),
                    last_message_at=now,
                )
            )
        await session.commit()
    sample = await sample_queues(factory, clock)
    assert sample.outbox_pending == 2 and sample.handoff_queued == 2
    assert sample.handoff_oldest_wait_s == pytest.approx(12 * 60, abs=1)
    exposition = metrics().exposition().decode()
    assert "tamin_outbox_pending 2.0" in exposition
    assert "tamin_handoff_queue_length 2.0" in exposition
    assert "tamin_handoff_oldest_wait_seconds 720.0" in exposition


def test_a_token_in_a_request_url_is_masked_in_text_lines_too() -> None:
    """Regression: «bot123…:AA…» in a URL has no word boundary before the digits."""
    from bot.pii import scrub

    line = scrub(f"POST https://tapi.bale.ai/bot{BOT_TOKEN}/sendMessage")
    assert BOT_TOKEN.split(":")[1] not in line and "bot123456789:***/sendMessage" in line


def test_the_grafana_dashboard_draws_every_metric_and_only_ours() -> None:
    import re

    from services.metrics import metrics
    from services.settings import PROJECT_ROOT

    dashboard = json.loads((PROJECT_ROOT / "deploy/grafana/tamin.json").read_text("utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {
        re.sub(r"_(total|bucket|count|sum)$", "", name)
        for expr in exprs
        for name in re.findall(r"\btamin_\w+", expr)
    }
    ours = {
        family.name for family in metrics().registry.collect() if family.name.startswith("tamin_")
    }
    assert used <= ours, used - ours
    assert ours <= used, ours - used


def test_a_label_from_outside_has_a_bounded_number_of_values() -> None:
    from services.metrics import BoundedLabel

    label = BoundedLabel(3)
    assert [label(v) for v in ("a", "b", "a", "c", "forged-1", "forged-2", "b")] == [
        "a",
        "b",
        "a",
        "c",
        "other",
        "other",
        "b",
    ]


async def test_the_console_serves_metrics_only_with_the_token(tmp_path: Path) -> None:
    from console.app import create_console_app
    from services.db import upgrade_database

    url = f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"
    clock = FixedClock(dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC))
    for token, expected in ((None, 404), ("console-metrics-0123456789", 401)):
        settings = load_settings(database_url=url, metrics_token=token)
        await upgrade_database(settings)
        engine = create_engine(settings)
        try:
            app = create_console_app(settings, create_session_factory(engine), clock)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://console") as http:
                assert (await http.get("/metrics")).status_code == expected
                assert (await http.get("/readyz")).json()["database"] == "ok"
                if token is not None:
                    page = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
                    assert page.status_code == 200 and "tamin_updates_total" in page.text
        finally:
            await engine.dispose()
