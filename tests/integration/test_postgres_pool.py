"""The PostgreSQL pool under a rush: a fixed set of connections kept open, no ping
round trip per checkout, and connections the server dropped replaced after the one
statement that found out."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from getiickets.adapters.sqlalchemy.engine import (
    POSTGRES_POOL_SIZE,
    PoolStatus,
    create_engine,
    pool_status,
)
from tests.conftest import run_postgres_admin

pytestmark = pytest.mark.postgres


async def test_postgres_keeps_a_fixed_pool_and_pings_nothing() -> None:
    engine = create_engine("postgresql://u:p@db.example/app")
    try:
        assert pool_status(engine) == PoolStatus(
            size=POSTGRES_POOL_SIZE, checked_out=0, overflow=-POSTGRES_POOL_SIZE
        )
        assert engine.pool._max_overflow == 0  # nothing opened and closed per burst
        assert engine.pool._pre_ping is False  # no round trip per checkout
        limited = create_engine("postgresql://u:p@db.example/app?connection_limit=4")
        assert pool_status(limited).size == 4
        await limited.dispose()
    finally:
        await engine.dispose()


async def test_connections_the_server_dropped_fail_once_then_are_replaced(
    postgres_url: str,
) -> None:
    engine = create_engine(postgres_url, pool_size=3)
    try:
        async with engine.connect() as a, engine.connect() as b, engine.connect() as c:
            pids = [
                int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())
                for connection in (a, b, c)
            ]
        for pid in pids:
            run_postgres_admin(f"SELECT pg_terminate_backend({pid:d})")

        with pytest.raises(DBAPIError):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        # The failure invalidated the whole pool: the other two dropped connections
        # are not handed out again.
        for _ in range(3):
            async with engine.connect() as connection:
                assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()
