"""Redis down: inventory fails fast with ``CacheUnavailableError``, the cache misses, and
sessions are answered by their durable store just as fast (only a logout, which Redis
must record, fails). Two ways to be down: nothing listens (refused at once, after the client's
retries), and a server that accepts connections but never answers (only the
deadlines end the wait). Neither needs a Redis server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest

from getiickets.adapters.memory import InMemoryClock, InMemorySessionStore
from getiickets.adapters.redis.cache import RedisCache
from getiickets.adapters.redis.client import ping
from getiickets.adapters.redis.inventory import RedisInventory
from getiickets.adapters.redis.sessions import RedisSessionStore
from getiickets.domain.model.accounts import Role, Session
from getiickets.domain.model.errors import CacheUnavailableError
from getiickets.domain.model.inventory import Hold
from getiickets.entrypoints.metrics import Metrics, observed_store
from tests.contract.hot_state_backends import START, FixedFacts, redis_client

CLOSED_PORT_URL = "redis://127.0.0.1:1/0"
REFUSED_WITHIN = 2.0
"""Seconds: three retries backing off 0.1, 0.2 and 0.4 s, well under the 3 s deadline."""
DEADLINE = 0.3
"""The deadline the silent-server tests give the adapters (3 s and 1 s by default)."""


@pytest.fixture
async def silent_server_url() -> AsyncIterator[str]:
    """A TCP server that accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


def _hold() -> Hold:
    return Hold(
        hold_id="h1", ticket_type_id="tt-1", quantity=1, expires_at=START + timedelta(minutes=15)
    )


def _session() -> Session:
    return Session(
        key="digest",
        user_id="u1",
        role=Role.BUYER,
        created_at=START,
        expires_at=START + timedelta(hours=1),
    )


async def test_a_closed_port_fails_inventory_and_session_logouts_fast() -> None:
    clock = InMemoryClock(START)
    async with redis_client(CLOSED_PORT_URL) as client:
        inventory = RedisInventory(client, FixedFacts(10), clock)
        sessions = RedisSessionStore(client, InMemorySessionStore(clock), clock)
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: inventory.reserve(_hold()),
            lambda: inventory.release("tt-1", "h1"),
            lambda: inventory.confirm("tt-1", "h1"),
            lambda: inventory.level("tt-1"),
            lambda: sessions.delete("digest"),
        ]

        async def timed(call: Callable[[], Awaitable[object]]) -> float:
            started = time.monotonic()
            with pytest.raises(CacheUnavailableError):
                await call()
            return time.monotonic() - started

        # Concurrently, to keep the suite fast; each call is timed on its own.
        elapsed = await asyncio.gather(*(timed(call) for call in calls))

        assert max(elapsed) < REFUSED_WITHIN


async def test_a_closed_port_leaves_sessions_to_the_durable_store_fast() -> None:
    clock = InMemoryClock(START)
    async with redis_client(CLOSED_PORT_URL) as client:
        sessions = RedisSessionStore(client, InMemorySessionStore(clock), clock)
        started = time.monotonic()

        await sessions.put(_session())

        assert await sessions.get("digest") == _session()
        assert time.monotonic() - started < 2 * REFUSED_WITHIN


async def test_a_closed_port_makes_the_cache_miss_and_count_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    async with redis_client(CLOSED_PORT_URL) as client:
        # As the composition root wires it: the exporter counts hits and misses.
        cache = observed_store(RedisCache(client), "cache", metrics)

        with caplog.at_level(logging.WARNING, logger="getiickets.adapters.redis.cache"):
            got, _, _, counted, pinged = await asyncio.gather(
                cache.get("k"),
                cache.set("k", b"v", timedelta(minutes=1)),
                cache.delete("k"),
                cache.incr("n"),
                ping(client, timeout=1.0),
            )

        assert (got, counted, pinged) == (None, 0, False)
        exported = [
            metrics.registry.get_sample_value("getiickets_cache_requests_total", {"result": result})
            for result in ("hit", "miss")
        ]
        assert exported == [0, 1]
        errors = [r for r in caplog.records if r.getMessage().startswith("cache ")]
        assert len(errors) == 4


async def test_a_silent_server_fails_inventory_and_sessions_at_their_deadline(
    silent_server_url: str,
) -> None:
    clock = InMemoryClock(START)
    async with redis_client(silent_server_url) as client:
        inventory = RedisInventory(client, FixedFacts(10), clock, timeout=DEADLINE)
        durable = InMemorySessionStore(clock)
        await durable.put(_session())
        sessions = RedisSessionStore(client, durable, clock, timeout=DEADLINE)
        for call in (lambda: inventory.reserve(_hold()), lambda: sessions.delete("digest")):
            started = time.monotonic()
            with pytest.raises(CacheUnavailableError):
                await call()
            assert DEADLINE <= time.monotonic() - started < DEADLINE + 0.5

        # Reads wait out the same deadline, then the durable store answers.
        await durable.put(_session())
        started = time.monotonic()
        assert await sessions.get("digest") == _session()
        assert DEADLINE <= time.monotonic() - started < DEADLINE + 0.5


async def test_a_silent_server_makes_the_cache_miss_at_its_read_timeout(
    silent_server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    async with redis_client(silent_server_url) as client:
        cache = observed_store(RedisCache(client, read_timeout=DEADLINE), "cache", metrics)
        started = time.monotonic()

        with caplog.at_level(logging.WARNING, logger="getiickets.adapters.redis.cache"):
            assert await cache.get("k") is None

        assert DEADLINE <= time.monotonic() - started < DEADLINE + 0.5
        misses = metrics.registry.get_sample_value(
            "getiickets_cache_requests_total", {"result": "miss"}
        )
        errors = [r for r in caplog.records if r.getMessage().startswith("cache ")]
        assert (misses, len(errors)) == (1, 1)
        assert await ping(client, timeout=DEADLINE) is False


async def test_after_a_failed_call_the_cache_misses_at_once_for_a_while(
    silent_server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A miss that writes the entry back (the order path's event) paid the read timeout
    twice, or three times, while Redis did not answer."""
    metrics = Metrics()
    async with redis_client(silent_server_url) as client:
        cache = observed_store(
            RedisCache(client, read_timeout=DEADLINE, fail_fast=2.0), "cache", metrics
        )
        with caplog.at_level(logging.WARNING, logger="getiickets.adapters.redis.cache"):
            assert await cache.get("k") is None
            started = time.monotonic()

            await cache.set("k", b"v", timedelta(minutes=1))
            assert await cache.get("k") is None

        assert time.monotonic() - started < DEADLINE / 2
        misses = metrics.registry.get_sample_value(
            "getiickets_cache_requests_total", {"result": "miss"}
        )
        # Only the first call went to Redis and failed; the next two did not wait.
        failures = [r for r in caplog.records if r.getMessage().startswith("cache ")]
        assert (misses, len(failures)) == (2, 1)


@pytest.mark.redis
async def test_ping_answers_true_when_redis_is_up(redis_url: str) -> None:
    async with redis_client(redis_url) as client:
        assert await ping(client, timeout=1.0) is True
