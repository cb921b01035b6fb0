"""The ``SessionStore`` contract, on every combination of durable store and cache.

The durable store is the in-memory fake, SQLite or PostgreSQL (``SqlAlchemySessionStore``);
each runs alone and with Redis in front (``RedisSessionStore``). All read time from the
injected clock: a session is never answered past its ``expires_at``. Redis also drops
its copy by itself when the session ends, which the Redis-only tests at the bottom
check with Redis's own clock; they also lose Redis's data, or all of Redis, and the
sessions go on working from the database.

Two stores built on one clock by ``Stores.on`` share their data, as two processes
share the database and Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import msgspec
import pytest
import redis.asyncio as redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from getiickets.adapters.memory import InMemoryClock, InMemorySessionStore
from getiickets.adapters.redis.sessions import RedisSessionStore
from getiickets.adapters.sqlalchemy.engine import create_engine
from getiickets.adapters.sqlalchemy.session_tables import login_sessions
from getiickets.adapters.sqlalchemy.sessions import SqlAlchemySessionStore
from getiickets.adapters.system.clock import SystemClock
from getiickets.domain.model.accounts import SESSION_TTL, Role, Session
from getiickets.domain.model.errors import CacheUnavailableError
from getiickets.ports.clock import Clock
from getiickets.ports.hot_state import SessionStore
from tests.contract import strategies as build
from tests.contract.hot_state_backends import START, delete_prefixed, redis_client

pytestmark = pytest.mark.contract

DURABLE = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
CACHED = [
    pytest.param("memory+redis", marks=pytest.mark.redis),
    pytest.param("sqlite+redis", marks=pytest.mark.redis),
    pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis]),
]
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"


@dataclass(frozen=True)
class Servers:
    name: str
    database_url: str | None = None
    redis_url: str | None = None
    redis_prefix: str = ""


def resolve(request: pytest.FixtureRequest) -> Servers:
    # Resolved here, outside the event loop: the server fixtures call asyncio.run.
    name = str(request.param)
    durable, _, cache = name.partition("+")
    urls = {"sqlite": "sqlite_url", "postgres": "migrated_postgres_url"}
    database_url = str(request.getfixturevalue(urls[durable])) if durable in urls else None
    if cache == "redis":
        return Servers(
            name=name,
            database_url=database_url,
            redis_url=request.getfixturevalue("redis_url"),
            redis_prefix=request.getfixturevalue("redis_prefix"),
        )
    return Servers(name=name, database_url=database_url)


@pytest.fixture(params=DURABLE + CACHED)
def servers(request: pytest.FixtureRequest) -> Servers:
    return resolve(request)


@pytest.fixture(params=CACHED)
def cached_servers(request: pytest.FixtureRequest) -> Servers:
    return resolve(request)


@dataclass
class Stores:
    """Builds the store under test on whichever clock a test needs."""

    servers: Servers
    engine: AsyncEngine | None = None
    client: redis.Redis | None = None
    _memory: dict[int, InMemorySessionStore] = field(default_factory=dict)

    def durable(self, clock: Clock) -> SessionStore:
        if self.engine is not None:
            return SqlAlchemySessionStore(self.engine, clock)
        return self._memory.setdefault(id(clock), InMemorySessionStore(clock))

    def on(self, clock: Clock, client: redis.Redis | None = None) -> SessionStore:
        """``client``: another Redis connection than the suite's (a dead one)."""
        durable = self.durable(clock)
        client = client or self.client
        if client is None:
            return durable
        return RedisSessionStore(client, durable, clock, prefix=self.servers.redis_prefix)

    async def lose_redis_data(self) -> None:
        """What a Redis restarted empty looks like to this test."""
        assert self.client is not None
        await delete_prefixed(self.client, self.servers.redis_prefix)


async def open_stores(servers: Servers) -> AsyncIterator[Stores]:
    engine = None if servers.database_url is None else create_engine(servers.database_url)
    try:
        if engine is not None:
            async with engine.begin() as connection:  # the run's PostgreSQL is shared
                await connection.execute(login_sessions.delete())
        if servers.redis_url is None:
            yield Stores(servers, engine)
            return
        async with redis_client(servers.redis_url) as client:
            yield Stores(servers, engine, client)
    finally:
        if engine is not None:
            await engine.dispose()


@pytest.fixture
async def stores(servers: Servers) -> AsyncIterator[Stores]:
    async for opened in open_stores(servers):
        yield opened


@pytest.fixture
async def cached_stores(cached_servers: Servers) -> AsyncIterator[Stores]:
    async for opened in open_stores(cached_servers):
        yield opened


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


@settings(
    max_examples=50,
    deadline=None,
    # One store per test on purpose: the examples write distinct sessions into it.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_every_field_of_a_session_reads_back(stores: Stores, data: st.DataObject) -> None:
    clock = InMemoryClock(START)
    login = data.draw(build.sessions(live_at=START))
    store = stores.on(clock)

    await store.put(login)

    loaded = await store.get(login.key)
    assert loaded is not None
    assert {f: getattr(loaded, f) for f in Session.__struct_fields__} == msgspec.structs.asdict(
        login
    )


async def test_a_logout_holds_in_another_process_at_once(
    stores: Stores, clock: InMemoryClock
) -> None:
    here, there = stores.on(clock), stores.on(clock)
    login = session(clock)
    await here.put(login)
    assert await there.get(login.key) == login  # now cached on that side too, if cached

    await here.delete(login.key)

    assert await there.get(login.key) is None
    assert await here.get(login.key) is None


# ------------------------------------------------------------------ Redis in front


async def test_a_session_outlives_redis_losing_its_data(
    cached_stores: Stores, clock: InMemoryClock
) -> None:
    store = cached_stores.on(clock)
    login = session(clock)
    await store.put(login)

    await cached_stores.lose_redis_data()

    assert await store.get(login.key) == login
    clock.advance(SESSION_TTL[Role.BUYER])
    assert await store.get(login.key) is None


async def test_a_logout_outlives_redis_losing_its_data(
    cached_stores: Stores, clock: InMemoryClock
) -> None:
    store = cached_stores.on(clock)
    login = session(clock)
    await store.put(login)
    await store.delete(login.key)

    await cached_stores.lose_redis_data()

    assert await store.get(login.key) is None


async def test_a_reader_that_loaded_a_session_before_the_logout_cannot_cache_it_again(
    cached_stores: Stores, clock: InMemoryClock
) -> None:
    """The race a plain delete-then-delete loses: a reader misses the cache, reads the
    row, the logout deletes both copies, then the reader caches what it read."""
    login = session(clock)
    await cached_stores.on(clock).put(login)
    await cached_stores.lose_redis_data()  # so the reader must go to the database
    row_read, logged_out = asyncio.Event(), asyncio.Event()
    durable = cached_stores.durable(clock)

    class SlowReader:
        async def get(self, key: str) -> Session | None:
            found = await durable.get(key)
            row_read.set()
            await logged_out.wait()
            return found

        put, delete = durable.put, durable.delete

    assert cached_stores.client is not None
    reader = RedisSessionStore(
        cached_stores.client, SlowReader(), clock, prefix=cached_stores.servers.redis_prefix
    )
    reading = asyncio.create_task(reader.get(login.key))
    await row_read.wait()
    await cached_stores.on(clock).delete(login.key)
    logged_out.set()
    assert await reading == login  # it started before the logout: fine to answer

    assert await cached_stores.on(clock).get(login.key) is None
    await cached_stores.lose_redis_data()
    assert await cached_stores.on(clock).get(login.key) is None


async def test_without_redis_sessions_are_stored_and_read_from_the_database(
    cached_stores: Stores, clock: InMemoryClock
) -> None:
    async with redis_client(CLOSED_PORT_URL) as dead:
        unreachable = cached_stores.on(clock, client=dead)
        login = session(clock)

        await unreachable.put(login)

        assert await unreachable.get(login.key) == login
        assert await cached_stores.on(clock).get(login.key) == login
        # A logout Redis cannot record is refused, but the database forgets the
        # session all the same: once Redis is back it can only answer what it had.
        with pytest.raises(CacheUnavailableError):
            await unreachable.delete(login.key)
        assert await cached_stores.durable(clock).get(login.key) is None


async def test_redis_drops_an_ended_session_by_itself(cached_stores: Stores) -> None:
    clock = SystemClock()
    login = session(clock, ttl=timedelta(milliseconds=300))
    await cached_stores.on(clock).put(login)
    assert cached_stores.client is not None
    key = f"{cached_stores.servers.redis_prefix}sess:{login.key}"
    assert await cached_stores.client.exists(key) == 1

    await asyncio.sleep(0.4)

    assert await cached_stores.client.exists(key) == 0


async def test_redis_keeps_a_session_for_exactly_its_remaining_time(
    cached_stores: Stores, clock: InMemoryClock
) -> None:
    store = cached_stores.on(clock)
    login = session(clock, ttl=timedelta(hours=2))
    clock.advance(timedelta(minutes=30))  # stored late: only 90 minutes left

    await store.put(login)

    assert cached_stores.client is not None
    remaining_ms = await cached_stores.client.pttl(
        f"{cached_stores.servers.redis_prefix}sess:{login.key}"
    )
    assert 90 * 60_000 - 1_000 < remaining_ms <= 90 * 60_000
