"""One call for everyone who asks the same thing at once.

In a rush every request in flight finds a kept copy stale at the same moment; without
this each would make its own read (and take its own pooled connection) for the same
answer. The first asker starts the call; the others asking meanwhile await that one
call and get its answer, or its error. Nothing is kept once it ends: keeping answers
is the caller's business, with its own rule of how long they stay good.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._flights: dict[Hashable, asyncio.Future[T]] = {}

    async def share(self, key: Hashable, call: Callable[[], Awaitable[T]]) -> T:
        """The answer of the call in flight for ``key``, or of ``call()`` started now."""
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(call())
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._landed(key, done))
        # Shielded: one asker giving up (its client gone) must not cancel the others'.
        return await asyncio.shield(flight)

    def forget(self) -> None:
        """Let the next askers start calls of their own, even while these are in flight
        (after a write that makes their answers old)."""
        self._flights.clear()

    def _landed(self, key: Hashable, done: asyncio.Future[T]) -> None:
        # Only this flight's own entry: ``forget`` may have let a newer one start.
        if self._flights.get(key) is done:
            del self._flights[key]
