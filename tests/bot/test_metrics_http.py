"""``/metrics`` over real HTTP after real updates: the webhook app, the sandbox, the dispatcher.

The sandbox posts Maryam's updates to the bot's own webhook app (uvicorn); the dispatcher
handles them with the real NLU and database; then ``/metrics`` on the same app must show the
named metrics moved — and refuse a caller without the token.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.run import QuietServer, build_web_app
from bot.factory import BotDeps, build_dispatcher
from bot.middlewares.throttling import ThrottlingMiddleware
from bot.webhook import set_webhooks
from console.http_guard import server_config
from nlu import NluModel
from sandbox import SandboxClient, SandboxServer
from services.metrics import metrics
from tests.bot.test_over_http import (
    _free_port,
    maryam_checks_her_eligibility,
    sandbox,  # noqa: F401 (the fixture)
    sandbox_bots,
)

pytestmark = pytest.mark.e2e

TOKEN = "metrics-token-0123456789"


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition ``text`` (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


async def test_metrics_show_a_real_update_through_the_dispatcher(
    sandbox: SandboxServer,  # noqa: F811
    bot_deps: BotDeps,
) -> None:
    bots = sandbox_bots(sandbox)
    dp = build_dispatcher(bot_deps, throttling=ThrottlingMiddleware(limit=1000, window=1))
    secret = "test-secret_0123456789"
    assert isinstance(bot_deps.nlu, NluModel)
    app = build_web_app(
        dp,
        bots,
        bot_deps.nlu,
        secret,
        session_factory=bot_deps.session_factory,
        metrics_token=TOKEN,
    )
    before = metrics().exposition().decode()
    port = _free_port()
    server = QuietServer(server_config(app, host="127.0.0.1", port=port))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 (uvicorn's readiness is only a flag)
            await asyncio.sleep(0.01)
        base = f"http://127.0.0.1:{port}"
        await set_webhooks(dp, bots, base, secret)
        async with SandboxClient(sandbox.url, quiet_ms=300) as client:
            await maryam_checks_her_eligibility(client, "telegram")
        async with httpx.AsyncClient(base_url=base, trust_env=False) as http:
            assert (await http.get("/metrics")).status_code == 401
            wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            page = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/plain")
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["database"] == "ok" and ready.json()["model"] == "loaded"
    finally:
        server.should_exit = True
        await serving
        for bot in bots:
            await bot.session.close()
    after = page.text

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    # /start, the question, the contact and the national ID: four messages at least.
    assert moved("tamin_updates_total", platform="telegram", kind="message") >= 4
    assert moved("tamin_update_seconds_count", platform="telegram", kind="message") >= 4
    assert moved("tamin_intents_total", intent="check_eligibility", source="model") >= 1
    assert moved("tamin_intent_handler_seconds_count", intent="check_eligibility") >= 1
    assert moved("tamin_nlu_confidence_count") >= 1
    assert moved("tamin_verifications_total", outcome="verified") == 1
    assert moved("tamin_db_pool_checkout_seconds_count") >= 1
    for name in (
        "tamin_nlu_fallbacks_total",
        "tamin_handoff_queue_length",
        "tamin_handoff_wait_seconds",
        "tamin_outbox_lag_seconds",
        "tamin_outbox_rate_limited_total",
        "tamin_db_pool_in_use",
        "tamin_redis_errors_total",
    ):
        assert f"# TYPE {name} " in after, name
    # Never a user's id or number as a label.
    assert "6508124226" not in after and "09121234567" not in after


async def test_without_a_token_the_webhook_app_serves_no_metrics(bot_deps: BotDeps) -> None:
    dp = build_dispatcher(bot_deps)
    assert isinstance(bot_deps.nlu, NluModel)
    app = build_web_app(dp, [], bot_deps.nlu, "test-secret_0123456789")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
        assert (await http.get("/metrics")).status_code == 404
        assert (await http.get("/healthz")).status_code == 200
