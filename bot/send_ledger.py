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
- **Key.** A call is named by its update (platform, bot id, update_id), the digest of its
  method and payload, and how many calls of the same digest the update made before it (``n``).
  The suggested design numbered calls by position (1, 2, 3 …) and compared digests; naming by
  digest and occurrence keeps that promise without its weak spot: a call that takes no number
  in one attempt and does in the other (an answer the pace hands to the outbox) would shift
  every later position and make a sent reply look new. A handler that sends two identical
  messages in one update still sends both (n = 1, 2).
- **Record the instant the request has left.** ``bot.session`` writes the request's body to
  the socket and, in the same step, calls the ledger, which records the call at once: a
  statement in a SQLite file, or a command written straight to a Redis socket (not awaited).
  Either is in the kernel's hands before anything else runs, so it survives a kill -9.
- **Replay.** At an update's first send, the calls an earlier attempt recorded are read (one
  look-up per update, batched with the other updates' Redis reads of the loop turn). A call
  found there is *not* sent again: the handler gets a result built from the call (message id
  0, as for an answer the pace hands to the outbox; the ids are kept only of a call recorded
  after its answer, an upload). A call whose payload differs (the flow's state moved on) has
  another digest and is sent. A call that fails (4xx, 429: the pace middleware outside this
  one retries it as the same call), or whose outcome is unknown (a timeout), has its record
  removed at once: at least once, never lost.
- **Around the pace.** The ledger is registered in two parts around ``bot.pacing``
  (:meth:`SendLedgerMiddleware.install`): the replay is answered outside it (a re-run takes
  no slot of the chat's and cannot hand to the outbox a reply that already went), the record is
  made inside it (only for a request that leaves, never for an answer the pace writes to the
  outbox in the update's own transaction; a 429 the pace retries is the same call).
- **Why after, not before.** The first version marked each call before sending it (awaited,
  then sent). On Python 3.11 aiohttp writes the body in a task of its own, a turn of the event
  loop after the call, and under load a turn takes tens of milliseconds: a kill there left a
  mark for a reply that never left, and 7 of 60 users were never answered when three bots ran
  at once. A lost reply is worse than a repeated one; recording after the write closes both.
- **Where.** In Redis when configured (every worker shares it: the cluster): a set per update,
  ``SADD`` + ``EXPIRE`` written on a connection of the ledger's own
  (:class:`RedisWriteChannel`). Without Redis (one process: the embedded default), a SQLite file
  of its own beside the database (:class:`SqliteSendStore`): not the database itself, because
  on SQLite the update's transaction may hold the one write lock and a second transaction
  would wait for it. Records live as long as an update may come again
  (``bot.processed_updates_hours``).
- **Residual windows.** A reply is sent twice only if the process is killed between its last
  byte entering the kernel and the record entering it (or being committed to the SQLite WAL):
  a few microseconds of code with no await. A reply is lost only if it is refused (4xx) and
  the process is killed between reading the refusal and removing the record, likewise. An
  upload (multipart: ``sendPhoto`` with a file) is recorded after its answer, the old window
  (its HTTP round trip), since aiogram's form path is not watched. A Redis that loses its data
  (restart without persistence) loses the records, as it loses the done marks. Costs are under
  Benchmarks in the README (``python -m benchmarks send_ledger``).
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
from aiogram.client.session.base import BaseSession
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
from redis.asyncio import Redis

from bot.pacing import PACED_METHODS
from bot.redis_batch import RedisBatcher
from bot.session import request_written

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

    __slots__ = ("counts", "platform", "sent", "update_id")

    def __init__(self, platform: str, update_id: int) -> None:
        self.platform = platform
        self.update_id = update_id
        self.counts: dict[str, int] = {}
        # What earlier attempts sent (call -> message ids), read at the update's first send.
        self.sent: dict[str, str] | None = None


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
    async def sent(self, update: str) -> dict[str, str]:
        """The calls an earlier attempt of ``update`` sent: call -> its message ids (or "-")."""

    def mark(self, update: str, call: str, result: str = PENDING) -> None:
        """Record the call as sent, at once: durable before anything else runs."""

    def unmark(self, update: str, call: str) -> None:
        """Forget the record of a call that failed, at once."""


def _resp(*parts: str | int) -> bytes:
    """One Redis command in the protocol's array form."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = str(part).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Replies(asyncio.Protocol):
    """Reads the channel's replies: one line each (``:1``, ``+OK``); an error is logged."""

    def __init__(self, channel: RedisWriteChannel) -> None:
        self.channel = channel
        self.transport: asyncio.Transport | None = None
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        *lines, self._buffer = (self._buffer + data).split(b"\r\n")
        for line in lines:
            if line.startswith(b"-"):
                self.channel.refused += 1
                logger.warning(
                    "Redis refused a send record (%s)", line[:60].decode(errors="replace")
                )

    def connection_lost(self, exc: Exception | None) -> None:
        if self.channel.transport is self.transport:  # not a newer connection's
            self.channel.transport = None


class RedisWriteChannel:
    """A connection of its own to Redis on which a command is written *at once*, not awaited.

    redis-py sends a command only inside a coroutine, whose first step runs on a later turn of
    the event loop; under load a turn takes many milliseconds, and a kill in it would leave a
    reply sent but not recorded (sent again at the re-run). Here ``transport.write`` hands the
    command to the kernel in the caller's own step, and the kernel delivers it to Redis even if
    this process is killed the next instant. The replies are read and only errors logged.
    While the connection is down (at start, after a Redis restart) commands go through
    redis-py as tasks, and the channel connects again.
    """

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.transport: asyncio.Transport | None = None
        self.refused = 0
        self._connecting: asyncio.Future[None] | None = None

    async def connect(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            return
        if self._connecting is None or self._connecting.done():  # one connection at a time
            self._connecting = asyncio.ensure_future(asyncio.wait_for(self._open(), 5))
        await asyncio.shield(self._connecting)

    async def _open(self) -> None:
        pool = self.redis.connection_pool
        options = pool.connection_kwargs
        loop = asyncio.get_running_loop()
        if "path" in options:
            transport, _ = await loop.create_unix_connection(
                lambda: _Replies(self), options["path"]
            )
        else:
            ssl = getattr(pool.connection_class, "__name__", "") == "SSLConnection" or None
            transport, _ = await loop.create_connection(
                lambda: _Replies(self),
                options.get("host", "localhost"),
                options.get("port", 6379),
                ssl=ssl,
            )
        assert isinstance(transport, asyncio.Transport)
        head = b""
        if options.get("password"):
            user = options.get("username")
            auth = ("AUTH", user, options["password"]) if user else ("AUTH", options["password"])
            head += _resp(*auth)
        head += _resp("SELECT", int(options.get("db", 0) or 0))
        transport.write(head)
        self.transport = transport

    def write(self, *commands: tuple[str | int, ...]) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(b"".join(_resp(*command) for command in commands))
            return
        # Down: through redis-py (a loop turn later), and connect again meanwhile.
        for command in commands:
            client: Any = self.redis  # redis-py leaves execute_command untyped
            task = asyncio.ensure_future(client.execute_command(*command))
            task.add_done_callback(_log_failure)
        if self._connecting is None or self._connecting.done():
            asyncio.ensure_future(self.connect()).add_done_callback(_log_failure)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("send record not written (%s)", type(task.exception()).__name__)


class RedisSendStore:
    """Records in Redis (``REDIS_URL``), shared by every worker: a set of calls per update,
    expiring ``ttl`` seconds after its last call."""

    def __init__(
        self,
        redis: Redis,
        *,
        ttl: int,
        prefix: str = "tamin:sent",
        batcher: RedisBatcher | None = None,
    ) -> None:
        self.channel = RedisWriteChannel(redis)
        self.batcher = batcher or RedisBatcher(redis)
        self.ttl = ttl
        self.prefix = prefix

    async def sent(self, update: str) -> dict[str, str]:
        # Once per update that sends, in the loop turn's pipeline with the other updates'
        # reads; the channel is (re)connected here, where waiting is allowed.
        await self.channel.connect()
        members = await self.batcher.smembers(f"{self.prefix}:{update}")
        return {m.decode() if isinstance(m, bytes) else str(m): PENDING for m in members}

    def mark(self, update: str, call: str, result: str = PENDING) -> None:
        # The message ids are not kept in Redis: no handler reads the id of a message it
        # sent, and a replay answers message id 0, as an answer handed to the outbox does.
        key = f"{self.prefix}:{update}"
        self.channel.write(("SADD", key, call), ("EXPIRE", key, self.ttl))

    def unmark(self, update: str, call: str) -> None:
        self.channel.write(("SREM", f"{self.prefix}:{update}", call))

    def close(self) -> None:
        self.channel.close()


class SqliteSendStore:
    """Records in a SQLite file of this process (no Redis: one process answers the chats).

    Statements run on the event loop: an insert by primary key into a small WAL file that no
    other process writes takes ~20 µs, less than a hand-off to a thread, never waits for a lock,
    and is done before the caller's next step. ``synchronous=NORMAL`` in WAL mode writes each
    commit to the log without fsync: a process killed afterwards loses nothing. Rows older
    than ``ttl`` are deleted at start and every ``PRUNE_EVERY`` records.
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
            "CREATE TABLE IF NOT EXISTS sent_calls (update_key TEXT NOT NULL, call TEXT NOT NULL,"
            " result TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (update_key, call))"
            " WITHOUT ROWID"
        )
        self.db.execute("CREATE INDEX IF NOT EXISTS ix_sent_calls_at ON sent_calls (at)")
        self._marks = 0
        self.prune()
        weakref.finalize(self, self.db.close)

    def prune(self) -> None:
        self.db.execute("DELETE FROM sent_calls WHERE at < ?", (self.clock() - self.ttl,))

    async def sent(self, update: str) -> dict[str, str]:
        rows = self.db.execute(
            "SELECT call, result FROM sent_calls WHERE update_key = ?", (update,)
        ).fetchall()
        return {str(call): str(result) for call, result in rows}

    def mark(self, update: str, call: str, result: str = PENDING) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO sent_calls (update_key, call, result, at) VALUES (?, ?, ?, ?)",
            (update, call, result, self.clock()),
        )
        self._marks += 1
        if self._marks % self.PRUNE_EVERY == 0:
            self.prune()

    def unmark(self, update: str, call: str) -> None:
        self.db.execute("DELETE FROM sent_calls WHERE update_key = ? AND call = ?", (update, call))

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


# The call the ledger's outer part let through (update, call), for its inner part to record.
_current_call: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "current_call", default=None
)


class SendLedgerMiddleware(BaseRequestMiddleware):
    """Session middleware in two parts around the pace (:meth:`install`).

    - Outside the pace: names the call and, when an earlier attempt of the update sent it,
      answers in its place; the pace is not asked (a re-run takes no slot of the chat's, and
      cannot hand to the outbox a reply that already went).
    - Inside the pace (:class:`_Recorder`): records the request the instant it has left, so
      never an answer the pace hands to the outbox (that one is written in the update's own
      transaction), and a 429 the pace retries is the same call, recorded once.
    """

    def __init__(self, store: SendStore) -> None:
        self.store = store
        self.recorder = _Recorder(store)
        self.replayed = 0  # calls not sent again, for tests and metrics

    def install(self, session: BaseSession, *between: BaseRequestMiddleware) -> None:
        """Register on ``session``: this part, then ``between`` (the pace), then the recorder
        (aiogram runs the first registered outermost)."""
        session.middleware(self)
        for middleware in between:
            session.middleware(middleware)
        session.middleware(self.recorder)

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        scope = current_update.get()
        if scope is None or not isinstance(method, ONCE_METHODS):
            return await make_request(bot, method)
        # Update ids are unique per bot (Telegram's, Bale's), not per platform.
        update = f"{scope.platform}:{bot.id}:{scope.update_id}"
        if scope.sent is None:  # once per update: what an earlier attempt sent
            scope.sent = await self.store.sent(update)
        digest = digest_of(method)
        n = scope.counts.get(digest, 0) + 1
        scope.counts[digest] = n
        call = f"{digest}:{n}"
        stored = scope.sent.get(call)
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
        token = _current_call.set((update, call))
        try:
            return await make_request(bot, method)
        except BaseException:
            scope.counts[digest] = n - 1  # not sent: the next try is the same call
            raise
        finally:
            _current_call.reset(token)


class _Recorder(BaseRequestMiddleware):
    """The ledger's inner part: records the call the outer part let through, once it has left."""

    def __init__(self, store: SendStore) -> None:
        self.store = store

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        current = _current_call.get()
        if current is None:
            return await make_request(bot, method)
        update, call = current
        marked = False

        def written() -> None:
            # The request has left this process (bot.session): record it in the same step.
            nonlocal marked
            self.store.mark(update, call)
            marked = True

        hook = request_written.set(written)
        try:
            result = await make_request(bot, method)
        except BaseException:
            # Refused (4xx; a 429 the pace retries) or of unknown outcome (a timeout): not
            # counted as sent, the record goes at once. At least once, never lost.
            if marked:
                self.store.unmark(update, call)
            raise
        finally:
            request_written.reset(hook)
        if not marked:
            # A body the session could not watch (an upload, another session) is recorded
            # now, after its answer. A watched one is not written again with the message ids
            # of the answer (the SQLite file did, a second write per reply, 3 % of an update's
            # CPU on PostgreSQL by polling): no handler reads the id of a message it sent,
            # and a replay answers message id 0 as with Redis.
            try:
                self.store.mark(update, call, result_ids(result))
            except Exception as exc:  # the record failing must never fail the send
                logger.warning("send record not written (%s)", type(exc).__name__)
        return result
