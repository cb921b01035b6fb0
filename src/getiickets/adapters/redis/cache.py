"""``RedisCache``: the best-effort read cache. It never fails a request.

A call that Redis cannot answer within ``read_timeout`` (1 second by default, applied
to writes too, so a silent server never holds a request for the client's full retry
budget) is a miss, or a dropped write, and a logged warning. Hits and misses are
counted by the metrics exporter's wrapper (``entrypoints.metrics.observed_store``).

After a call fails, reads and writes for ``fail_fast`` seconds are a miss and a dropped
write at once, instead of each waiting out its own timeout: a request that misses
then writes the entry back (the order path does) would otherwise pay the timeout twice
while Redis is down, on top of the inventory's. Deletes and counters still try, since
they invalidate: one dropped needlessly would leave a stale entry.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

import redis.asyncio as redis
from redis import exceptions as redis_errors

from getiickets.adapters.redis.errors import UNAVAILABLE

logger = logging.getLogger(__name__)

_MILLISECOND = timedelta(milliseconds=1)
T = TypeVar("T")


class _FailedError(Exception):
    """Redis could not answer; the caller falls back (miss, dropped write, 0)."""


class RedisCache:
    """Implements ``Cache``."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "",
        read_timeout: float = 1.0,
        fail_fast: float = 1.0,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._timeout = read_timeout
        self._fail_fast = fail_fast
        self._failed_at = -math.inf

    async def get(self, key: str) -> bytes | None:
        try:
            self._unless_failed_just_now()
            value = await self._call("get", self._client.get(self._key(key)))
        except _FailedError:
            value = None
        if value is None:
            return None
        # Bytes whatever the client's decode_responses: values are opaque to the cache.
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl: timedelta) -> None:
        if ttl <= timedelta(0):
            raise ValueError("a cache entry needs a positive ttl")
        milliseconds = math.ceil(ttl / _MILLISECOND)
        try:
            self._unless_failed_just_now()
            await self._call("set", self._client.set(self._key(key), value, px=milliseconds))
        except _FailedError:
            return

    async def delete(self, *keys: str) -> None:
        if not keys:
            return
        try:
            await self._call("delete", self._client.delete(*(self._key(key) for key in keys)))
        except _FailedError:
            return

    async def incr(self, key: str) -> int:
        """Counters have no TTL unless the key had one already (Redis keeps it).

        When Redis cannot answer it returns 0: version-stamped keys then point at a
        fresh namespace, which is a miss, never a stale hit.
        """
        try:
            return int(await self._call("incr", self._client.incr(self._key(key))))
        except _FailedError:
            return 0
        except redis_errors.ResponseError as error:
            raise ValueError(f"cache key {key!r} does not hold a counter") from error

    async def _call(self, operation: str, command: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self._timeout):
                return await command
        except UNAVAILABLE as error:
            self._failed_at = time.monotonic()
            logger.warning("cache %s failed: %r", operation, error)
            raise _FailedError from error

    def _unless_failed_just_now(self) -> None:
        if time.monotonic() - self._failed_at < self._fail_fast:
            raise _FailedError

    def _key(self, key: str) -> str:
        return f"{self._prefix}{key}"
