"""Every Redis key the bot writes expires (issue 17, finding 10): flow data holds dependants'
national IDs and complaint texts, and used to stay for ever (TTL −1)."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from bot import texts
from bot.factory import BotDeps
from services.clock import FixedClock
from tests.bot.conftest import make_harness


@pytest.mark.redis
async def test_every_key_written_in_a_flow_has_a_ttl(
    bot_deps: BotDeps, clock: FixedClock, redis_fsm: tuple[Redis, str]
) -> None:
    client, prefix = redis_fsm
    harness = make_harness(bot_deps, (client, prefix), clock=clock)
    chat = harness.chat()
    await chat.send("میخوام شکایت ثبت کنم")
    await chat.click(texts.CATEGORY_LABELS["insurance"])
    calls = await chat.send("کارفرمای من با کد ملی ۶۵۰۸۱۲۴۲۲۶ حق بیمه را نپرداخته است.")
    assert "عکس یا سندی" in chat.joined(calls)
    keys = [key.decode() async for key in client.scan_iter(f"{prefix}:*")]
    kinds = {key.rsplit(":", 1)[-1] for key in keys}
    assert {"state", "data"} <= kinds, keys
    assert any(":update:" in key for key in keys), keys
    limit = bot_deps.settings.config.retention.flow_state_hours * 3600
    # An update's dedupe mark (ids only) lasts as long as the platform may re-send it.
    update_limit = bot_deps.settings.config.bot.processed_updates_hours * 3600
    for key in keys:
        ttl = await client.ttl(key)
        bound = update_limit if ":update:" in key else max(limit, 600)
        assert 0 < ttl <= bound, (key, ttl)
    data_key = next(key for key in keys if key.endswith(":data"))
    assert limit - 60 < await client.ttl(data_key) <= limit
