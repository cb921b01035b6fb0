"""No oversell across OS processes: several processes race for the last tickets; and on
PostgreSQL a process that keeps the stock row locked makes others give up, not pile up.

Three processes start together on a ticket type none of them has seen (so they also
race to build its state from the facts) and fire 100 reserves each at a capacity of
50. Exactly 50 may win, whatever the interleaving.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from getiickets.adapters.redis.inventory import RedisInventory
from getiickets.adapters.sqlalchemy.engine import create_engine
from getiickets.adapters.sqlalchemy.inventory import SqlAlchemyInventory
from getiickets.adapters.sqlalchemy.inventory_tables import inventory_stock
from getiickets.adapters.system.clock import SystemClock
from getiickets.domain.model.errors import ConflictError
from getiickets.domain.model.inventory import Hold, StockLevel
from getiickets.ports.inventory import Inventory
from tests.contract.hot_state_backends import (
    FixedFacts,
    redis_client,
)

pytestmark = pytest.mark.contract

PROCESSES, ATTEMPTS, CAPACITY = 3, 100, 50
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(
    params=[
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("sqlalchemy-postgres", marks=pytest.mark.postgres),
    ]
)
def race_config(request: pytest.FixtureRequest) -> dict[str, object]:
    config: dict[str, object] = {
        "backend": request.param,
        "ticket_type_id": f"tt-race-{uuid.uuid4().hex[:12]}",
        "capacity": CAPACITY,
        "attempts": ATTEMPTS,
        "prefix": "",
    }
    if request.param == "redis":
        config["url"] = request.getfixturevalue("redis_url")
        config["prefix"] = request.getfixturevalue("redis_prefix")
    else:
        config["url"] = request.getfixturevalue("migrated_postgres_url")
    return config


async def _run_workers(config: dict[str, object]) -> list[dict[str, float]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.contract.inventory_race_worker",
            json.dumps(config),
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(PROCESSES)
    ]
    try:
        async with asyncio.timeout(60):
            for worker in workers:
                assert worker.stdout is not None
                ready = await worker.stdout.readline()
                if ready.strip() != b"ready":
                    _, errors = await worker.communicate()
                    pytest.fail(f"a worker did not start: {ready!r} {errors.decode()}")
            for worker in workers:  # everyone is ready: go
                assert worker.stdin is not None
                worker.stdin.write(b"go\n")
                await worker.stdin.drain()
            reports = []
            for worker in workers:
                output, errors = await worker.communicate()
                assert worker.returncode == 0, errors.decode()
                reports.append(json.loads(output))
            return reports
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()


@pytest.mark.slow
async def test_processes_racing_for_the_last_tickets_never_oversell(
    race_config: dict[str, object],
) -> None:
    reports = await _run_workers(race_config)

    assert sum(report["won"] for report in reports) == CAPACITY
    assert sum(report["lost"] for report in reports) == PROCESSES * ATTEMPTS - CAPACITY
    # The processes did run at the same time, or this proved nothing.
    assert max(report["started"] for report in reports) < min(
        report["finished"] for report in reports
    )
    tt = str(race_config["ticket_type_id"])
    assert await _level(race_config, tt) == StockLevel(capacity=CAPACITY, held=CAPACITY, sold=0)


async def _level(config: dict[str, object], tt: str) -> StockLevel:
    """The stock as a fresh adapter in this process reads it after the race."""
    facts, clock = FixedFacts(CAPACITY), SystemClock()
    inventory: Inventory
    if config["backend"] == "redis":
        async with redis_client(str(config["url"])) as client:
            inventory = RedisInventory(client, facts, clock, prefix=str(config["prefix"]))
            return await inventory.level(tt)
    engine = create_engine(str(config["url"]))
    try:
        inventory = SqlAlchemyInventory(engine, facts, clock)
        return await inventory.level(tt)
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_stock_row_locked_too_long_elsewhere_is_a_conflict_not_a_pile_up(
    migrated_postgres_url: str,
) -> None:
    engine = create_engine(migrated_postgres_url)
    clock = SystemClock()
    try:
        inventory = SqlAlchemyInventory(engine, FixedFacts(CAPACITY), clock, lock_timeout=0.2)
        tt = f"tt-locked-{uuid.uuid4().hex[:12]}"
        hold = Hold(
            hold_id=uuid.uuid4().hex,
            ticket_type_id=tt,
            quantity=1,
            expires_at=clock.now() + timedelta(minutes=15),
        )
        await inventory.level(tt)  # the stock row exists
        async with engine.connect() as other_process:
            await other_process.execute(
                sa.select(inventory_stock)
                .where(inventory_stock.c.ticket_type_id == tt)
                .with_for_update()
            )
            started = time.monotonic()
            with pytest.raises(ConflictError):
                await inventory.reserve(hold)
            assert time.monotonic() - started < 1.0
            # Reading the stock does not wait for the lock at all.
            assert await inventory.level(tt) == StockLevel(capacity=CAPACITY, held=0, sold=0)
            await other_process.rollback()
        assert await inventory.reserve(hold) is True
    finally:
        await engine.dispose()
