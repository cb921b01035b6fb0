"""One process of the oversell race: ``python -m tests.contract.inventory_race_worker CONFIG``.

CONFIG is JSON: ``backend`` ("redis" or "sqlalchemy-postgres"), ``url``, ``prefix``
(Redis), ``ticket_type_id``, ``capacity``, ``attempts``. The process builds its own
adapter, prints ``ready``, waits for a line on stdin (so all processes start together),
fires every reserve at once, and prints a JSON line with what it won and when it ran.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from getiickets.adapters.redis.inventory import RedisInventory
from getiickets.adapters.sqlalchemy.engine import create_engine
from getiickets.adapters.sqlalchemy.inventory import SqlAlchemyInventory
from getiickets.adapters.system.clock import SystemClock
from getiickets.domain.model.inventory import Hold
from tests.contract.hot_state_backends import FixedFacts, redis_client


async def race(config: dict[str, Any]) -> dict[str, Any]:
    clock = SystemClock()
    facts = FixedFacts(config["capacity"])
    tt = config["ticket_type_id"]

    async def attempt_all(reserve: Callable[[Hold], Awaitable[bool]]) -> dict[str, Any]:
        print("ready", flush=True)  # noqa: T201 - the parent waits for it
        await asyncio.to_thread(sys.stdin.readline)
        started = time.time()
        outcomes = await asyncio.gather(
            *(
                reserve(
                    Hold(
                        hold_id=uuid.uuid4().hex,
                        ticket_type_id=tt,
                        quantity=1,
                        expires_at=clock.now() + timedelta(minutes=15),
                    )
                )
                for _ in range(config["attempts"])
            )
        )
        return {
            "won": outcomes.count(True),
            "lost": outcomes.count(False),
            "started": started,
            "finished": time.time(),
        }

    if config["backend"] == "redis":
        async with redis_client(config["url"]) as client:
            inventory = RedisInventory(client, facts, clock, prefix=config["prefix"])
            return await attempt_all(inventory.reserve)
    engine = create_engine(config["url"])
    try:
        return await attempt_all(SqlAlchemyInventory(engine, facts, clock).reserve)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(race(json.loads(sys.argv[1])))), flush=True)  # noqa: T201
