"""The RateLimiter port: the in-memory fake and Redis count alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as redis

from getiickets.adapters.memory import InMemoryClock, InMemoryRateLimiter
from getiickets.adapters.redis.rate_limiter import RedisRateLimiter
from getiickets.ports.hot_state import RateLimiter

WINDOW = timedelta(milliseconds=300)


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[tuple[RateLimiter, object]]:
    if request.param == "memory":
        clock = InMemoryClock(datetime(2026, 1, 1, tzinfo=UTC))

        async def pass_window() -> None:
            clock.advance(WINDOW)

        yield InMemoryRateLimiter(clock), pass_window
        return
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    client = redis.Redis.from_url(url)

    async def wait_window() -> None:
        await asyncio.sleep(WINDOW.total_seconds() + 0.05)

    try:
        yield RedisRateLimiter(client, prefix=prefix), wait_window
    finally:
        await client.aclose()


async def test_attempts_up_to_the_limit_pass_and_the_next_one_is_refused(
    limiter: tuple[RateLimiter, object],
) -> None:
    rate_limiter, _ = limiter
    results = [await rate_limiter.hit("login:ada", 3, WINDOW) for _ in range(5)]
    assert results == [True, True, True, False, False]


async def test_keys_are_counted_apart(limiter: tuple[RateLimiter, object]) -> None:
    rate_limiter, _ = limiter
    assert await rate_limiter.hit("login:ada", 1, WINDOW)
    assert not await rate_limiter.hit("login:ada", 1, WINDOW)
    assert await rate_limiter.hit("login:bola", 1, WINDOW)


async def test_a_new_window_starts_counting_again(limiter: tuple[RateLimiter, object]) -> None:
    rate_limiter, pass_window = limiter
    assert await rate_limiter.hit("login:ada", 1, WINDOW)
    assert not await rate_limiter.hit("login:ada", 1, WINDOW)
    await pass_window()  # type: ignore[operator]
    assert await rate_limiter.hit("login:ada", 1, WINDOW)
