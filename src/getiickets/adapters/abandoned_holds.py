"""Holds given up while the inventory was unreachable are released when it is back.

``Ordering`` abandons the holds of an order it could not write, and a hold whose reserve
timed out (the store may still run it, as a frozen Redis does when it thaws). If the
abandon itself cannot reach the store, these holds would keep their stock until they
expire (15 minutes by default). ``RetriedAbandons`` wraps any ``Inventory``: such an
abandon is not an error for the caller (who is already failing with the outage), it
is queued here and tried again on a short backoff, one pass over the queue at a time,
until it lands or the hold has expired by itself (then the store reclaims it anyway).

The bound: a seat stays held at most until the store answers again plus one backoff
step (5 s at most). The queue lives in this process: if the process dies during the
outage too, its queued holds end at their expiry, never later; nothing is oversold.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from getiickets.domain.model.errors import CacheUnavailableError, DatabaseUnavailableError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from getiickets.domain.model.inventory import Confirmation, Hold, StockLevel
    from getiickets.ports.clock import Clock
    from getiickets.ports.inventory import Inventory

logger = logging.getLogger(__name__)

OUTAGE = (CacheUnavailableError, DatabaseUnavailableError)
BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)
"""Pause before each pass over the queue; the last one repeats."""


class RetriedAbandons:
    """Implements ``Inventory``: ``inner``, with abandons that an outage only delays."""

    def __init__(
        self, inner: Inventory, clock: Clock, backoff: tuple[float, ...] = BACKOFF_SECONDS
    ) -> None:
        self._inner = inner
        self._clock = clock
        self._backoff = backoff
        self._queued: dict[str, Hold] = {}
        self._retrying: asyncio.Task[None] | None = None

    @property
    def queued(self) -> list[Hold]:
        """Holds waiting for the store to answer again."""
        return list(self._queued.values())

    async def reserve(self, hold: Hold) -> bool:
        return await self._inner.reserve(hold)

    async def release(self, ticket_type_id: str, hold_id: str) -> None:
        await self._inner.release(ticket_type_id, hold_id)

    async def confirm(self, ticket_type_id: str, hold_id: str) -> Confirmation:
        return await self._inner.confirm(ticket_type_id, hold_id)

    async def level(self, ticket_type_id: str) -> StockLevel:
        return await self._inner.level(ticket_type_id)

    async def levels(self, ticket_type_ids: Sequence[str]) -> dict[str, StockLevel]:
        return await self._inner.levels(ticket_type_ids)

    async def abandon(self, hold: Hold) -> None:
        if self._queued:
            # The store is known to be down: do not make this caller wait for it too.
            self._queue(hold, None)
            return
        try:
            await self._inner.abandon(hold)
        except OUTAGE as error:
            self._queue(hold, error)

    async def settled(self) -> None:
        """Wait until the queue is empty (tests, and shutdown if one wants to wait)."""
        while self._retrying is not None and not self._retrying.done():
            await asyncio.shield(self._retrying)

    def _queue(self, hold: Hold, error: Exception | None) -> None:
        if not self._queued:
            logger.warning(
                "the inventory is unreachable (%s): holds given up meanwhile are released "
                "when it answers again",
                error,
            )
        self._queued[hold.hold_id] = hold
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.create_task(self._retry(), name="abandoned-holds")

    async def _retry(self) -> None:
        attempt = 0
        while self._queued:
            await asyncio.sleep(self._backoff[min(attempt, len(self._backoff) - 1)])
            attempt += 1
            for hold_id, hold in list(self._queued.items()):
                if hold.is_live(self._clock.now()):
                    try:
                        await self._inner.abandon(hold)
                    except OUTAGE:
                        break  # still down: the rest wait for the next pass
                    except Exception:
                        # A bug, not an outage: retrying cannot help, and the hold
                        # still ends at its expiry.
                        logger.exception("could not release abandoned hold %s", hold_id)
                del self._queued[hold_id]
        logger.info("the inventory answers again: every hold given up meanwhile is released")
