"""``SqlAlchemySalesView``: the sales read model in the unit's transaction.

Behaves as ``adapters/memory/views`` (the contract suite checks): orders per status in
one ``GROUP BY``, sold and revenue of paid lines per ticket type in another, and the
event's ticket types in their listed order so that unsold ones appear with zeros.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import sqlalchemy as sa

from getiickets.adapters.sqlalchemy.tables import order_lines, orders, ticket_types
from getiickets.domain.model.orders import OrderStatus
from getiickets.ports.views import EventSales, TicketTypeSales

if TYPE_CHECKING:
    from getiickets.adapters.sqlalchemy.transaction import Transaction


class SqlAlchemySalesView:
    def __init__(self, transaction: Transaction) -> None:
        self._tx = transaction

    async def event_sales(self, event_id: str) -> EventSales:
        connection = self._tx.connection
        statuses = Counter(
            {
                OrderStatus(row.status): row.count
                for row in await connection.execute(
                    sa.select(orders.c.status, sa.func.count().label("count"))
                    .where(orders.c.event_id == event_id)
                    .group_by(orders.c.status)
                )
            }
        )
        totals = {
            row.ticket_type_id: (int(row.sold), int(row.revenue))
            for row in await connection.execute(
                sa.select(
                    order_lines.c.ticket_type_id,
                    sa.func.sum(order_lines.c.quantity).label("sold"),
                    sa.func.sum(order_lines.c.quantity * order_lines.c.unit_price_amount).label(
                        "revenue"
                    ),
                )
                .join(orders, orders.c.id == order_lines.c.order_id)
                .where(orders.c.event_id == event_id, orders.c.status == OrderStatus.PAID.value)
                .group_by(order_lines.c.ticket_type_id)
            )
        }
        listed = list(
            (
                await connection.execute(
                    sa.select(ticket_types.c.id)
                    .where(ticket_types.c.event_id == event_id)
                    .order_by(ticket_types.c.position)
                )
            ).scalars()
        )
        # Lines of a type the event no longer lists still count, after the rest.
        type_ids = listed + sorted(set(totals) - set(listed))
        return EventSales(
            ticket_types=[
                TicketTypeSales(
                    ticket_type_id=type_id,
                    sold=totals.get(type_id, (0, 0))[0],
                    revenue=totals.get(type_id, (0, 0))[1],
                )
                for type_id in type_ids
            ],
            orders={status: statuses[status] for status in OrderStatus},
        )
