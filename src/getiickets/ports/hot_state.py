"""Hot state kept outside the database: the read cache, login sessions, rate limits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from datetime import timedelta

    from getiickets.domain.model.accounts import Session


class Cache(Protocol):
    """A best-effort cache: ``get`` answers None when the cache cannot (a miss)."""

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl: timedelta) -> None: ...
    async def delete(self, *keys: str) -> None: ...
    async def incr(self, key: str) -> int:
        """Add one to a counter (created at 0), for version-stamped keys."""
        ...


class SessionStore(Protocol):
    """Raises ``CacheUnavailableError`` when it cannot answer: a session is never guessed."""

    async def put(self, session: Session) -> None:
        """Store until ``session.expires_at``."""
        ...

    async def get(self, key: str) -> Session | None: ...
    async def delete(self, key: str) -> None: ...


class RateLimiter(Protocol):
    """Login attempts are counted here. Queue joins are not: the ``WaitingLine`` counts
    them in the same atomic step as the join itself (one round trip instead of three)."""

    async def hit(self, key: str, limit: int, window: timedelta) -> bool:
        """Count one attempt under ``key``; False once more than ``limit`` fell in the window.

        A fixed window: the count starts again ``window`` after the first attempt.
        """
        ...
