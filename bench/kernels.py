"""The machine's limits, as ASGI apps the bench serves beside getiickets.

- C, the ceiling: bare Litestar answering constant JSON. Nothing built on Litestar on
  this machine can answer faster.
- K1, the one-commit order kernel: a msgspec body, one Redis Lua hold, one asyncpg
  transaction inserting the order and its line, 201 after the commit. Bound by one
  fdatasync per order.
- Kb, the group-commit kernel: the same, but one writer gathers the orders that arrive
  while the previous commit is in flight and writes them in one transaction; each
  request is answered only after the commit that holds its order.

Configured from the environment (BENCH_DSN, BENCH_REDIS_URL, BENCH_PREFIX), because the
servers import these factories by name.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from litestar import Litestar, get, post
from litestar.params import JSONBody

KERNEL_TABLES = """
CREATE TABLE IF NOT EXISTS kernel_orders (
    id text PRIMARY KEY, ticket_type_id text NOT NULL, quantity integer NOT NULL,
    status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS kernel_order_lines (
    order_id text NOT NULL REFERENCES kernel_orders (id), ticket_type_id text NOT NULL,
    quantity integer NOT NULL, hold_id text NOT NULL);
"""

# The same shape as the real inventory's reserve: reclaim lapsed holds, then hold if enough.
HOLD_SCRIPT = """
local now = tonumber(ARGV[4])
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, hold in ipairs(lapsed) do
  local quantity = redis.call('HGET', KEYS[3], hold)
  if quantity then redis.call('INCRBY', KEYS[1], quantity) end
  redis.call('HDEL', KEYS[3], hold)
end
if #lapsed > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
local available = tonumber(redis.call('GET', KEYS[1]) or '0')
local wanted = tonumber(ARGV[1])
if available < wanted then return 0 end
redis.call('DECRBY', KEYS[1], wanted)
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], wanted)
return 1
"""

CEILING_BODY = {"status": "ok", "items": [], "page": 1, "limit": 20, "total": 0}


class KernelOrder(msgspec.Struct, forbid_unknown_fields=True):
    ticket_type_id: str
    quantity: int


def ceiling_app() -> Litestar:
    @get("/json", sync_to_thread=False)
    def constant() -> dict[str, Any]:
        return CEILING_BODY

    return Litestar([constant], openapi_config=None, logging_config=None)


class _GroupWriter:
    """One writer per process: orders queue up while a commit runs, then go in one."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._queue: asyncio.Queue[tuple[tuple[str, str, int, str], asyncio.Future[None]]]
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run())

    async def write(self, row: tuple[str, str, int, str]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((row, done))
        await done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            rows = [row for row, _ in batch]
            try:
                async with self._pool.acquire() as connection, connection.transaction():
                    await _insert(connection, rows)
            except Exception as error:
                for _, done in batch:
                    done.set_exception(error)
            else:
                for _, done in batch:
                    done.set_result(None)

    async def close(self) -> None:
        self._task.cancel()


async def _insert(connection: Any, rows: list[tuple[str, str, int, str]]) -> None:
    await connection.executemany(
        "INSERT INTO kernel_orders (id, ticket_type_id, quantity, status) "
        "VALUES ($1, $2, $3, 'pending')",
        [(order_id, ticket_type, quantity) for order_id, ticket_type, quantity, _ in rows],
    )
    await connection.executemany(
        "INSERT INTO kernel_order_lines (order_id, ticket_type_id, quantity, hold_id) "
        "VALUES ($1, $2, $3, $4)",
        rows,
    )


def order_kernel_app(group_commit: bool = False) -> Litestar:
    import asyncpg  # noqa: PLC0415 - only the kernels' servers need the drivers
    import redis.asyncio as aioredis  # noqa: PLC0415

    dsn = os.environ["BENCH_DSN"]
    prefix = os.environ["BENCH_PREFIX"]
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: Litestar) -> Any:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=20, max_size=20)
        state["redis"] = aioredis.Redis.from_url(os.environ["BENCH_REDIS_URL"])
        state["hold"] = state["redis"].register_script(HOLD_SCRIPT)
        state["writer"] = _GroupWriter(state["pool"]) if group_commit else None
        try:
            yield
        finally:
            if state["writer"] is not None:
                await state["writer"].close()
            await state["pool"].close()
            await state["redis"].aclose()

    @post("/orders", status_code=201)
    async def place(data: JSONBody[KernelOrder]) -> Any:
        tag = f"{prefix}{{tt:{data.ticket_type_id}}}"
        hold_id = uuid.uuid4().hex
        expires = time.time() + 900
        held = await state["hold"](
            keys=[f"{tag}:available", f"{tag}:expiry", f"{tag}:holds"],
            args=[data.quantity, hold_id, expires, time.time()],
        )
        if not held:
            from litestar.response import Response  # noqa: PLC0415

            return Response({"code": "sold_out"}, status_code=409)
        order_id = uuid.uuid4().hex
        row = (order_id, data.ticket_type_id, data.quantity, hold_id)
        if state["writer"] is not None:
            await state["writer"].write(row)
        else:
            async with state["pool"].acquire() as connection, connection.transaction():
                await _insert(connection, [row])
        return {"id": order_id, "status": "pending"}

    return Litestar([place], lifespan=[lifespan], openapi_config=None, logging_config=None)


def one_commit_app() -> Litestar:
    return order_kernel_app(group_commit=False)


def group_commit_app() -> Litestar:
    return order_kernel_app(group_commit=True)
