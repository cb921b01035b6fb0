"""Builders shared by the hot-state contract suites (inventory, sessions, cache).

A plain module, not a conftest: each suite declares its own fixtures and calls these.
The SQL inventory runs on the databases ``tests/contract/conftest.py`` migrates
(``sqlite_url``, ``migrated_postgres_url``), so its tables are the migration's.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis.asyncio as redis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from getiickets.adapters.redis.client import create_redis
from getiickets.adapters.sqlalchemy.inventory_tables import inventory_holds, inventory_stock
from getiickets.domain.model.inventory import Hold, StockFacts

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@dataclass
class _TicketType:
    capacity: int
    pending: dict[str, Hold] = field(default_factory=dict)
    paid: dict[str, int] = field(default_factory=dict)


class FactsDouble:
    """The database's side of a purchase, moved by the tests as the real flow moves it.

    ``calls`` counts the loads per ticket type, so tests can see a rebuild happen once.
    """

    def __init__(self) -> None:
        self._types: dict[str, _TicketType] = {}
        self.calls: Counter[str] = Counter()

    def add_ticket_type(self, ticket_type_id: str, capacity: int) -> None:
        self._types[ticket_type_id] = _TicketType(capacity=capacity)

    def ticket_type_ids(self) -> list[str]:
        return list(self._types)

    def order_stored(self, hold: Hold) -> None:
        """A pending order holding ``hold`` was committed."""
        self._types[hold.ticket_type_id].pending[hold.hold_id] = hold

    def order_paid(self, hold: Hold) -> None:
        ticket_type = self._types[hold.ticket_type_id]
        ticket_type.pending.pop(hold.hold_id, None)
        ticket_type.paid[hold.hold_id] = hold.quantity

    def order_ended_unpaid(self, hold: Hold) -> None:
        """Expired, cancelled, failed or refunded: its hold counts for nothing any more."""
        ticket_type = self._types[hold.ticket_type_id]
        ticket_type.pending.pop(hold.hold_id, None)
        ticket_type.paid.pop(hold.hold_id, None)

    async def stock_facts(self, ticket_type_id: str) -> StockFacts | None:
        self.calls[ticket_type_id] += 1
        # A real load is a database round trip: give concurrent callers the chance to
        # pile up behind it, as they would in production.
        await asyncio.sleep(0.005)
        ticket_type = self._types.get(ticket_type_id)
        if ticket_type is None:
            return None
        return StockFacts(
            ticket_type_id=ticket_type_id,
            capacity=ticket_type.capacity,
            holds=tuple(ticket_type.pending.values()),
            sold_holds=dict(ticket_type.paid),
        )


class FixedFacts:
    """A ticket type that exists with ``capacity`` and nothing sold (race tests)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity

    async def stock_facts(self, ticket_type_id: str) -> StockFacts | None:
        return StockFacts(ticket_type_id=ticket_type_id, capacity=self._capacity)


@asynccontextmanager
async def redis_client(url: str) -> AsyncIterator[redis.Redis]:
    client = create_redis(url)
    try:
        yield client
    finally:
        await client.aclose()


async def delete_prefixed(client: redis.Redis, prefix: str) -> None:
    """What a FLUSHDB does to this test, without touching anyone else's keys."""
    keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
    if keys:
        await client.delete(*keys)


async def delete_inventory_rows(engine: AsyncEngine, ticket_type_ids: Iterable[str]) -> None:
    """The inventory tables lose these ticket types (as if restored from an old backup)."""
    ids = list(ticket_type_ids)
    async with engine.begin() as conn:
        await conn.execute(
            sa.delete(inventory_holds).where(inventory_holds.c.ticket_type_id.in_(ids))
        )
        await conn.execute(
            sa.delete(inventory_stock).where(inventory_stock.c.ticket_type_id.in_(ids))
        )
