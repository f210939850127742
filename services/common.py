"""Small helpers the service modules share: tracking codes, audit entries, chat users, reads."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVarTuple, overload

from sqlalchemy import Executable, Result, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.selectable import TypedReturnsRows

from services.clock import Clock
from services.db.direct_reads import DirectReads
from services.db.models import AuditLog, ChatUser
from services.errors import NotVerified

logger = logging.getLogger(__name__)

_Ts = TypeVarTuple("_Ts")


@dataclass(frozen=True, slots=True)
class ChatUserInfo:
    """A messenger account as the assistant knows it (built by the identity service)."""

    id: int
    platform: str
    platform_user_id: int
    first_name: str | None
    mobile: str | None
    national_id: str | None
    verified_at: dt.datetime | None
    locked_until: dt.datetime | None

    @property
    def is_verified(self) -> bool:
        return self.national_id is not None and self.verified_at is not None

    @property
    def has_contact(self) -> bool:
        return self.mobile is not None


# How services take "the user": the chat user's id, or the ChatUserInfo the identity service
# returned for this very update (the bot's middleware has it), which saves a look-up.
UserRef = int | ChatUserInfo


def user_id(user: UserRef) -> int:
    """Return the chat user id of a :data:`UserRef`."""
    return user.id if isinstance(user, ChatUserInfo) else user


# Codes are random (secrets), not sequential, so one code says nothing about the others; a
# collision is checked before use and is vanishingly rare for 10+ digits.
_CODE_ATTEMPTS = 50


def random_digits(count: int) -> str:
    """Return ``count`` random ASCII digits from the OS's secure generator."""
    return f"{secrets.randbelow(10**count):0{count}d}"


async def unique_code(
    session: AsyncSession, column: InstrumentedAttribute[str], make: Callable[[], str]
) -> str:
    """Return a code from ``make`` that ``column`` does not hold yet."""
    for _ in range(_CODE_ATTEMPTS):
        code = make()
        taken = await session.scalar(select(column).where(column == code).limit(1))
        if taken is None:
            return code
    raise RuntimeError(f"no free code for {column} after {_CODE_ATTEMPTS} attempts")


def audit(
    session: AsyncSession,
    clock: Clock,
    *,
    actor: str,
    action: str,
    subject: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an audit entry to the session (the caller commits). Pass masked identifiers only."""
    session.add(
        AuditLog(
            created_at=clock.now(),
            actor=actor,
            action=action,
            subject=subject,
            details=details or {},
        )
    )


async def insert_unless_taken(
    session: AsyncSession, entity: Any, values: Mapping[str, Any]
) -> int | None:
    """Insert one row of ``entity`` unless a unique key already holds it; its id, or None.

    How two updates racing to create the same row both end well without a rollback, which is
    the unit of work's alone: the later one inserts nothing (``ON CONFLICT DO NOTHING``, on
    SQLite and PostgreSQL alike, for any unique constraint or index, partial ones included)
    and can read the row the other one wrote.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(entity).values(**values).on_conflict_do_nothing().returning(entity.id)
    new_id: int | None = await session.scalar(statement)
    return new_id


async def load_chat_user(session: AsyncSession, user: UserRef) -> ChatUser:
    """Return the chat user's row, or raise :class:`NotVerified` if the id is unknown."""
    row = await session.get(ChatUser, user_id(user))
    if row is None:
        raise NotVerified(f"no chat user {user_id(user)}")
    return row


@overload
async def read(
    session: AsyncSession,
    statement: TypedReturnsRows[*_Ts],
    parameters: Mapping[str, Any],
) -> Result[*_Ts]: ...


@overload
async def read(
    session: AsyncSession, statement: Executable, parameters: Mapping[str, Any]
) -> Result[*tuple[Any, ...]]: ...


async def read(
    session: AsyncSession, statement: Executable, parameters: Mapping[str, Any]
) -> Result[*tuple[Any, ...]]:
    """Run a column select: in the session's transaction if it has one, else on its own.

    ``session.execute`` takes even a plain column select through the ORM's execution and row
    loading, which cost about as much CPU as the query itself on the bot's per-update reads.
    In a transaction, the connection's own ``execute`` serves: SQLAlchemy Core, the same SQL,
    rows as tuples.

    Rule: unlike ``session.execute`` it does not flush pending ORM changes first, so it is for
    rows the update has not changed (the arrival look-up, the registry's rows, which the bot
    never writes). Kept so on purpose: a flush here would take SQLite's one write lock at the
    read, and hold it through the update's Bot API calls until the commit, instead of only at
    the commit; under load every other writer waits for it, up to the 30 s busy timeout
    (``engine.py``). ``tests/services/test_read.py`` pins the behaviour.

    A session that has not begun a transaction yet (nothing written, nothing read through the
    ORM) does not begin one for this: the database driver runs the select itself where its
    types allow (``services/db/direct_reads.py``), else on PostgreSQL SQLAlchemy runs it on an
    autocommit connection. The ``BEGIN`` and the ``COMMIT`` of a read-only update were two of
    its three round trips on PostgreSQL, and a single select sees the same committed data
    either way (READ COMMITTED, and SQLite's WAL, take a snapshot per statement). The session
    stays without a connection, so its unit of work ends at no cost, and it does not hold a
    pooled connection through the update's Bot API calls. Elsewhere (an in-memory SQLite
    database) the session's connection serves.
    """
    if not session.in_transaction():
        result = await _without_transaction(session.bind, statement, parameters)
        if result is not None:
            return result
    connection = await session.connection()
    return await connection.execute(statement, parameters)


async def _without_transaction(
    bind: Any, statement: Executable, parameters: Mapping[str, Any]
) -> Result[*tuple[Any, ...]] | None:
    """A select run without a transaction: by the driver itself where eligible, else on
    PostgreSQL on an autocommit connection (None: neither serves, a connection must)."""
    reads = direct_reads(bind)
    if reads is None:
        return None
    result = await reads.read(statement, parameters)
    if result is None and reads.autocommit:
        result = await reads.through_sqlalchemy(statement, parameters)
    return result


async def read_outside(
    engine: AsyncEngine, statement: Executable, parameters: Mapping[str, Any]
) -> Result[*tuple[Any, ...]]:
    """Run a column select outside any transaction on ``engine``, buffered.

    As :func:`read` runs one for a session that has begun nothing: by the driver itself where
    eligible (``services/db/direct_reads.py``), else on PostgreSQL on an autocommit
    connection, else on a connection of the engine's pool, returned at once.
    """
    result = await _without_transaction(engine, statement, parameters)
    if result is not None:
        return result
    async with engine.connect() as connection:
        return (await connection.execute(statement, parameters)).freeze()()


def direct_reads(bind: Any) -> DirectReads | None:
    """The direct reads of a session's engine (None for a bind that is not an engine).

    Made once and kept on the engine itself (they use its pool), so they go when it goes.
    """
    if not isinstance(bind, AsyncEngine):
        return None
    reads: DirectReads | None = getattr(bind.sync_engine, _READS_ATTRIBUTE, None)
    if reads is None:
        reads = DirectReads(bind)
        setattr(bind.sync_engine, _READS_ATTRIBUTE, reads)
    return reads


_READS_ATTRIBUTE = "_tamin_direct_reads"


@functools.cache
def _verified_query() -> Executable:
    # Two columns rather than the entity, built once: this starts every inquiry by id.
    return select(ChatUser.national_id, ChatUser.verified_at).where(ChatUser.id == bindparam("id"))


async def verified_national_id(session: AsyncSession, user: UserRef) -> str:
    """Return the verified national ID of a chat user, or raise :class:`NotVerified`.

    Given the :class:`ChatUserInfo` of the current update, no query is needed.
    """
    if isinstance(user, ChatUserInfo):
        if user.national_id is None or user.verified_at is None:
            raise NotVerified()
        return user.national_id
    # session.execute (not read): it flushes first, so a verification made earlier in the
    # same unit of work is seen. The bot passes the ChatUserInfo and never gets here.
    row = (await session.execute(_verified_query(), {"id": user})).first()
    if row is None or row[0] is None or row[1] is None:
        raise NotVerified()
    national_id: str = row[0]
    return national_id
