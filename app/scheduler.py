"""``tamin-bot scheduler``: the proactive notices' scheduler as a role of its own.

The same :class:`services.notices.NoticeScheduler` runs inside ``tamin-bot run``; any number of
copies may run at once (each notice still goes out once, see ``services.notices``). It only
writes to the outbox: the sender (inside ``run``, or the sender role) delivers. Like the other
roles (``app.roles``) it never migrates and refuses a database not at this code's head
(:class:`services.db.migrate.SchemaNotAtHead`: ``tamin-bot migrate`` first).
"""

from __future__ import annotations

import asyncio
import logging

from app.log_setup import configure_logging
from app.run import _stop_on_signals
from services.clock import product_clock
from services.db import create_engine, create_session_factory
from services.db.migrate import require_schema_at_head
from services.notices import NoticeScheduler
from services.settings import Settings
from services.supervision import Supervisor

logger = logging.getLogger(__name__)


async def run_scheduler(settings: Settings, *, once: bool = False) -> int:
    """Run the scheduler until SIGINT/SIGTERM (``once``: one scan and release, then exit)."""
    configure_logging(settings.env.log_level)
    # On an older schema the rules would read tables or columns that are not there yet.
    await require_schema_at_head(settings)
    engine = create_engine(settings)
    try:
        scheduler = NoticeScheduler(
            create_session_factory(engine), settings, product_clock(settings)
        )
        if once:
            await scheduler.scan()
            sent = await scheduler.release()
            print(f"notices handed to the outbox: {sent}", flush=True)
            return 0
        supervisor = Supervisor()
        with _stop_on_signals() as stop:
            supervisor.start("notices", scheduler.run)
            try:
                await stop.wait()
            finally:
                await supervisor.stop()
        logger.info("scheduler stopped (%s notices handed to the outbox)", scheduler.released)
        return 0
    finally:
        await engine.dispose()


def main(settings: Settings, once: bool) -> int:
    return asyncio.run(run_scheduler(settings, once=once))
