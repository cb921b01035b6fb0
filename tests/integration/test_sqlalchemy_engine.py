"""The SQLAlchemy engine and unit of work where they are SQL-specific, not port contracts:
URLs, pool limits, timeouts, health, and SQLite's one-writer discipline.
"""

from __future__ import annotations

import asyncio
import copy
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from getiickets.adapters.sqlalchemy.engine import (
    SQLITE_BEGIN,
    PoolStatus,
    create_engine,
    ping,
    pool_status,
)
from getiickets.adapters.sqlalchemy.migrate import upgrade
from getiickets.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from getiickets.domain.model.notifications import OutboxMessage
from tests.contract import aggregates as make


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'getiickets.db'}"
    upgrade(url)
    return url


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgres://u:p@db.example:5432/app", "postgresql+asyncpg"),
        ("postgresql://u:p@db.example:5432/app", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u:p@db.example:5432/app", "postgresql+asyncpg"),
        ("sqlite:///getiickets.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:////var/lib/getiickets.db", "sqlite+aiosqlite"),
    ],
)
async def test_urls_get_the_async_driver(url: str, driver: str) -> None:
    engine = create_engine(url)
    try:
        assert engine.url.drivername == driver
        rest = engine.url.render_as_string(hide_password=False).split("://", 1)[1]
        assert rest == url.split("://", 1)[1]  # only the scheme changed
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "mysql://u:p@db.example/app",
        "postgresql+psycopg2://u:p@db.example/app",
        "sqlite://",
        "sqlite:///:memory:",
    ],
)
def test_urls_we_cannot_serve_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"unsupported|SQLite needs a database file"):
        create_engine(url)


async def test_pgbouncer_and_connection_limit_leave_the_url_and_cap_the_pool() -> None:
    limited = create_engine(
        "postgresql://u:p@pooler.example:6543/app?pgbouncer=true&connection_limit=1&sslmode=require"
    )
    capped = create_engine("postgresql://u:p@db.example/app?connection_limit=3", pool_size=8)
    sized = create_engine("postgresql://u:p@db.example/app", pool_size=4)
    try:
        # Only what asyncpg would not understand goes; other parameters stay.
        assert dict(limited.url.query) == {"sslmode": "require"}
        assert pool_status(limited) == PoolStatus(size=1, checked_out=0, overflow=-1)
        assert pool_status(capped).size == 3  # the pooler's limit wins over a larger pool
        assert pool_status(sized).size == 4
    finally:
        for engine in (limited, capped, sized):
            await engine.dispose()


async def test_a_connection_limit_allows_no_overflow(sqlite_url: str) -> None:
    engine = create_engine(f"{sqlite_url}?connection_limit=1", pool_timeout=0.2)
    try:
        async with engine.connect() as only:
            await only.execute(text("SELECT 1"))
            with pytest.raises(PoolTimeoutError):
                async with engine.connect():
                    pass
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_pgbouncer_mode_works_against_postgres(postgres_dsn: str) -> None:
    engine = create_engine(
        f"{postgres_dsn}?pgbouncer=true&connection_limit=2", statement_timeout_ms=200
    )
    try:
        async with engine.connect() as connection:
            for _ in range(3):  # the same statement again: nothing cached, nothing clashes
                assert (await connection.execute(text("SELECT 41 + 1"))).scalar_one() == 42
            # pgbouncer refuses a statement_timeout startup parameter: the client cancels.
            assert (await connection.execute(text("SHOW statement_timeout"))).scalar_one() == "0"
            with pytest.raises(TimeoutError):
                await connection.execute(text("SELECT pg_sleep(2)"))
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_statement_timeout_cancels_long_statements(postgres_dsn: str) -> None:
    engine = create_engine(postgres_dsn, statement_timeout_ms=200)
    try:
        async with engine.connect() as connection:
            assert (
                await connection.execute(text("SHOW statement_timeout"))
            ).scalar_one() == "200ms"
            with pytest.raises(DBAPIError, match="statement timeout"):
                await connection.execute(text("SELECT pg_sleep(2)"))
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_ping_tells_a_live_database_from_a_dead_one(postgres_dsn: str) -> None:
    live = create_engine(postgres_dsn)
    dead = create_engine("postgresql://postgres@127.0.0.1:1/nothing")
    try:
        assert await ping(live, timeout=5) is True
        assert await ping(dead, timeout=2) is False
    finally:
        await live.dispose()
        await dead.dispose()


async def test_pool_status_counts_connections_in_use(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url, pool_size=2)
    try:
        async with engine.connect() as first:
            await first.execute(text("SELECT 1"))
            async with engine.connect() as second:
                await second.execute(text("SELECT 1"))
                assert pool_status(engine) == PoolStatus(size=2, checked_out=2, overflow=0)
        assert pool_status(engine).checked_out == 0
    finally:
        await engine.dispose()


async def test_sqlite_connections_are_configured(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            settings = [
                (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            ]
        assert settings == ["wal", 1, 30_000]
        assert await ping(engine, timeout=5) is True
    finally:
        await engine.dispose()


async def test_sqlite_units_queue_instead_of_failing_with_database_is_locked(
    sqlite_url: str,
) -> None:
    engine = create_engine(sqlite_url, pool_size=3)
    buyers = [make.user() for _ in range(40)]

    async def register(index: int) -> None:
        async with SqlAlchemyUnitOfWork(engine) as uow:
            assert await uow.users.get(buyers[index].id) is None  # a read first ...
            await asyncio.sleep(0.001)  # ... then the others run ...
            await uow.users.add(buyers[index])  # ... then a write: no stale snapshot
            await uow.commit()

    try:
        await asyncio.gather(*(register(i) for i in range(40)))
        async with SqlAlchemyUnitOfWork(engine) as uow:
            assert [await uow.users.get(buyer.id) for buyer in buyers] == buyers
    finally:
        await engine.dispose()


async def test_a_sqlite_unit_waits_for_another_process_holding_the_write_lock(
    sqlite_url: str,
) -> None:
    app = create_engine(sqlite_url)
    other_process = create_engine(sqlite_url)  # its own writer queue, like another process
    buyer = make.user()
    try:
        async with other_process.connect() as intruder:
            await intruder.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            await intruder.begin()

            async def commit_later() -> None:
                await asyncio.sleep(0.3)
                await intruder.commit()

            releasing = asyncio.create_task(commit_later())
            started = time.monotonic()
            async with SqlAlchemyUnitOfWork(app) as uow:  # blocks in busy_timeout, then goes
                await uow.users.add(buyer)
                await uow.commit()
            waited = time.monotonic() - started
            await releasing
        assert waited >= 0.25
        async with SqlAlchemyUnitOfWork(app) as uow:
            assert await uow.users.get(buyer.id) == buyer
    finally:
        await app.dispose()
        await other_process.dispose()


async def test_a_sqlite_unit_nested_in_the_same_task_reads_but_refuses_to_write(
    sqlite_url: str,
) -> None:
    engine = create_engine(sqlite_url)
    known = make.user()
    try:
        async with SqlAlchemyUnitOfWork(engine) as uow:
            await uow.users.add(known)
            await uow.commit()
        async with SqlAlchemyUnitOfWork(engine) as outer:
            await outer.users.add(make.user())
            # What an inventory rebuilding its counts does in the middle of a payment:
            # waiting for the outer unit's write lock would wait forever.
            async with SqlAlchemyUnitOfWork(engine) as inner:
                assert await inner.users.get(known.id) == known
                with pytest.raises(RuntimeError, match="can read, not write"):
                    await inner.users.add(make.user())
            await outer.commit()
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_postgres_deadlock_is_a_conflict_to_retry(postgres_dsn: str) -> None:
    name = postgres_dsn.rsplit("/", 1)[1]
    admin = create_engine(postgres_dsn)
    async with admin.begin() as connection:
        # Detected in 100 ms rather than the default second: this test waits for it.
        await connection.exec_driver_sql(f'ALTER DATABASE "{name}" SET deadlock_timeout = 100')
    await admin.dispose()
    await asyncio.to_thread(upgrade, postgres_dsn)
    engine = create_engine(postgres_dsn)
    first, second = make.message(), make.message()
    try:
        async with SqlAlchemyUnitOfWork(engine) as uow:
            await uow.outbox.add(first)
            await uow.outbox.add(second)
            await uow.commit()
        both_hold_one = asyncio.Barrier(2)

        async def update_both(mine: OutboxMessage, theirs: OutboxMessage) -> None:
            # Each saves its own copies: the UPDATEs take the row locks, one row each first.
            async with SqlAlchemyUnitOfWork(engine) as uow:
                await uow.outbox.save(copy.copy(mine))
                await both_hold_one.wait()
                await uow.outbox.save(copy.copy(theirs))  # waits on the other
                await uow.commit()

        outcomes = await asyncio.gather(
            update_both(first, second), update_both(second, first), return_exceptions=True
        )

        assert sorted(type(outcome).__name__ for outcome in outcomes) == [
            "ConflictError",
            "NoneType",
        ]
    finally:
        await engine.dispose()
        admin = create_engine(postgres_dsn)
        async with admin.begin() as connection:
            await connection.exec_driver_sql(f'ALTER DATABASE "{name}" RESET deadlock_timeout')
        await admin.dispose()
