"""The process's one ``AsyncEngine``: URL normalisation, pool limits, timeouts, health.

``create_engine`` accepts the URLs people paste (``postgres://``, ``postgresql://``,
Supabase's ``...?pgbouncer=true&connection_limit=1``, ``sqlite:///getiickets.db``) and
picks the async driver itself. Nothing here runs at import time; the composition root
calls ``create_engine`` once and disposes of the engine at shutdown.

SQLite is the embedded, single-process default. Its connections run in WAL mode (a
writer does not block readers), enforce foreign keys, wait ``busy_timeout`` for a lock
instead of failing at once, and let SQLAlchemy emit ``BEGIN`` itself: the ``sqlite3``
module would otherwise start transactions only at the first INSERT/UPDATE, so reads
before it would not be isolated and savepoints would not nest. A connection whose
execution options say ``SQLITE_BEGIN: "IMMEDIATE"`` starts its transactions with
``BEGIN IMMEDIATE``, taking the write lock up front (see ``unit_of_work``).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import msgspec
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

SQLITE_BEGIN = "getiickets_sqlite_begin"
"""Execution option: ``"IMMEDIATE"`` makes SQLite transactions take the write lock at BEGIN."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long an SQLite connection waits for another process's write lock before failing."""

POSTGRES_POOL_SIZE = 20
"""Connections a process keeps to PostgreSQL when neither ``pool_size`` nor the URL's
``connection_limit`` says: kept open, none opened and closed per burst. Under a rush
SQLAlchemy's default (5, plus 10 opened and closed again as load comes and goes)
spent its time in asyncpg connects; 20 covers 64 concurrent requests, most of which
wait on Redis or their turn to commit, not on a connection."""
POOL_RECYCLE_SECONDS = 1800
"""A connection older than this is replaced at checkout, before a server-side or
pgbouncer idle timeout can close it under us."""

_POSTGRES_DRIVERS = {"postgres", "postgresql", "postgresql+asyncpg"}
_SQLITE_DRIVERS = {"sqlite", "sqlite+aiosqlite"}


class PoolStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What the metrics endpoint reports about the connection pool."""

    size: int
    """Connections the pool keeps (its configured size)."""
    checked_out: int
    """Connections in use right now."""
    overflow: int
    """Connections open beyond ``size`` (negative while the pool is still filling up)."""


def create_engine(
    url: str,
    *,
    pool_size: int | None = None,
    pool_timeout: float = 30.0,
    statement_timeout_ms: int | None = None,
    echo: bool = False,
) -> AsyncEngine:
    """An engine for PostgreSQL (asyncpg) or an SQLite file (aiosqlite).

    ``pool_size`` caps the connections this process opens (no overflow beyond it). A
    ``connection_limit=N`` in the URL caps them too, as Prisma's does: it is what the
    pooler in front of the database allows, so the smaller of the two wins. Without
    either, PostgreSQL gets ``POSTGRES_POOL_SIZE`` and SQLite SQLAlchemy's defaults.

    No ``pool_pre_ping``: it cost a round trip on every checkout. A connection the
    server or pgbouncer dropped fails the statement that finds out (a
    ``DatabaseUnavailableError``, 503 and try again), and SQLAlchemy then invalidates
    every connection the pool held since, so the next checkouts connect afresh.
    """
    parsed = make_url(url)
    query = dict(parsed.query)
    pgbouncer = _flag(query.pop("pgbouncer", "false"))
    limit = query.pop("connection_limit", None)
    if limit is not None:
        limit_value = int(limit if isinstance(limit, str) else limit[0])
        pool_size = limit_value if pool_size is None else min(pool_size, limit_value)
    parsed = parsed.set(query=query)
    if pool_size is None and parsed.drivername in _POSTGRES_DRIVERS:
        pool_size = POSTGRES_POOL_SIZE

    options: dict[str, Any] = {
        "echo": echo,
        "pool_timeout": pool_timeout,
        # The outbox's free-form data goes through the same encoder as the fakes use,
        # so a value reads back from a JSON column the way the contract suite expects.
        "json_serializer": lambda value: msgspec.json.encode(value).decode(),
        "json_deserializer": msgspec.json.decode,
    }
    if pool_size is not None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        options |= {"pool_size": pool_size, "max_overflow": 0}

    if parsed.drivername in _POSTGRES_DRIVERS:
        parsed = parsed.set(drivername="postgresql+asyncpg")
        options |= {
            "pool_recycle": POOL_RECYCLE_SECONDS,
            "connect_args": _postgres_connect_args(
                pgbouncer=pgbouncer, statement_timeout_ms=statement_timeout_ms
            ),
        }
        return create_async_engine(parsed, **options)
    if parsed.drivername in _SQLITE_DRIVERS:
        if parsed.database in {None, "", ":memory:"} or "mode=memory" in str(parsed):
            # Every pooled connection would open its own empty database, and the
            # migrations (run on an engine of their own) could never reach it.
            raise ValueError("SQLite needs a database file: sqlite:///path/to/getiickets.db")
        parsed = parsed.set(drivername="sqlite+aiosqlite")
        engine = create_async_engine(parsed, **options)
        _configure_sqlite(engine)
        return engine
    raise ValueError(
        f"unsupported database URL scheme {parsed.drivername!r}: "
        "use postgresql://... or sqlite:///path"
    )


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def pool_status(engine: AsyncEngine) -> PoolStatus:
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        # create_engine only builds queue pools; anything else was made elsewhere.
        raise TypeError(f"pool_status needs a QueuePool, not {type(pool).__name__}")
    return PoolStatus(size=pool.size(), checked_out=pool.checkedout(), overflow=pool.overflow())


async def ping(engine: AsyncEngine, timeout: float) -> bool:  # noqa: ASYNC109 - /ready's budget, one call
    """True if the database answers ``SELECT 1`` within ``timeout`` seconds (for /ready)."""
    try:
        async with asyncio.timeout(timeout), engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
    except (TimeoutError, SQLAlchemyError, OSError):
        return False
    return True


def _flag(value: str | tuple[str, ...]) -> bool:
    text = value if isinstance(value, str) else value[-1]
    return text.strip().lower() in {"1", "true", "yes", "on"}


def _postgres_connect_args(*, pgbouncer: bool, statement_timeout_ms: int | None) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if pgbouncer:
        # In transaction pooling, consecutive statements may reach different server
        # connections: a statement prepared on one is unknown (or another's) on the
        # next. So no statement caches, and unique names for the statements that
        # SQLAlchemy still prepares to learn result types.
        args |= {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": _unique_statement_name,
        }
    if statement_timeout_ms is not None:
        if statement_timeout_ms < 1:
            raise ValueError("statement_timeout_ms must be positive")
        if pgbouncer:
            # pgbouncer refuses startup parameters it does not know (statement_timeout
            # among them), so the client cancels the statement instead.
            args["command_timeout"] = statement_timeout_ms / 1000
        else:
            args["server_settings"] = {"statement_timeout": str(statement_timeout_ms)}
    return args


def _unique_statement_name() -> str:
    return f"__getiickets_{uuid.uuid4().hex}__"


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _: ConnectionPoolEntry) -> None:
        # Stop the sqlite3 module from issuing BEGIN on its own; on_begin does it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # WAL keeps this crash-safe
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")
