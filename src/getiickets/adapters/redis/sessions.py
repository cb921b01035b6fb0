"""``RedisSessionStore``: Redis as a read cache in front of the durable session store.

The durable store (the database's ``SqlAlchemySessionStore`` in production) holds every
login; Redis holds copies under ``sess:{key}``, expiring with the session (``SET ...
PX``, in milliseconds: ``EX`` seconds would round a 1.5 s remainder to 1 or 2 s). So a
Redis restarted empty, or unreachable, logs nobody out:

* ``put`` writes the durable store first (a login is durable once it is answered),
  then the cache; a cache that cannot take it is skipped, readers fill it later.
* ``get`` answers from the cache; on a miss it reads the durable store and fills the
  cache with ``SET NX``; when Redis cannot answer, the durable store answers alone.
* ``delete`` (logout) first replaces the cached copy with a tombstone, then deletes
  the durable row. From the tombstone on, no process answers the session from the
  cache, and a reader that loaded it from the database just before the delete cannot
  put it back (its ``SET NX`` loses to the tombstone): the token stops working
  everywhere at once, and stays stopped when Redis later loses the tombstone, since
  the row is gone by then. If Redis cannot take the tombstone, the row is still
  deleted and the logout fails with ``CacheUnavailableError``: a copy cached before
  the outage could otherwise outlive it unseen.

``get`` checks ``expires_at`` against the injected clock, so a session is never
honoured past its end even where the two clocks disagree by a little, and tests that
move the clock see what the in-memory store shows.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta

import msgspec
import redis.asyncio as redis

from getiickets.adapters.redis.client import COMMAND_TIMEOUT_SECONDS
from getiickets.adapters.redis.errors import answer_within
from getiickets.domain.model.accounts import SESSION_TTL, Session
from getiickets.domain.model.errors import CacheUnavailableError
from getiickets.ports.clock import Clock
from getiickets.ports.hot_state import SessionStore

logger = logging.getLogger(__name__)

_MILLISECOND = timedelta(milliseconds=1)
_decoder = msgspec.json.Decoder(Session)
REVOKED = b"revoked"
"""The tombstone a logout leaves in the cache."""
TOMBSTONE_TTL = max(SESSION_TTL.values())
"""As long as any session lives: no copy cached before the logout can outlast it."""


class RedisSessionStore:
    """Implements ``SessionStore`` over ``durable``, with Redis in front as a read cache.

    Each Redis call gives up after ``timeout`` seconds, retries included.
    """

    def __init__(
        self,
        client: redis.Redis,
        durable: SessionStore,
        clock: Clock,
        prefix: str = "",
        timeout: float = COMMAND_TIMEOUT_SECONDS,
    ) -> None:
        self._client = client
        self._durable = durable
        self._timeout = timeout
        self._clock = clock
        self._prefix = prefix

    async def put(self, session: Session) -> None:
        """Store until ``session.expires_at``; an already expired session is not kept."""
        await self._durable.put(session)
        remaining = self._remaining(session)
        try:
            async with answer_within("the session cache", self._timeout):
                if remaining is None:
                    await self._client.delete(self._key(session.key))
                else:
                    await self._client.set(
                        self._key(session.key), msgspec.json.encode(session), px=remaining
                    )
        except CacheUnavailableError as error:
            logger.warning("session stored in the database only: %s", error)

    async def get(self, key: str) -> Session | None:
        try:
            async with answer_within("the session cache", self._timeout):
                cached = await self._client.get(self._key(key))
        except CacheUnavailableError as error:
            logger.warning("session read from the database: %s", error)
            return await self._durable.get(key)
        if cached == REVOKED:
            return None
        if cached is not None:
            session = _decoder.decode(cached)
            return session if session.is_live(self._clock.now()) else None
        stored = await self._durable.get(key)
        if stored is not None:
            await self._fill(stored)
        return stored

    async def delete(self, key: str) -> None:
        try:
            async with answer_within("the session cache", self._timeout):
                await self._client.set(
                    self._key(key), REVOKED, px=math.ceil(TOMBSTONE_TTL / _MILLISECOND)
                )
        except CacheUnavailableError:
            await self._durable.delete(key)
            raise
        await self._durable.delete(key)

    async def _fill(self, session: Session) -> None:
        """Cache a session read from the database, unless a logout's tombstone is there."""
        remaining = self._remaining(session)
        if remaining is None:
            return
        try:
            async with answer_within("the session cache", self._timeout):
                await self._client.set(
                    self._key(session.key), msgspec.json.encode(session), px=remaining, nx=True
                )
        except CacheUnavailableError as error:
            logger.warning("session not cached: %s", error)

    def _remaining(self, session: Session) -> int | None:
        """Milliseconds the session has left, None when it has ended."""
        remaining = session.expires_at - self._clock.now()
        if remaining <= timedelta(0):
            return None
        return max(1, math.ceil(remaining / _MILLISECOND))

    def _key(self, key: str) -> str:
        return f"{self._prefix}sess:{key}"
