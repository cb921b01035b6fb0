"""``RedisSessionStore``: login sessions under ``sess:{key}``, expiring with the session.

Redis drops the key when the session ends (``SET ... PX``), so nothing piles up; ``get``
also checks ``expires_at`` against the injected clock, so a session is never honoured
past its end even where the two clocks disagree by a little, and tests that move the
clock see what the in-memory store shows. The TTL is set in milliseconds (the seed's
``EX`` seconds would round a 1.5 s remainder to 1 or 2 s).
"""

from __future__ import annotations

import math
from datetime import timedelta

import msgspec
import redis.asyncio as redis

from getiickets.adapters.redis.client import COMMAND_TIMEOUT_SECONDS
from getiickets.adapters.redis.errors import answer_within
from getiickets.domain.model.accounts import Session
from getiickets.ports.clock import Clock

_MILLISECOND = timedelta(milliseconds=1)
_decoder = msgspec.json.Decoder(Session)


class RedisSessionStore:
    """Implements ``SessionStore``.

    Raises ``CacheUnavailableError`` when Redis does not answer within ``timeout``
    seconds, retries included.
    """

    def __init__(
        self,
        client: redis.Redis,
        clock: Clock,
        prefix: str = "",
        timeout: float = COMMAND_TIMEOUT_SECONDS,
    ) -> None:
        self._client = client
        self._timeout = timeout
        self._clock = clock
        self._prefix = prefix

    async def put(self, session: Session) -> None:
        """Store until ``session.expires_at``; an already expired session is not kept."""
        remaining = session.expires_at - self._clock.now()
        async with answer_within("the session store", self._timeout):
            if remaining <= timedelta(0):
                await self._client.delete(self._key(session.key))
                return
            await self._client.set(
                self._key(session.key),
                msgspec.json.encode(session),
                px=max(1, math.ceil(remaining / _MILLISECOND)),
            )

    async def get(self, key: str) -> Session | None:
        async with answer_within("the session store", self._timeout):
            stored = await self._client.get(self._key(key))
        if stored is None:
            return None
        session = _decoder.decode(stored)
        return session if session.is_live(self._clock.now()) else None

    async def delete(self, key: str) -> None:
        async with answer_within("the session store", self._timeout):
            await self._client.delete(self._key(key))

    def _key(self, key: str) -> str:
        return f"{self._prefix}sess:{key}"
