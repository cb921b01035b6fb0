"""Inventory: stock held by expiring reservations, atomic across processes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from getiickets.domain.model.inventory import Confirmation, Hold, StockFacts, StockLevel


class Inventory(Protocol):
    """The fast gate in front of the database's facts.

    Every operation first returns expired holds to stock (no worker needed), then acts,
    atomically. A ticket type the inventory has not seen (or lost, as after a Redis
    flush) is rebuilt from ``StockFactsSource`` once, even under concurrency.
    """

    async def reserve(self, hold: Hold) -> bool:
        """Hold ``hold.quantity`` until ``hold.expires_at``; False (nothing held) if too few left.

        Reserving the same hold id again is a no-op that answers True while it is live.
        Also False for a hold that has already expired, or whose id was sold already (a
        sold hold cannot be held again).
        """
        ...

    async def release(self, ticket_type_id: str, hold_id: str) -> None:
        """Give a hold's stored quantity back to stock, whether live or already confirmed.

        The database decides what is sold: call this only for holds of an order the
        database holds as not paid (expired, cancelled, failed, refunded, or never
        stored). Unknown or expired holds: no-op. Releasing twice: no-op.
        """
        ...

    async def abandon(self, hold: Hold) -> None:
        """Give up a hold whose reserve may or may not have happened (its answer was lost
        to a timeout, or the order it was for was never written).

        Releases it like ``release``, and also a reserve of it still on its way: a store
        that received the call but runs it only now (a Redis thawed after a freeze, a
        retried command) holds nothing for it. Hold ids are never reused, so nothing
        legitimate reserves an abandoned id again.
        """
        ...

    async def confirm(self, ticket_type_id: str, hold_id: str) -> Confirmation:
        """Turn a live hold into a sale, exactly once."""
        ...

    async def level(self, ticket_type_id: str) -> StockLevel: ...

    async def levels(self, ticket_type_ids: Sequence[str]) -> dict[str, StockLevel]:
        """``level`` of every ticket type given, asked of the store at once (one Redis
        pipeline, one SQL query): a page showing many ticket types does not wait for
        each in turn. Any unknown id: ``NotFoundError``, as ``level``.
        """
        ...


class StockFactsSource(Protocol):
    async def stock_facts(self, ticket_type_id: str) -> StockFacts | None:
        """The database's view of a ticket type, or None if it does not exist."""
        ...
