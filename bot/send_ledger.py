"""A re-run update does not send again what its first attempt sent (issue 17, finding 2).

Updates are delivered at least once and handled once (:mod:`bot.middlewares.dedupe`), but a
handler's *sends* happen before its commit and its done mark. A worker killed after a reply had
reached the platform, before the commit, left the update to be handled again: the reply went
out twice (25 of 300 users on PostgreSQL + Redis at a kill -9). The platforms keep no record a
restarted bot could consult, so the bot keeps one: a *send ledger*.

- **Scope.** :class:`DedupeMiddleware` puts the update being handled in :data:`current_update`
  (platform, update_id). A request middleware of each bot's session
  (:class:`SendLedgerMiddleware`) sees every Bot API call made inside it.
- **Which calls.** Those that put a message in the chat (:data:`ONCE_METHODS`: sendMessage,
  sendPhoto, sendDocument, sendMediaGroup, copyMessage, forwardMessage, …). Edits, chat actions
  and callback answers are harmless when repeated and pass straight through, as does every call
  outside an update (the outbox sender keeps its own record, in the database).
- **Key.** A call is named by the bot and update, the digest of its method and payload, and how many
  calls of the same digest the update made before it: ``(platform, bot id, update_id, digest, n)``.
  The suggested design numbered calls by position (1, 2, 3 …) and compared digests; naming by
  digest and occurrence is the same promise without its weak spot: a call that takes no number
  in one attempt and does in the other (an answer the pace hands to the outbox, a call that
  failed and was tried again) would shift every later position and make a sent reply look new.
  A handler that sends two identical messages in one update still sends both (n = 1, 2).
- **Mark before the send.** Before the request leaves, the key is recorded durably; if it was
  already there, an earlier attempt of this update sent this very call, and it is *not* sent
  again: the handler gets a result built from the call (with the message ids the first send
  got where they were recorded: in the SQLite file, not in Redis; else message id 0). A call
  whose payload differs (the flow's state moved on) has another digest and is sent. A call that
  fails (network error, 4xx, 429: the pace middleware outside this one retries it) has its mark
  removed, so a later attempt sends it; a failure of unknown outcome (a timeout) is counted as
  not sent: at least once, never lost.
- **Where.** In Redis when configured (every worker shares it: the cluster), one
  ``SET key - NX GET EX ttl`` per call: the mark and the replay check in one command and one
  round trip, batched with the other updates' commands of the same loop turn
  (``bot.redis_batch``), awaited before the request leaves. Requires Redis 7.0 (``NX`` with
  ``GET``). Without Redis (one process: the embedded default), in a SQLite file of its own
  beside the database (:class:`SqliteSendStore`): not the database itself, because on SQLite the
  update's transaction may already hold the one write lock and a second transaction would wait
  for it; a statement on the event loop (no thread hand-off), committed to the WAL without
  fsync, which a killed process cannot lose (only a power cut could).
- **Residual window.** Between the mark reaching its store and the request leaving the process
  there is no await that could hand the loop to anything else but aiohttp's own connection
  checkout and write: a kill in that instant leaves a mark for a request that never left, so
  that one reply is not sent on the re-run (the user would get nothing for that update). The
  window is the time from the mark's answer to the request's bytes in the socket's buffer,
  tens of microseconds; the old window (the reply's whole HTTP round trip plus the commit and
  the done mark) was hundreds of milliseconds under load. Costs are under Benchmarks in the
  README.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import hashlib
import logging
import os
import sqlite3
import time
import weakref
from pathlib import Path
from typing import Any, Protocol

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import (
    CopyMessage,
    Response,
    SendDice,
    SendMediaGroup,
    SendPoll,
    SendVenue,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, InputFile, Message, MessageId

from bot.pacing import PACED_METHODS
from bot.redis_batch import RedisBatcher

logger = logging.getLogger(__name__)

# Calls that add a message to the chat: sent again, the user sees it twice.
ONCE_METHODS: tuple[type[TelegramMethod[Any]], ...] = (
    *PACED_METHODS,
    SendPoll,
    SendDice,
    SendVenue,
)

# A mark whose result (message ids) is not known yet.
PENDING = "-"


class UpdateScope:
    """The update whose handler is running, and the calls it made so far, by digest."""

    __slots__ = ("counts", "platform", "update_id")

    def __init__(self, platform: str, update_id: int) -> None:
        self.platform = platform
        self.update_id = update_id
        self.counts: dict[str, int] = {}


# Set by bot.middlewares.dedupe around the handler of an update it took.
current_update: contextvars.ContextVar[UpdateScope | None] = contextvars.ContextVar(
    "current_update", default=None
)


def _fallback(value: Any) -> str:
    # aiogram's "use the bot's default" marker and files have no JSON form of their own.
    if isinstance(value, Default):
        return f"default:{value.name}"
    if isinstance(value, InputFile):
        return f"file:{value.filename}"
    return type(value).__name__


def digest_of(method: TelegramMethod[Any]) -> str:
    """The call's method and payload, hashed (pydantic's JSON: ~15 µs for a text answer)."""
    payload = method.model_dump_json(exclude_none=True, fallback=_fallback)
    data = f"{method.__api_method__}\n{payload}".encode()
    return hashlib.blake2b(data, digest_size=12).hexdigest()


class SendStore(Protocol):
    async def mark(self, key: str) -> str | None:
        """Record the call as sent; return what an earlier attempt recorded (None: new)."""

    def remember(self, key: str, result: str) -> None:
        """Record the call's result (message ids); cheap, not awaited."""

    async def unmark(self, key: str) -> None:
        """Forget the mark of a call that failed."""


class RedisSendStore:
    """Marks in Redis (``REDIS_URL``), shared by every worker; they expire after ``ttl``."""

    def __init__(self, batcher: RedisBatcher, *, ttl: int, prefix: str = "tamin:sent") -> None:
        self.batcher = batcher
        self.ttl = ttl
        self.prefix = prefix

    async def mark(self, key: str) -> str | None:
        # NX with GET: set when absent, else answer the value there; in the loop turn's
        # pipeline with the other updates' commands, and on the server before the send.
        old = await self.batcher.set(
            f"{self.prefix}:{key}", PENDING, nx=True, get=True, ex=self.ttl
        )
        if old is None:
            return None
        return old.decode() if isinstance(old, bytes) else str(old)

    def remember(self, key: str, result: str) -> None:
        # Not recorded in Redis: a second command per reply (measured: ~50 µs of CPU per reply
        # in a burst, ~160 µs alone; ``python -m benchmarks send_ledger``) for a value no
        # handler reads (no handler uses the id of a message it sent). A replay answers
        # message id 0, as an answer handed to the outbox does (bot.pacing).
        return

    async def unmark(self, key: str) -> None:
        await self.batcher.redis.delete(f"{self.prefix}:{key}")


class SqliteSendStore:
    """Marks in a SQLite file of this process (no Redis: one process answers the chats).

    Statements run on the event loop: an insert by primary key into a small WAL file that no
    other process writes takes tens of microseconds, less than a hand-off to a thread, and never
    waits for a lock. ``synchronous=NORMAL`` in WAL mode writes each commit to the log without
    fsync: a process killed afterwards loses nothing. Rows older than ``ttl`` are deleted at
    start and every ``PRUNE_EVERY`` marks.
    """

    PRUNE_EVERY = 1000

    def __init__(self, path: Path, *, ttl: int, clock: Any = time.time) -> None:
        self.path = path
        self.ttl = ttl
        self.clock = clock
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():  # what people were sent is personal data: owner only
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        # Autocommit: each statement is its own transaction, committed when it returns.
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA busy_timeout=2000",
        ):
            self.db.execute(pragma)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS sent_calls (key TEXT PRIMARY KEY, result TEXT NOT NULL,"
            " at REAL NOT NULL) WITHOUT ROWID"
        )
        self.db.execute("CREATE INDEX IF NOT EXISTS ix_sent_calls_at ON sent_calls (at)")
        self._marks = 0
        self.prune()
        weakref.finalize(self, self.db.close)

    def prune(self) -> None:
        self.db.execute("DELETE FROM sent_calls WHERE at < ?", (self.clock() - self.ttl,))

    async def mark(self, key: str) -> str | None:
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO sent_calls (key, result, at) VALUES (?, ?, ?)",
            (key, PENDING, self.clock()),
        )
        if cursor.rowcount == 1:
            self._marks += 1
            if self._marks % self.PRUNE_EVERY == 0:
                self.prune()
            return None
        row = self.db.execute("SELECT result FROM sent_calls WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row is not None else PENDING

    def remember(self, key: str, result: str) -> None:
        self.db.execute("UPDATE sent_calls SET result = ? WHERE key = ?", (result, key))

    async def unmark(self, key: str) -> None:
        self.db.execute("DELETE FROM sent_calls WHERE key = ?", (key,))

    def close(self) -> None:
        self.db.close()


def result_ids(result: Any) -> str:
    """The message ids of a send's result, as stored (``"17"``, ``"17,18"``)."""
    if isinstance(result, list):
        return ",".join(str(getattr(m, "message_id", 0)) for m in result)
    return str(getattr(result, "message_id", 0))


def replayed_result(method: TelegramMethod[Any], stored: str) -> Any:
    """What a handler gets for a call an earlier attempt sent: the ids it recorded, else 0."""
    ids = [int(i) for i in stored.split(",") if i.isdigit()]
    if isinstance(method, CopyMessage):
        return MessageId(message_id=ids[0] if ids else 0)
    chat_id = getattr(method, "chat_id", 0)
    chat = Chat(id=chat_id if isinstance(chat_id, int) else 0, type="private")
    now = dt.datetime.now(dt.UTC)
    if isinstance(method, SendMediaGroup):
        count = len(method.media)
        ids = ids if len(ids) == count else [0] * count
        return [Message(message_id=i, date=now, chat=chat) for i in ids]
    return Message(
        message_id=ids[0] if ids else 0, date=now, chat=chat, text=getattr(method, "text", None)
    )


class SendLedgerMiddleware(BaseRequestMiddleware):
    """Session middleware: a call an earlier attempt of the update sent is not sent again.

    Registered *inside* the pace middleware (after it: aiogram runs the first registered
    outermost), so a mark is written only for a request about to leave, never for an answer the
    pace hands to the outbox (that one is written in the update's own transaction instead).
    """

    def __init__(self, store: SendStore) -> None:
        self.store = store
        self.replayed = 0  # calls not sent again, for tests and metrics

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        scope = current_update.get()
        if scope is None or not isinstance(method, ONCE_METHODS):
            return await make_request(bot, method)
        digest = digest_of(method)
        n = scope.counts.get(digest, 0) + 1
        scope.counts[digest] = n
        # Update ids are unique per bot (Telegram's, Bale's), not per platform.
        key = f"{scope.platform}:{bot.id}:{scope.update_id}:{digest}:{n}"
        try:
            stored = await self.store.mark(key)
        except BaseException:
            scope.counts[digest] = n - 1
            raise
        if stored is not None:
            self.replayed += 1
            logger.info(
                "update %s of %s: %s already sent by an earlier attempt, not sent again",
                scope.update_id,
                scope.platform,
                method.__api_method__,
            )
            # ``make_request`` returns the result itself (``BaseSession.__call__`` casts it).
            return replayed_result(method, stored)  # type: ignore[no-any-return]
        # From here to the request leaving: no await but aiohttp's (the residual window).
        try:
            result = await make_request(bot, method)
        except BaseException:
            # Not sent (or not known to be): a later attempt, or the pace's retry, sends it.
            scope.counts[digest] = n - 1
            await asyncio.shield(self._unmark(key))
            raise
        self.store.remember(key, result_ids(result))
        return result

    async def _unmark(self, key: str) -> None:
        try:
            await self.store.unmark(key)
        except Exception as exc:  # the mark stays: that one reply would not be re-sent
            logger.warning("send mark not removed (%s)", type(exc).__name__)
