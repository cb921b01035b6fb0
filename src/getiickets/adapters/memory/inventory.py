"""``InMemoryInventory``: stock counters and expiring holds in this process's memory.

The single-process twin of the Redis inventory (the embedded runtime uses it), so it
keeps the same rules: per ticket type a capacity, a sold count, the live holds and
the ids of holds already sold. Every operation first drops holds whose
``expires_at <= now`` (their stock is simply available again: nothing to run, nothing
to lose), then acts, with no ``await`` between the check and the change, so under
asyncio ``available + held + sold == capacity`` at every instant and nothing is
oversold however many tasks interleave.

A ticket type seen for the first time (or after ``lose_state``) is built from the
database's ``StockFacts``, loaded once per ticket type even when hundreds of requests
arrive together. As with a Redis flush, holds reserved but not yet committed to an
order are not in the facts.

Releasing a sold hold gives its quantity back (a refunded order); the facts carry each
sold hold's quantity, so that works after a rebuild too.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from getiickets.adapters.memory.connections import check_no_unit_open
from getiickets.domain.model.errors import CacheUnavailableError, NotFoundError
from getiickets.domain.model.inventory import (
    Confirmation,
    Hold,
    StockFacts,
    StockLevel,
)
from getiickets.ports.clock import Clock
from getiickets.ports.inventory import StockFactsSource


@dataclass
class _Stock:
    capacity: int
    sold: int
    holds: dict[str, Hold] = field(default_factory=dict)
    confirmed: dict[str, int] = field(default_factory=dict)
    """Sold hold ids and the quantity each sold."""
    expiries: list[tuple[datetime, str]] = field(default_factory=list)
    """A heap of (expires_at, hold_id); entries of released or sold holds go stale."""

    @classmethod
    def from_facts(cls, facts: StockFacts, now: datetime) -> _Stock:
        stock = cls(
            capacity=facts.capacity,
            sold=facts.sold,
            confirmed=dict(facts.sold_holds),
        )
        for hold in facts.holds:
            if hold.is_live(now) and hold.hold_id not in stock.confirmed:
                stock.add(hold)
        return stock

    @property
    def held(self) -> int:
        return sum(hold.quantity for hold in self.holds.values())

    @property
    def available(self) -> int:
        return self.capacity - self.held - self.sold

    def add(self, hold: Hold) -> None:
        self.holds[hold.hold_id] = hold
        heapq.heappush(self.expiries, (hold.expires_at, hold.hold_id))

    def reclaim(self, now: datetime) -> None:
        while self.expiries and self.expiries[0][0] <= now:
            _, hold_id = heapq.heappop(self.expiries)
            hold = self.holds.get(hold_id)
            # The entry may be stale (hold released, sold, or taken again later).
            if hold is not None and not hold.is_live(now):
                del self.holds[hold_id]


class InMemoryInventory:
    """Implements ``Inventory``.

    ``available``: set it to False to act like an unreachable Redis (every operation
    raises ``CacheUnavailableError``), for fault tests.
    """

    def __init__(self, facts: StockFactsSource, clock: Clock) -> None:
        self._facts = facts
        self._clock = clock
        self._stocks: dict[str, _Stock] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        self.available = True

    async def reserve(self, hold: Hold) -> bool:
        stock, now = await self._stock(hold.ticket_type_id)
        if hold.hold_id in stock.holds:
            return True
        if hold.hold_id in stock.confirmed or not hold.is_live(now):
            return False
        if stock.available < hold.quantity:
            return False
        stock.add(hold)
        return True

    async def release(self, ticket_type_id: str, hold_id: str) -> None:
        stock, _ = await self._stock(ticket_type_id)
        if stock.holds.pop(hold_id, None) is not None or hold_id not in stock.confirmed:
            return
        stock.sold -= stock.confirmed.pop(hold_id)

    async def abandon(self, hold: Hold) -> None:
        # Calls run whole, in order, in this process: no reserve can still be on its way.
        await self.release(hold.ticket_type_id, hold.hold_id)

    async def confirm(self, ticket_type_id: str, hold_id: str) -> Confirmation:
        stock, _ = await self._stock(ticket_type_id)
        hold = stock.holds.pop(hold_id, None)
        if hold is not None:
            stock.sold += hold.quantity
            stock.confirmed[hold_id] = hold.quantity
            return Confirmation.CONFIRMED
        if hold_id in stock.confirmed:
            return Confirmation.ALREADY_CONFIRMED
        return Confirmation.LAPSED

    async def level(self, ticket_type_id: str) -> StockLevel:
        stock, _ = await self._stock(ticket_type_id)
        return StockLevel(capacity=stock.capacity, held=stock.held, sold=stock.sold)

    async def levels(self, ticket_type_ids: Sequence[str]) -> dict[str, StockLevel]:
        return {
            ticket_type_id: await self.level(ticket_type_id)
            for ticket_type_id in dict.fromkeys(ticket_type_ids)
        }

    def lose_state(self, ticket_type_id: str) -> None:
        """Drop what is known of the ticket type, as a Redis flush of its keys does.

        Not on the ``Inventory`` port: tests use it to see the next operation rebuild.
        """
        self._stocks.pop(ticket_type_id, None)

    async def _stock(self, ticket_type_id: str) -> tuple[_Stock, datetime]:
        """The ticket type's stock with expired holds reclaimed, and the time used.

        The caller acts on it before its next ``await``; the last lookup happens after
        any loading, so a ``lose_state`` during the load cannot leave it a dropped object.
        """
        self._check_available()
        while (stock := self._stocks.get(ticket_type_id)) is None:
            await self._load(ticket_type_id)
        now = self._clock.now()
        stock.reclaim(now)
        return stock, now

    async def _load(self, ticket_type_id: str) -> None:
        lock = self._loading.setdefault(ticket_type_id, asyncio.Lock())
        async with lock:
            if ticket_type_id in self._stocks:
                return  # another task loaded it while this one waited
            facts = await self._facts.stock_facts(ticket_type_id)
            if facts is None:
                raise NotFoundError(f"ticket type {ticket_type_id} not found")
            self._stocks[ticket_type_id] = _Stock.from_facts(facts, self._clock.now())

    def _check_available(self) -> None:
        # Every operation passes here first: the real inventories need a connection
        # (or a Redis call) of their own, never one inside the caller's unit of work.
        check_no_unit_open("the inventory")
        if not self.available:
            raise CacheUnavailableError("the inventory store is unavailable")
