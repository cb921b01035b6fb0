"""Read models: what a report needs, read in one go, beside the repositories.

Repositories load and save aggregates; a report (the organizer's sales page) needs
totals across many of them. Asking an aggregate repository for them would grow the
port with queries no write path uses, so they live here: one query per page, answered
by the adapter as it likes best (the SQL one with two ``GROUP BY`` queries). A view is
reached through the unit of work (``uow.sales``), so it reads in the same transaction
as the ownership check before it, on the same connection.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from getiickets.domain.model.orders import OrderStatus


class TicketTypeSales(msgspec.Struct, frozen=True, kw_only=True):
    ticket_type_id: str
    sold: int
    revenue: int
    """Minor units, from paid orders."""


class EventSales(msgspec.Struct, frozen=True, kw_only=True):
    ticket_types: list[TicketTypeSales]
    """One entry per ticket type of the event, in the event's order, zeros included;
    types the event no longer lists but that sold come last, by id."""
    orders: dict[OrderStatus, int]
    """Orders of the event per status; every status is a key, 0 where there are none."""


class SalesView(Protocol):
    async def event_sales(self, event_id: str) -> EventSales:
        """Tickets sold and revenue per ticket type (paid orders only), and orders per status."""
        ...
