"""The ``SessionStore`` contract, for the in-memory store and Redis.

Both read time from the injected clock: a session is never answered past its
``expires_at``. Redis also drops the key by itself when the session ends, which the
Redis-only tests at the bottom check with Redis's own clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import redis.asyncio as redis

from getiickets.adapters.memory import InMemoryClock, InMemorySessionStore
from getiickets.adapters.redis.sessions import RedisSessionStore
from getiickets.adapters.system.clock import SystemClock
from getiickets.domain.model.accounts import SESSION_TTL, Role, Session
from getiickets.ports.clock import Clock
from getiickets.ports.hot_state import SessionStore
from tests.contract.hot_state_backends import START, redis_client

pytestmark = pytest.mark.contract


@dataclass(frozen=True)
class Servers:
    name: str
    redis_url: str = ""
    redis_prefix: str = ""


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def servers(request: pytest.FixtureRequest) -> Servers:
    # Resolved here, outside the event loop: the server fixtures call asyncio.run.
    if request.param == "redis":
        return Servers(
            name="redis",
            redis_url=request.getfixturevalue("redis_url"),
            redis_prefix=request.getfixturevalue("redis_prefix"),
        )
    return Servers(name=request.param)


@dataclass
class Stores:
    """Builds the store under test on whichever clock a test needs."""

    servers: Servers
    client: redis.Redis | None = None

    def on(self, clock: Clock) -> SessionStore:
        if self.client is None:
            return InMemorySessionStore(clock)
        return RedisSessionStore(self.client, clock, prefix=self.servers.redis_prefix)


@pytest.fixture
async def stores(servers: Servers) -> AsyncIterator[Stores]:
    if servers.name == "memory":
        yield Stores(servers)
        return
    async with redis_client(servers.redis_url) as client:
        yield Stores(servers, client)


@pytest.fixture
def clock() -> InMemoryClock:
    return InMemoryClock(START)


@pytest.fixture
def store(stores: Stores, clock: InMemoryClock) -> SessionStore:
    return stores.on(clock)


def session(clock: Clock, key: str = "digest-1", ttl: timedelta | None = None) -> Session:
    now = clock.now()
    return Session(
        key=key,
        user_id="user-1",
        role=Role.BUYER,
        created_at=now,
        expires_at=now + (SESSION_TTL[Role.BUYER] if ttl is None else ttl),
    )


async def test_a_stored_session_reads_back_whole(store: SessionStore, clock: InMemoryClock) -> None:
    login = session(clock)

    await store.put(login)

    assert await store.get(login.key) == login
    assert await store.get("another-digest") is None


async def test_storing_the_same_key_again_replaces_the_session(
    store: SessionStore, clock: InMemoryClock
) -> None:
    first = session(clock)
    await store.put(first)
    clock.advance(timedelta(minutes=5))
    renewed = session(clock, ttl=SESSION_TTL[Role.ORGANIZER])

    await store.put(renewed)

    assert await store.get(first.key) == renewed


async def test_logout_deletes_the_session_and_deleting_twice_is_harmless(
    store: SessionStore, clock: InMemoryClock
) -> None:
    login, other = session(clock), session(clock, key="digest-2")
    await store.put(login)
    await store.put(other)

    await store.delete(login.key)
    await store.delete(login.key)

    assert await store.get(login.key) is None
    assert await store.get(other.key) == other


async def test_a_session_ends_at_its_expiry(store: SessionStore, clock: InMemoryClock) -> None:
    login = session(clock, ttl=timedelta(hours=2))
    await store.put(login)

    clock.advance(timedelta(hours=2) - timedelta(microseconds=1))
    assert await store.get(login.key) == login
    clock.advance(timedelta(microseconds=1))
    assert await store.get(login.key) is None


async def test_an_already_expired_session_is_not_kept(
    store: SessionStore, clock: InMemoryClock
) -> None:
    login = session(clock, ttl=timedelta(hours=1))
    await store.put(login)
    clock.advance(timedelta(hours=1))
    await store.put(login)  # e.g. a refresh racing its own expiry
    clock.set(START)

    assert await store.get(login.key) is None


async def test_a_session_disappears_on_its_own_in_real_time(stores: Stores) -> None:
    clock = SystemClock()
    store = stores.on(clock)
    login = session(clock, ttl=timedelta(milliseconds=300))
    await store.put(login)
    assert await store.get(login.key) == login

    await asyncio.sleep(0.4)

    assert await store.get(login.key) is None


@pytest.mark.redis
async def test_redis_drops_an_ended_session_by_itself(redis_url: str, redis_prefix: str) -> None:
    async with redis_client(redis_url) as client:
        clock = SystemClock()
        login = session(clock, ttl=timedelta(milliseconds=300))
        await RedisSessionStore(client, clock, prefix=redis_prefix).put(login)
        key = f"{redis_prefix}sess:{login.key}"
        assert await client.exists(key) == 1

        await asyncio.sleep(0.4)

        assert await client.exists(key) == 0


@pytest.mark.redis
async def test_redis_keeps_a_session_for_exactly_its_remaining_time(
    redis_url: str, redis_prefix: str, clock: InMemoryClock
) -> None:
    async with redis_client(redis_url) as client:
        store = RedisSessionStore(client, clock, prefix=redis_prefix)
        login = session(clock, ttl=timedelta(hours=2))
        clock.advance(timedelta(minutes=30))  # stored late: only 90 minutes left

        await store.put(login)

        remaining_ms = await client.pttl(f"{redis_prefix}sess:{login.key}")
        assert 90 * 60_000 - 1_000 < remaining_ms <= 90 * 60_000
