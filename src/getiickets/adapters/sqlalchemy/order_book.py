"""``SqlAlchemyOrderBook``: new orders written by group commit.

One commit per order is bound by the disk (an fsync each, ~1.7 ms on the machines we
measured). So one writer per process takes every order that arrived while the previous
commit was in flight and writes them in one transaction (two executemany statements),
and answers each caller only after the commit that holds its order: a 201 still means
durable, and a burst costs one fsync per batch instead of one per order.

* The writer is a task that exists only while there is something to write: the first
  ``record`` of a quiet spell starts it, and it ends when nothing waits. No background
  task outlives its work, so nothing needs starting or stopping with the app.
* Each batch is one unit of work on a pooled connection, taken for the batch and given
  back after it. Callers wait holding no connection, so with a pool of one (the seed's
  pooler URL) the writer simply takes its turn with the requests' units.
* A batch that fails is written again order by order, so a bad order (a taken order
  number) fails its own caller only. An outage fails the whole batch at once: every
  order alone would only fail the same way, one pool timeout after another.
* A cancelled caller does not cancel the writer: its order is taken out if no commit
  has it yet; otherwise the caller waits for that commit before it goes on, so its
  ``order.version`` says truthfully whether the order was stored.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from getiickets.adapters.sqlalchemy.errors import is_unavailable, unavailable
from getiickets.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from getiickets.domain.model.errors import DatabaseUnavailableError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from getiickets.domain.model.orders import Order

MAX_BATCH = 500
"""Orders per commit at most: 500 orders' rows stay well inside PostgreSQL's limit of
32,767 parameters per statement, and a commit of that size still takes milliseconds."""


@dataclass(eq=False)
class _Waiting:
    order: Order
    done: asyncio.Future[None]


class SqlAlchemyOrderBook:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, order: Order) -> None:
        waiting = _Waiting(order, asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_waiting(), name="order-book-writer")
        try:
            # Shielded: the future belongs to the writer, and other callers share its batch.
            await asyncio.shield(waiting.done)
        except asyncio.CancelledError:
            if waiting in self._waiting:
                self._waiting.remove(waiting)  # no commit has it: it is never written
                raise
            with contextlib.suppress(Exception):
                await asyncio.shield(waiting.done)
            raise

    async def _write_waiting(self) -> None:
        batch: list[_Waiting] = []
        try:
            # No await between the emptiness check and the end of the task, so an order
            # that arrives meanwhile either is seen here or starts a new writer.
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                await self._write(batch)
        except BaseException:
            # Only the loop shutting down cancels the writer: nobody will hear an answer
            # for these orders, so they end as an outage, never as silence.
            for waiting in [*batch, *self._waiting]:
                _fail(waiting, DatabaseUnavailableError("the order book stopped"))
            self._waiting = []
            raise
        finally:
            self._writer = None

    async def _write(self, batch: list[_Waiting]) -> None:
        try:
            await self._commit([waiting.order for waiting in batch])
        except Exception as error:
            if len(batch) == 1:
                _fail(batch[0], error)
                return
            if isinstance(error, DatabaseUnavailableError) or is_unavailable(error):
                for waiting in batch:
                    _fail(waiting, unavailable(error))
                return
            # One bad order must fail only its own caller: find it by writing each alone.
            for waiting in batch:
                try:
                    await self._commit([waiting.order])
                except Exception as own:
                    _fail(waiting, own)
                else:
                    _succeed(waiting)
        else:
            for waiting in batch:
                _succeed(waiting)

    async def _commit(self, orders: list[Order]) -> None:
        uow = SqlAlchemyUnitOfWork(self._engine)
        async with uow:
            if len(orders) == 1:
                # ON CONFLICT DO NOTHING: a taken unique fact is a DuplicateError, as in
                # a unit of work.
                await uow.orders.add(orders[0])
            else:
                await uow.order_rows.add_all(orders)
            # Stamps each order's stored version: the caller's sign that it is stored.
            await uow.commit()


def _succeed(waiting: _Waiting) -> None:
    if not waiting.done.done():
        waiting.done.set_result(None)


def _fail(waiting: _Waiting, error: BaseException) -> None:
    if not waiting.done.done():
        waiting.done.set_exception(error)
