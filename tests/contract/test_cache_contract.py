"""The ``Cache`` contract, for the in-memory cache and Redis.

Redis expires keys on its own clock, which a test cannot move, so this suite runs the
in-memory cache on the system clock too and lets short TTLs really pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from getiickets.adapters.memory import InMemoryCache
from getiickets.adapters.redis.cache import RedisCache
from getiickets.adapters.system.clock import SystemClock
from getiickets.entrypoints.metrics import Metrics, observed_store
from getiickets.ports.hot_state import Cache
from tests.contract.hot_state_backends import redis_client

pytestmark = pytest.mark.contract

MINUTE = timedelta(minutes=1)
SHORT = timedelta(milliseconds=200)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def redis_location(request: pytest.FixtureRequest) -> tuple[str, str] | None:
    # Resolved here, outside the event loop: the server fixtures call asyncio.run.
    if request.param == "redis":
        return request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
    return None


@pytest.fixture
async def cache(redis_location: tuple[str, str] | None) -> AsyncIterator[Cache]:
    if redis_location is None:
        yield InMemoryCache(SystemClock())
        return
    url, prefix = redis_location
    async with redis_client(url) as client:
        yield RedisCache(client, prefix=prefix)


async def test_a_stored_value_reads_back(cache: Cache) -> None:
    await cache.set("event:slug:afrobeats", b'{"id": "e1"}', MINUTE)

    assert await cache.get("event:slug:afrobeats") == b'{"id": "e1"}'
    assert await cache.get("event:slug:other") is None


async def test_setting_again_replaces_the_value(cache: Cache) -> None:
    await cache.set("k", b"old", MINUTE)
    await cache.set("k", b"new", MINUTE)

    assert await cache.get("k") == b"new"


async def test_delete_removes_every_key_named(cache: Cache) -> None:
    for key in ("a", "b", "c"):
        await cache.set(key, key.encode(), MINUTE)

    await cache.delete("a", "b", "never-set")
    await cache.delete()

    assert [await cache.get(key) for key in ("a", "b", "c")] == [None, None, b"c"]


async def test_an_entry_lapses_after_its_ttl(cache: Cache) -> None:
    await cache.set("short", b"v", SHORT)
    await cache.set("long", b"v", MINUTE)
    assert await cache.get("short") == b"v"

    await asyncio.sleep(0.3)

    assert await cache.get("short") is None
    assert await cache.get("long") == b"v"


async def test_a_ttl_must_be_positive(cache: Cache) -> None:
    with pytest.raises(ValueError, match="positive ttl"):
        await cache.set("k", b"v", timedelta(0))


async def test_incr_counts_from_zero_and_reads_back_as_decimal(cache: Cache) -> None:
    assert await cache.incr("version:events") == 1
    assert await cache.incr("version:events") == 2

    assert await cache.get("version:events") == b"2"


async def test_incr_continues_a_stored_number_and_keeps_its_ttl(cache: Cache) -> None:
    await cache.set("counter", b"41", SHORT)

    assert await cache.incr("counter") == 42
    await asyncio.sleep(0.3)
    assert await cache.get("counter") is None


async def test_incr_refuses_a_value_that_is_not_a_number(cache: Cache) -> None:
    await cache.set("page", b"<html>", MINUTE)

    with pytest.raises(ValueError, match="counter"):
        await cache.incr("page")


@pytest.mark.redis
async def test_redis_cache_hits_and_misses_are_exported(redis_url: str, redis_prefix: str) -> None:
    # As the composition root wires it: the exporter counts what the cache answers.
    metrics = Metrics()
    async with redis_client(redis_url) as client:
        cache = observed_store(RedisCache(client, prefix=redis_prefix), "cache", metrics)
        await cache.set("k", b"v", MINUTE)

        await cache.get("k")
        await cache.get("k")
        await cache.get("missing")

        counted = [
            metrics.registry.get_sample_value("getiickets_cache_requests_total", {"result": result})
            for result in ("hit", "miss")
        ]
        assert counted == [2, 1]
        assert await client.get(f"{redis_prefix}k") == b"v"  # namespaced by the prefix
