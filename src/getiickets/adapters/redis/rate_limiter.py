"""``RedisRateLimiter``: fixed windows shared by every API process.

``INCR`` counts, and the first hit of a window sets its expiry in the same atomic step
(one Lua script), so a crash between the two can never leave a counter that lives
forever and locks someone out. One script call is one command on the wire: a
MULTI/INCR/PEXPIRE/EXEC pipeline was four, and cost a queue join in a rush twice the
client CPU for each of its two limits.
"""

from __future__ import annotations

import math
from datetime import timedelta

import redis.asyncio as redis

from getiickets.adapters.redis.client import COMMAND_TIMEOUT_SECONDS
from getiickets.adapters.redis.errors import answer_within

_MILLISECOND = timedelta(milliseconds=1)

# KEYS[1]: the counter; ARGV[1]: the window in ms. A counter without an expiry (only
# ever left by an older version's crash) gets one too, as PEXPIRE NX did.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
"""


class RedisRateLimiter:
    """Implements ``RateLimiter``; raises ``CacheUnavailableError`` when Redis is down
    (refusing a login beats letting a password guesser through unthrottled)."""

    def __init__(
        self, client: redis.Redis, prefix: str = "", timeout: float = COMMAND_TIMEOUT_SECONDS
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._timeout = timeout
        self._hit = client.register_script(_HIT)

    async def hit(self, key: str, limit: int, window: timedelta) -> bool:
        name = f"{self._prefix}rate:{key}"
        window_ms = max(1, math.ceil(window / _MILLISECOND))
        async with answer_within("the rate limiter", self._timeout):
            count = await self._hit(keys=[name], args=[window_ms])
        return int(count) <= limit
