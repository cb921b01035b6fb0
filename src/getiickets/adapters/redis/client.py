"""Building the Redis client: timeouts, retries and failover, as the ioredis options an
operator coming from Node would know them, translated to redis-py.

| ioredis option                         | redis-py here                                  |
|----------------------------------------|------------------------------------------------|
| ``lazyConnect: true``                  | redis-py connects on the first command anyway  |
| ``connectTimeout: 5000``               | ``socket_connect_timeout=5``                   |
| ``commandTimeout: 3000``               | ``socket_timeout=3``                           |
| ``retryStrategy: min(times*50, 2000)`` | ``ExponentialBackoff(cap=2, base=0.05)``       |
| ``maxRetriesPerRequest: 3``            | ``Retry(..., retries=3)``                      |
| ``reconnectOnError: READONLY``         | ``ReadOnlyError`` is retried, and redis-py     |
|                                        | drops the connection before each retry, so a   |
|                                        | failed-over primary is found again             |
| ``enableOfflineQueue: true``           | not copied: a command waits for a connection   |
|                                        | only as long as the timeouts above allow, so   |
|                                        | callers fail fast instead of queueing          |

Every script and command our adapters send is safe to repeat (reserve, release and
confirm are idempotent per hold id; a rebuild is a check-and-set), which is what makes
retrying a command that timed out after the server ran it harmless.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as redis
from redis import exceptions as redis_errors
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

CONNECT_TIMEOUT_SECONDS = 5.0
COMMAND_TIMEOUT_SECONDS = 3.0
RETRIES = 3
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 2.0
MAX_CONNECTIONS = 50
"""Per process. Commands are short (a script is one round trip), so 50 serve many
concurrent requests; the rest queue briefly for a free connection."""
HEALTH_CHECK_INTERVAL_SECONDS = 30
"""A connection idle this long is PINGed before reuse, so a dead one is not found mid-command."""


def create_redis(url: str, max_connections: int = MAX_CONNECTIONS) -> redis.Redis:
    """A client for ``url`` (``redis://`` or ``rediss://``); it connects on first use.

    A burst of more concurrent commands than ``max_connections`` waits for a free
    connection (up to the command timeout) instead of failing at once, which is what
    redis-py's default pool does past 100; and fewer, reused connections spare Redis
    and us the handshakes.
    """
    pool = redis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=COMMAND_TIMEOUT_SECONDS,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=COMMAND_TIMEOUT_SECONDS,
        retry=Retry(
            ExponentialBackoff(cap=BACKOFF_CAP_SECONDS, base=BACKOFF_BASE_SECONDS),
            RETRIES,
            supported_errors=(
                redis_errors.ConnectionError,
                redis_errors.TimeoutError,
                redis_errors.ReadOnlyError,
            ),
        ),
        health_check_interval=HEALTH_CHECK_INTERVAL_SECONDS,
        decode_responses=False,
    )
    # from_pool: closing the client closes its pool.
    return redis.Redis.from_pool(pool)


async def ping(client: redis.Redis, timeout: float) -> bool:  # noqa: ASYNC109 - the caller's budget
    """Whether Redis answers within ``timeout`` seconds (readiness checks)."""
    try:
        async with asyncio.timeout(timeout):
            return bool(await client.ping())
    except (redis_errors.RedisError, TimeoutError, OSError):
        # TimeoutError here is the builtin one that asyncio.timeout raises.
        return False
