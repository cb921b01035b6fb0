"""``InMemoryOrderBook``: records an order in a unit of work of its own, at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from getiickets.adapters.memory.connections import check_no_unit_open
from getiickets.adapters.memory.unit_of_work import InMemoryUnitOfWork

if TYPE_CHECKING:
    from getiickets.adapters.memory.database import InMemoryDatabase
    from getiickets.domain.model.orders import Order


class InMemoryOrderBook:
    def __init__(self, database: InMemoryDatabase) -> None:
        self._database = database

    async def record(self, order: Order) -> None:
        # The SQL adapter's writer takes a pooled connection of its own: with one
        # connection in the pool, a caller holding a unit would wait for itself.
        check_no_unit_open("OrderBook.record")
        async with InMemoryUnitOfWork(self._database) as uow:
            await uow.orders.add(order)
            await uow.commit()
