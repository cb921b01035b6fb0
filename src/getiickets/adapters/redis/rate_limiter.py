"""``RedisRateLimiter``: fixed windows shared by every API process.

``INCR`` counts, and the first hit of a window sets its expiry (``PEXPIRE ... NX``) in
the same transaction, so a crash between the two can never leave a counter that lives
forever and locks someone out.
"""

from __future__ import annotations

import math
from datetime import timedelta

import redis.asyncio as redis

from getiickets.adapters.redis.client import COMMAND_TIMEOUT_SECONDS
from getiickets.adapters.redis.errors import answer_within

_MILLISECOND = timedelta(milliseconds=1)


class RedisRateLimiter:
    """Implements ``RateLimiter``; raises ``CacheUnavailableError`` when Redis is down
    (refusing a login beats letting a password guesser through unthrottled)."""

    def __init__(
        self, client: redis.Redis, prefix: str = "", timeout: float = COMMAND_TIMEOUT_SECONDS
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._timeout = timeout

    async def hit(self, key: str, limit: int, window: timedelta) -> bool:
        name = f"{self._prefix}rate:{key}"
        async with (
            answer_within("the rate limiter", self._timeout),
            self._client.pipeline(transaction=True) as pipe,
        ):
            pipe.incr(name)
            pipe.pexpire(name, max(1, math.ceil(window / _MILLISECOND)), nx=True)
            count, _ = await pipe.execute()
        return int(count) <= limit
