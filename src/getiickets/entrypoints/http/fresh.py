"""Encoded public reads, kept for a fraction of a second in each API process.

In a ticket rush thousands of buyers ask for the same event list and the same event
at once. Each answer costs several Redis round trips (the cached catalog, then the
live availability) and its encoding; the answer is the same for all of them. So the
encoded body is kept here for ``max_age`` seconds, and one request builds it while
the others that arrive meanwhile wait for that one build instead of repeating it.

What this bounds: availability shown is read from the inventory at most ``max_age``
(0.5 s) before the answer leaves (API.md allows a few seconds; the ticket-rush issue
asks for at most 1 s). An event written through this process is shown at once (the
write routes call :meth:`FreshResponses.clear`); one written through another process
shows there within ``max_age``. Only what anyone may see is kept: callers build
entries as an anonymous reader.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable

from getiickets.domain.usecases.single_flight import SingleFlight

DEFAULT_MAX_AGE = 0.5
"""Seconds an encoded answer is served; its availability is never older than this."""
MAX_ENTRIES = 256
"""Distinct reads kept at once (pages, filters, events); more are built every time."""


class FreshResponses:
    def __init__(
        self,
        max_age: float = DEFAULT_MAX_AGE,
        *,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_age = max_age
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, bytes]] = {}
        self._building: SingleFlight[bytes] = SingleFlight()
        self._generation = 0

    async def get(self, key: Hashable, build: Callable[[], Awaitable[bytes]]) -> bytes:
        """The body kept for ``key`` if younger than ``max_age``, else one ``build()``
        shared by every caller asking meanwhile (its error too: nothing is kept then)."""
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < self._max_age:
            return entry[1]
        # Timed before the build reads anything, so the age covers the whole answer.
        generation = self._generation
        return await self._building.share(key, lambda: self._build(key, build, now, generation))

    def peek(self, key: Hashable) -> bytes | None:
        """The body kept for ``key`` if younger than ``max_age``; never builds or waits."""
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry[0] < self._max_age:
            return entry[1]
        return None

    def clear(self) -> None:
        """Forget everything kept, and anything being built now: after a write here."""
        self._entries.clear()
        self._building.forget()
        self._generation += 1

    async def _build(
        self,
        key: Hashable,
        build: Callable[[], Awaitable[bytes]],
        started: float,
        generation: int,
    ) -> bytes:
        body = await build()
        if generation == self._generation:
            self._keep(key, started, body)
        return body

    def _keep(self, key: Hashable, started: float, body: bytes) -> None:
        if len(self._entries) >= self._max_entries:
            now = self._clock()
            self._entries = {
                kept: entry
                for kept, entry in self._entries.items()
                if now - entry[0] < self._max_age
            }
            if len(self._entries) >= self._max_entries:
                return
        self._entries[key] = (started, body)
