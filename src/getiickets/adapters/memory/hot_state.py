"""``InMemoryCache`` and ``InMemorySessionStore``: Redis-like hot state in a dict.

Expiry follows the injected clock, so a test that advances it sees entries lapse
exactly as Redis would let them. Like Redis, ``incr`` keeps a key's TTL and stores the
counter as decimal bytes (``get`` after ``incr`` answers ``b"1"``).

``available``: set it to False to act like an unreachable Redis, for fault tests: the
cache then misses and drops writes (it is best effort), and the session store raises
``CacheUnavailableError`` (a session is never guessed).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from getiickets.domain.model.accounts import Session
from getiickets.domain.model.errors import CacheUnavailableError
from getiickets.ports.clock import Clock


class InMemoryCache:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[bytes, datetime | None]] = {}
        self.available = True

    async def get(self, key: str) -> bytes | None:
        if not self.available:
            return None
        entry = self._live(key)
        return None if entry is None else entry[0]

    async def set(self, key: str, value: bytes, ttl: timedelta) -> None:
        if ttl <= timedelta(0):
            raise ValueError("a cache entry needs a positive ttl")
        if self.available:
            self._entries[key] = (bytes(value), self._clock.now() + ttl)

    async def delete(self, *keys: str) -> None:
        if self.available:
            for key in keys:
                self._entries.pop(key, None)

    async def incr(self, key: str) -> int:
        """Counters have no TTL unless the key had one already (as in Redis).

        When unavailable it answers 0 and counts nothing: version-stamped keys then
        point at a fresh namespace, which is a miss, never a stale hit.
        """
        if not self.available:
            return 0
        entry = self._live(key)
        value, expires_at = (b"0", None) if entry is None else entry
        try:
            count = int(value) + 1
        except ValueError:
            raise ValueError(f"cache key {key!r} does not hold a counter") from None
        self._entries[key] = (str(count).encode(), expires_at)
        return count

    def _live(self, key: str) -> tuple[bytes, datetime | None] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at = entry[1]
        if expires_at is not None and expires_at <= self._clock.now():
            del self._entries[key]
            return None
        return entry


class InMemorySessionStore:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self.available = True

    async def put(self, session: Session) -> None:
        """Store until ``session.expires_at``; an already expired session is not kept."""
        self._check_available()
        if session.is_live(self._clock.now()):
            self._sessions[session.key] = session
        else:
            self._sessions.pop(session.key, None)

    async def get(self, key: str) -> Session | None:
        self._check_available()
        session = self._sessions.get(key)
        if session is None:
            return None
        if not session.is_live(self._clock.now()):
            del self._sessions[key]
            return None
        return session

    async def delete(self, key: str) -> None:
        self._check_available()
        self._sessions.pop(key, None)

    def _check_available(self) -> None:
        if not self.available:
            raise CacheUnavailableError("the session store is unavailable")


_PRUNE_ABOVE = 10_000


class InMemoryRateLimiter:
    """Fixed windows, like Redis ``INCR`` plus ``EXPIRE NX`` on a fresh key."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[int, datetime]] = {}

    async def hit(self, key: str, limit: int, window: timedelta) -> bool:
        now = self._clock.now()
        if len(self._windows) > _PRUNE_ABOVE:
            # Forget finished windows, or a stream of distinct keys would grow forever.
            self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
        count, ends_at = self._windows.get(key, (0, now + window))
        if ends_at <= now:
            count, ends_at = 0, now + window
        self._windows[key] = (count + 1, ends_at)
        return count + 1 <= limit
