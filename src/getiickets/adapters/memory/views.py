"""``InMemorySalesView``: the sales read model over the unit's view of the fake tables."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from getiickets.domain.model.orders import OrderStatus
from getiickets.ports.views import EventSales, TicketTypeSales

if TYPE_CHECKING:
    from getiickets.adapters.memory.tables import Changes
    from getiickets.domain.model.catalog import Event
    from getiickets.domain.model.orders import Order


class InMemorySalesView:
    def __init__(self, orders: Changes[Order], events: Changes[Event]) -> None:
        self._orders = orders
        self._events = events

    async def event_sales(self, event_id: str) -> EventSales:
        """Sold and revenue count lines of PAID orders only: a refunded order sold nothing."""
        statuses: Counter[OrderStatus] = Counter()
        sold: Counter[str] = Counter()
        revenue: Counter[str] = Counter()
        for order in self._orders.rows():
            if order.event_id != event_id:
                continue
            statuses[order.status] += 1
            if order.status is OrderStatus.PAID:
                for line in order.lines:
                    sold[line.ticket_type_id] += line.quantity
                    revenue[line.ticket_type_id] += line.subtotal.amount
        event = self._events.get(event_id)
        type_ids = [] if event is None else [tt.id for tt in event.ticket_types]
        # Lines for a ticket type the event no longer lists still count, after the rest.
        type_ids += sorted(set(sold) - set(type_ids))
        return EventSales(
            ticket_types=[
                TicketTypeSales(ticket_type_id=tt_id, sold=sold[tt_id], revenue=revenue[tt_id])
                for tt_id in type_ids
            ],
            # Every status is a key (SQL: fill the GROUP BY gaps).
            orders={status: statuses[status] for status in OrderStatus},
        )
