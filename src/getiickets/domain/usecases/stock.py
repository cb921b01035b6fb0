"""The database's facts about stock, for inventories to rebuild their counters from."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from getiickets.domain.model.inventory import StockFacts
    from getiickets.ports.unit_of_work import UnitOfWorkFactory


class StockLedger:
    """Implements ``StockFactsSource`` from the repositories (the source of truth)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def stock_facts(self, ticket_type_id: str) -> StockFacts | None:
        async with self._uow() as uow:
            event = await uow.events.get_by_ticket_type(ticket_type_id)
            if event is None:
                return None
            capacity = event.ticket_type(ticket_type_id).capacity
            return await uow.orders.stock_facts(ticket_type_id, capacity)
