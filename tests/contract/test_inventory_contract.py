"""The ``Inventory`` contract: one suite, every adapter, the same assertions.

Each backend gets the same ``FactsDouble`` (the database's side, which the tests move
as the purchase flow would) and an ``InMemoryClock`` the tests move; Redis and SQL read
time only from that clock, so expiry is tested without waiting.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import redis.asyncio as redis
from redis.crc import key_slot

from getiickets.adapters.memory import InMemoryClock, InMemoryInventory
from getiickets.adapters.redis.inventory import IDLE_TTL, RedisInventory
from getiickets.adapters.sqlalchemy.engine import create_engine
from getiickets.adapters.sqlalchemy.inventory import SqlAlchemyInventory
from getiickets.domain.model.errors import CacheUnavailableError, NotFoundError
from getiickets.domain.model.inventory import Confirmation, Hold, StockLevel
from getiickets.ports.inventory import Inventory
from tests.contract.hot_state_backends import (
    START,
    FactsDouble,
    delete_inventory_rows,
    delete_prefixed,
    redis_client,
)

pytestmark = pytest.mark.contract

TTL = timedelta(minutes=15)


@dataclass
class Backend:
    """An inventory adapter, its facts and clock, and ways to lose its stored state."""

    inventory: Inventory
    facts: FactsDouble
    clock: InMemoryClock
    build: Callable[[], Inventory]
    lose_state: Callable[[], Awaitable[None]]
    lose_ticket_type: Callable[[str], Awaitable[None]]
    """The store drops one ticket type's state, so the next operation rebuilds it."""

    async def restart(self) -> None:
        """The store loses everything (Redis FLUSHDB or restart; tables emptied) and a
        new process starts with a fresh adapter."""
        await self.lose_state()
        self.inventory = self.build()

    def new_ticket_type(self, capacity: int) -> str:
        ticket_type_id = f"tt-{uuid.uuid4().hex[:12]}"
        self.facts.add_ticket_type(ticket_type_id, capacity)
        return ticket_type_id

    def hold(self, ticket_type_id: str, quantity: int, ttl: timedelta = TTL) -> Hold:
        return Hold(
            hold_id=uuid.uuid4().hex,
            ticket_type_id=ticket_type_id,
            quantity=quantity,
            expires_at=self.clock.now() + ttl,
        )


@dataclass(frozen=True)
class Servers:
    """What a backend needs from the shared fixtures, resolved outside the event loop
    (the server fixtures call ``asyncio.run``, which a running loop refuses)."""

    name: str
    redis_url: str = ""
    redis_prefix: str = ""
    database_url: str = ""


@pytest.fixture(
    params=[
        "memory",
        pytest.param("redis", marks=pytest.mark.redis),
        "sqlalchemy-sqlite",
        pytest.param("sqlalchemy-postgres", marks=pytest.mark.postgres),
    ]
)
def servers(request: pytest.FixtureRequest) -> Servers:
    if request.param == "redis":
        return Servers(
            name=request.param,
            redis_url=request.getfixturevalue("redis_url"),
            redis_prefix=request.getfixturevalue("redis_prefix"),
        )
    if request.param == "sqlalchemy-postgres":
        return Servers(
            name=request.param, database_url=request.getfixturevalue("migrated_postgres_url")
        )
    if request.param == "sqlalchemy-sqlite":
        return Servers(name=request.param, database_url=request.getfixturevalue("sqlite_url"))
    return Servers(name=request.param)


async def _delete_redis_ticket_type(client: redis.Redis, prefix: str, ticket_type_id: str) -> None:
    """The ticket type's keys go, as RedisInventory names them (``inv:{tt:<id>}:...``)."""
    await delete_prefixed(client, f"{prefix}inv:{{tt:{ticket_type_id}}}:")


@pytest.fixture
async def backend(servers: Servers) -> AsyncIterator[Backend]:
    facts = FactsDouble()
    clock = InMemoryClock(START)

    async def nothing_stored_outside() -> None:
        """The in-memory inventory keeps its state in the process: a restart loses it."""

    if servers.name == "memory":
        built: list[InMemoryInventory] = []

        def build_memory() -> InMemoryInventory:
            built.append(InMemoryInventory(facts, clock))
            return built[-1]

        async def lose_memory_ticket_type(ticket_type_id: str) -> None:
            built[-1].lose_state(ticket_type_id)

        yield Backend(
            inventory=build_memory(),
            facts=facts,
            clock=clock,
            build=build_memory,
            lose_state=nothing_stored_outside,
            lose_ticket_type=lose_memory_ticket_type,
        )
    elif servers.name == "redis":
        prefix = servers.redis_prefix
        async with redis_client(servers.redis_url) as client:
            yield Backend(
                inventory=RedisInventory(client, facts, clock, prefix=prefix),
                facts=facts,
                clock=clock,
                build=lambda: RedisInventory(client, facts, clock, prefix=prefix),
                lose_state=lambda: delete_prefixed(client, prefix),
                lose_ticket_type=lambda tt: _delete_redis_ticket_type(client, prefix, tt),
            )
    else:
        engine = create_engine(servers.database_url)
        try:
            yield Backend(
                inventory=SqlAlchemyInventory(engine, facts, clock),
                facts=facts,
                clock=clock,
                build=lambda: SqlAlchemyInventory(engine, facts, clock),
                lose_state=lambda: delete_inventory_rows(engine, facts.ticket_type_ids()),
                lose_ticket_type=lambda tt: delete_inventory_rows(engine, [tt]),
            )
        finally:
            await engine.dispose()


def level(capacity: int, held: int = 0, sold: int = 0) -> StockLevel:
    return StockLevel(capacity=capacity, held=held, sold=sold)


# ------------------------------------------------------------------------ reserve


async def test_a_reserve_holds_stock(backend: Backend) -> None:
    tt = backend.new_ticket_type(capacity=10)

    assert await backend.inventory.reserve(backend.hold(tt, 3)) is True

    stock = await backend.inventory.level(tt)
    assert stock == level(10, held=3)
    assert stock.available == 7


async def test_a_reserve_larger_than_what_is_left_holds_nothing(backend: Backend) -> None:
    tt = backend.new_ticket_type(capacity=10)
    assert await backend.inventory.reserve(backend.hold(tt, 8)) is True

    assert await backend.inventory.reserve(backend.hold(tt, 3)) is False
    assert await backend.inventory.level(tt) == level(10, held=8)
    assert await backend.inventory.reserve(backend.hold(tt, 2)) is True
    assert await backend.inventory.reserve(backend.hold(tt, 1)) is False
    assert await backend.inventory.level(tt) == level(10, held=10)


async def test_reserving_the_same_live_hold_again_counts_it_once(backend: Backend) -> None:
    tt = backend.new_ticket_type(capacity=10)
    hold = backend.hold(tt, 4)

    assert await backend.inventory.reserve(hold) is True
    assert await backend.inventory.reserve(hold) is True

    assert await backend.inventory.level(tt) == level(10, held=4)


async def test_a_hold_that_has_already_expired_is_not_taken(backend: Backend) -> None:
    tt = backend.new_ticket_type(capacity=10)

    assert await backend.inventory.reserve(backend.hold(tt, 2, ttl=timedelta(0))) is False

    assert await backend.inventory.level(tt) == level(10)


async def test_a_hold_needs_at_least_one_ticket(backend: Backend) -> None:
    tt = backend.new_ticket_type(capacity=10)

    with pytest.raises(ValueError, match="at least one"):
        await backend.inventory.reserve(backend.hold(tt, 0))


# ------------------------------------------------------------------------ release


async def test_releasing_a_live_hold_returns_its_stock_once(backend: Backend) -> None:
    tt = backend.new_ticket_type(capacity=10)
    kept, released = backend.hold(tt, 2), backend.hold(tt, 5)
    await backend.inventory.reserve(kept)
    await backend.inventory.reserve(released)

    await backend.inventory.release(tt, released.hold_id)
    assert await backend.inventory.level(tt) == level(10, held=2)
    await backend.inventory.release(tt, released.hold_id)
    assert await backend.inventory.level(tt) == level(10, held=2)


async def test_releasing_an_unknown_or_expired_hold_changes_nothing(backend: Backend) -> None:
    tt = backend.new_ticket_type(capacity=10)
    expiring = backend.hold(tt, 3, ttl=timedelta(minutes=1))
    await backend.inventory.reserve(expiring)
    await backend.inventory.reserve(backend.hold(tt, 4))
    backend.clock.advance(timedelta(minutes=1))

    await backend.inventory.release(tt, expiring.hold_id)
    await backend.inventory.release(tt, "no-such-hold")

    assert await backend.inventory.level(tt) == level(10, held=4)


async def test_abandoning_a_hold_returns_its_stock_once(backend: Backend) -> None:
    """A hold whose reserve answer was lost, or whose order was never written."""
    tt = backend.new_ticket_type(capacity=10)
    kept, abandoned, never_held = backend.hold(tt, 2), backend.hold(tt, 5), backend.hold(tt, 1)
    await backend.inventory.reserve(kept)
    await backend.inventory.reserve(abandoned)

    await backend.inventory.abandon(abandoned)
    await backend.inventory.abandon(never_held)
    assert await backend.inventory.level(tt) == level(10, held=2)
    await backend.inventory.abandon(abandoned)
    assert await backend.inventory.level(tt) == level(10, held=2)
    assert await backend.inventory.confirm(tt, abandoned.hold_id) is Confirmation.LAPSED


async def test_abandoning_a_confirmed_hold_of_an_unwritten_order_returns_its_stock(
    backend: Backend,
) -> None:
    """A free order's holds are confirmed before it is written; if writing fails, they go back."""
    tt = backend.new_ticket_type(capacity=10)
    hold = backend.hold(tt, 3)
    await backend.inventory.reserve(hold)
    await backend.inventory.confirm(tt, hold.hold_id)

    await backend.inventory.abandon(hold)

    assert await backend.inventory.level(tt) == level(10)


async def test_releasing_a_sale_the_database_undid_returns_its_stock(backend: Backend) -> None:
    tt = backend.new_ticket_type(capacity=10)
    hold = backend.hold(tt, 3)
    await backend.inventory.reserve(hold)
    backend.facts.order_stored(hold)
    assert await backend.inventory.confirm(tt, hold.hold_id) is Confirmation.CONFIRMED
    backend.facts.order_paid(hold)
    backend.facts.order_ended_unpaid(hold)  # refunded

    await backend.inventory.release(tt, hold.hold_id)
    assert await backend.inventory.level(tt) == level(10)
    await backend.inventory.release(tt, hold.hold_id)
    assert await backend.inventory.level(tt) == level(10)
    assert await backend.inventory.confirm(tt, hold.hold_id) is Confirmation.LAPSED


async def test_releasing_a_sale_known_only_from_the_facts_returns_its_stock(
    backend: Backend,
) -> None:
    """A sale made before the inventory was rebuilt, refunded after: its stock comes back."""
    tt = backend.new_ticket_type(capacity=10)
    sale = backend.hold(tt, 4)
    backend.facts.order_stored(sale)
    backend.facts.order_paid(sale)
    assert await backend.inventory.level(tt) == level(10, sold=4)
    backend.facts.order_ended_unpaid(sale)  # refunded, then the caller releases

    await backend.inventory.release(tt, sale.hold_id)

    assert await backend.inventory.level(tt) == level(10)
    # The facts carry each sale's quantity: giving it back needs no second load.
    assert backend.facts.calls[tt] == 1


# ------------------------------------------------------------------------ confirm


async def test_confirm_turns_a_live_hold_into_a_sale_exactly_once(backend: Backend) -> None:
    tt = backend.new_ticket_type(capacity=10)
    hold = backend.hold(tt, 3)
    await backend.inventory.reserve(hold)
    await backend.inventory.reserve(backend.hold(tt, 1))

    assert await backend.inventory.confirm(tt, hold.hold_id) is Confirmation.CONFIRMED
    assert await backend.inventory.confirm(tt, hold.hold_id) is Confirmation.ALREADY_CONFIRMED

    assert await backend.inventory.level(tt) == level(10, held=1, sold=3)


async def test_a_sold_hold_cannot_be_held_again(backend: Backend) -> None:
    tt = backend.new_ticket_type(capacity=10)
    hold = backend.hold(tt, 3)
    await backend.inventory.reserve(hold)
    await backend.inventory.confirm(tt, hold.hold_id)

    assert await backend.inventory.reserve(hold) is False

    assert await backend.inventory.level(tt) == level(10, sold=3)


async def test_confirming_an_expired_or_unknown_hold_lapses(backend: Backend) -> None:
    tt = backend.new_ticket_type(capacity=10)
    hold = backend.hold(tt, 3)
    await backend.inventory.reserve(hold)
    backend.clock.advance(TTL)

    assert await backend.inventory.confirm(tt, hold.hold_id) is Confirmation.LAPSED
    assert await backend.inventory.confirm(tt, "no-such-hold") is Confirmation.LAPSED

    assert await backend.inventory.level(tt) == level(10)


async def test_a_released_hold_cannot_be_confirmed(backend: Backend) -> None:
    tt = backend.new_ticket_type(capacity=10)
    hold = backend.hold(tt, 3)
    await backend.inventory.reserve(hold)
    await backend.inventory.release(tt, hold.hold_id)

    assert await backend.inventory.confirm(tt, hold.hold_id) is Confirmation.LAPSED
    assert await backend.inventory.level(tt) == level(10)


# ------------------------------------------------------------------------ expiry


async def test_stock_comes_back_when_a_hold_expires_with_only_the_clock_moving(
    backend: Backend,
) -> None:
    tt = backend.new_ticket_type(capacity=10)
    await backend.inventory.reserve(backend.hold(tt, 4, ttl=TTL))
    await backend.inventory.reserve(backend.hold(tt, 6, ttl=2 * TTL))
    assert await backend.inventory.reserve(backend.hold(tt, 1)) is False

    backend.clock.advance(TTL - timedelta(microseconds=1))
    assert await backend.inventory.level(tt) == level(10, held=10)
    backend.clock.advance(timedelta(microseconds=1))  # expires_at <= now: lapsed
    assert await backend.inventory.level(tt) == level(10, held=6)
    backend.clock.advance(TTL)
    assert await backend.inventory.level(tt) == level(10)


async def test_expired_stock_can_be_held_again(backend: Backend) -> None:
    tt = backend.new_ticket_type(capacity=5)
    await backend.inventory.reserve(backend.hold(tt, 5))
    backend.clock.advance(TTL)

    assert await backend.inventory.reserve(backend.hold(tt, 5)) is True
    assert await backend.inventory.level(tt) == level(5, held=5)


# ------------------------------------------------------------------------ unknown, rebuild


async def test_an_unknown_ticket_type_is_not_found(backend: Backend) -> None:
    hold = backend.hold("tt-that-does-not-exist", 1)

    with pytest.raises(NotFoundError):
        await backend.inventory.reserve(hold)
    with pytest.raises(NotFoundError):
        await backend.inventory.level(hold.ticket_type_id)
    with pytest.raises(NotFoundError):
        await backend.inventory.confirm(hold.ticket_type_id, hold.hold_id)
    with pytest.raises(NotFoundError):
        await backend.inventory.release(hold.ticket_type_id, hold.hold_id)


async def test_a_new_ticket_type_starts_from_the_facts(backend: Backend) -> None:
    tt = backend.new_ticket_type(capacity=20)
    live, expired, sold = (
        backend.hold(tt, 3),
        backend.hold(tt, 4, timedelta(0)),
        backend.hold(tt, 5),
    )
    for hold in (live, expired, sold):
        backend.facts.order_stored(hold)
    backend.facts.order_paid(sold)

    assert await backend.inventory.level(tt) == level(20, held=3, sold=5)
    assert await backend.inventory.reserve(live) is True  # already held: counted once
    assert await backend.inventory.confirm(tt, sold.hold_id) is Confirmation.ALREADY_CONFIRMED
    assert await backend.inventory.confirm(tt, expired.hold_id) is Confirmation.LAPSED
    assert await backend.inventory.level(tt) == level(20, held=3, sold=5)


async def _sell_and_hold(backend: Backend, tt: str) -> tuple[Hold, Hold]:
    """A pending order (live hold) and a paid one, stored as the flow stores them."""
    pending, paid = backend.hold(tt, 2), backend.hold(tt, 3)
    for hold in (pending, paid):
        assert await backend.inventory.reserve(hold) is True
        backend.facts.order_stored(hold)
    assert await backend.inventory.confirm(tt, paid.hold_id) is Confirmation.CONFIRMED
    backend.facts.order_paid(paid)
    return pending, paid


async def test_a_ticket_type_whose_state_was_lost_is_rebuilt_with_the_same_numbers(
    backend: Backend,
) -> None:
    tt = backend.new_ticket_type(capacity=10)
    pending, paid = await _sell_and_hold(backend, tt)
    calls_before = backend.facts.calls[tt]

    await backend.lose_ticket_type(tt)

    assert await backend.inventory.level(tt) == level(10, held=2, sold=3)
    assert backend.facts.calls[tt] == calls_before + 1
    assert await backend.inventory.confirm(tt, paid.hold_id) is Confirmation.ALREADY_CONFIRMED
    assert await backend.inventory.confirm(tt, pending.hold_id) is Confirmation.CONFIRMED
    assert await backend.inventory.level(tt) == level(10, sold=5)


async def test_a_store_that_lost_its_state_is_rebuilt_from_the_facts(backend: Backend) -> None:
    tt = backend.new_ticket_type(capacity=10)
    pending, paid = await _sell_and_hold(backend, tt)

    await backend.restart()

    assert await backend.inventory.level(tt) == level(10, held=2, sold=3)
    assert await backend.inventory.reserve(backend.hold(tt, 6)) is False
    assert await backend.inventory.reserve(backend.hold(tt, 5)) is True
    assert await backend.inventory.confirm(tt, paid.hold_id) is Confirmation.ALREADY_CONFIRMED
    backend.clock.advance(TTL)  # the rebuilt hold still lapses on time
    assert await backend.inventory.level(tt) == level(10, sold=3)
    assert await backend.inventory.confirm(tt, pending.hold_id) is Confirmation.LAPSED


async def test_concurrent_first_calls_load_the_facts_once(backend: Backend) -> None:
    tt = backend.new_ticket_type(capacity=50)
    pending, paid = backend.hold(tt, 5), backend.hold(tt, 5)
    backend.facts.order_stored(pending)
    backend.facts.order_stored(paid)
    backend.facts.order_paid(paid)  # 40 left to take

    reserves = [backend.inventory.reserve(backend.hold(tt, 1)) for _ in range(60)]
    levels = [backend.inventory.level(tt) for _ in range(40)]
    taken, seen = await asyncio.gather(asyncio.gather(*reserves), asyncio.gather(*levels))

    assert backend.facts.calls[tt] == 1
    assert taken.count(True) == 40
    assert all(stock.capacity == 50 and stock.sold == 5 for stock in seen)
    assert await backend.inventory.level(tt) == level(50, held=45, sold=5)


# ------------------------------------------------------------------------ concurrency


async def test_stock_is_conserved_under_concurrent_reserves_and_releases(
    backend: Backend,
) -> None:
    capacity, tasks, steps = 20, 10, 50  # 500 reserve/release calls in all
    tt = backend.new_ticket_type(capacity=capacity)
    rng = random.Random(20301)
    held: dict[str, int] = {}
    """What the tasks know they hold: a subset of the truth at every instant (a hold is
    added after its reserve answers and removed before its release is sent)."""
    outcomes: list[bool] = []
    sampled: list[StockLevel] = []

    async def buyer() -> None:
        mine: list[Hold] = []
        for step in range(steps):
            if mine and rng.random() < 0.4:
                hold = mine.pop(rng.randrange(len(mine)))
                del held[hold.hold_id]
                await backend.inventory.release(tt, hold.hold_id)
            else:
                hold = backend.hold(tt, rng.randint(1, 3))
                taken = await backend.inventory.reserve(hold)
                outcomes.append(taken)
                if taken:
                    mine.append(hold)
                    held[hold.hold_id] = hold.quantity
                    assert sum(held.values()) <= capacity
            if step % 10 == 0:
                sampled.append(await backend.inventory.level(tt))

    await asyncio.gather(*(buyer() for _ in range(tasks)))

    assert True in outcomes
    assert False in outcomes  # the buyers did run into the limit
    assert all(0 <= stock.held <= capacity and stock.sold == 0 for stock in sampled)
    assert await backend.inventory.level(tt) == level(capacity, held=sum(held.values()))


@pytest.mark.redis
async def test_redis_keeps_a_ticket_types_keys_in_one_cluster_slot(
    redis_url: str, redis_prefix: str
) -> None:
    """One hash tag per ticket type, so the scripts run on Redis Cluster too."""
    facts, clock = FactsDouble(), InMemoryClock(START)
    async with redis_client(redis_url) as client:
        backend = Backend(
            inventory=RedisInventory(client, facts, clock, prefix=redis_prefix),
            facts=facts,
            clock=clock,
            build=lambda: RedisInventory(client, facts, clock, prefix=redis_prefix),
            lose_state=lambda: delete_prefixed(client, redis_prefix),
            lose_ticket_type=lambda tt: _delete_redis_ticket_type(client, redis_prefix, tt),
        )
        tt = backend.new_ticket_type(capacity=10)
        sold, held = backend.hold(tt, 2), backend.hold(tt, 3)
        await backend.inventory.reserve(sold)
        await backend.inventory.reserve(held)
        await backend.inventory.confirm(tt, sold.hold_id)
        await backend.inventory.abandon(backend.hold(tt, 1))

        keys = [key async for key in client.scan_iter(match=f"{redis_prefix}*")]

    assert len(keys) == 5  # meta, live holds, their quantities, sold holds, abandoned ids
    assert {key_slot(key) for key in keys} == {key_slot(f"{{tt:{tt}}}".encode())}


@pytest.mark.redis
async def test_redis_lets_a_reserve_that_arrives_after_its_abandon_hold_nothing(
    redis_url: str, redis_prefix: str
) -> None:
    """A reserve that timed out on our side can still reach Redis after we gave it up
    (a frozen server runs what its socket buffered when it thaws; the client may have
    resent it on another connection): that late copy must not hold stock."""
    facts, clock = FactsDouble(), InMemoryClock(START)
    async with redis_client(redis_url) as client:
        inventory = RedisInventory(client, facts, clock, prefix=redis_prefix)
        tt = f"tt-{uuid.uuid4().hex[:12]}"
        facts.add_ticket_type(tt, capacity=10)
        late = Hold(hold_id="late", ticket_type_id=tt, quantity=4, expires_at=START + TTL)
        await inventory.level(tt)

        await inventory.abandon(late)
        assert await inventory.reserve(late) is False
        assert await inventory.level(tt) == level(10)

        # Once the hold would have expired, the mark goes: nothing could reserve it anyway.
        clock.advance(TTL)
        await inventory.level(tt)
        assert await client.zcard(f"{redis_prefix}inv:{{tt:{tt}}}:abandoned") == 0


class _CountedScripts:
    """Counts the script calls a client sends, and can freeze them (a Redis that stopped
    answering: every call waits until the caller gives up, or until ``thawed``)."""

    def __init__(self, client: redis.Redis) -> None:
        self.calls = 0
        self.frozen = False
        self.sent = asyncio.Event()
        self.thawed = asyncio.Event()
        self._evalsha = client.evalsha
        client.evalsha = self._counted  # type: ignore[method-assign]

    async def _counted(self, *args: object) -> object:
        self.calls += 1
        self.sent.set()
        if self.frozen:
            await self.thawed.wait()
        return await self._evalsha(*args)  # type: ignore[arg-type]


@pytest.mark.redis
async def test_redis_sends_the_reserves_of_a_rush_in_few_script_calls(
    redis_url: str, redis_prefix: str
) -> None:
    """Defect: one script call (a round trip, and a reclaim of lapsed holds) per hold.
    Reserves that arrive while a call is on its way now go in the next one, each
    answered as if alone."""
    facts, clock = FactsDouble(), InMemoryClock(START)
    async with redis_client(redis_url) as client:
        inventory = RedisInventory(client, facts, clock, prefix=redis_prefix)
        tt = f"tt-{uuid.uuid4().hex[:12]}"
        facts.add_ticket_type(tt, capacity=60)
        await inventory.level(tt)
        scripts = _CountedScripts(client)
        again = Hold(hold_id="again", ticket_type_id=tt, quantity=2, expires_at=START + TTL)
        holds = [
            Hold(hold_id=f"h{i}", ticket_type_id=tt, quantity=1, expires_at=START + TTL)
            for i in range(100)
        ]

        taken = await asyncio.gather(
            inventory.reserve(again),
            *(inventory.reserve(hold) for hold in holds),
            inventory.reserve(again),  # the same hold twice in one call: counted once
        )

        assert scripts.calls <= 3
        assert taken[0] is True
        assert taken[-1] is True
        assert taken[1:-1] == [True] * 58 + [False] * 42  # in the order they were asked
        assert await inventory.level(tt) == level(60, held=60)


@pytest.mark.redis
async def test_redis_a_reserve_waiting_behind_a_frozen_call_gives_up_on_its_own_time(
    redis_url: str, redis_prefix: str
) -> None:
    """A gathered reserve waits at most the inventory's timeout, as a lone call does,
    not the frozen call ahead of it and then its own."""
    facts, clock = FactsDouble(), InMemoryClock(START)
    timeout = 0.5
    async with redis_client(redis_url) as client:
        inventory = RedisInventory(client, facts, clock, prefix=redis_prefix, timeout=timeout)
        tt = f"tt-{uuid.uuid4().hex[:12]}"
        facts.add_ticket_type(tt, capacity=10)
        await inventory.level(tt)
        scripts = _CountedScripts(client)
        scripts.frozen = True
        first = asyncio.create_task(inventory.reserve(backend_hold(tt, "first")))
        await scripts.sent.wait()

        started = time.monotonic()
        with pytest.raises(CacheUnavailableError):
            await inventory.reserve(backend_hold(tt, "second"))
        waited = time.monotonic() - started

        with pytest.raises(CacheUnavailableError):
            await first
    assert waited < timeout * 1.6


@pytest.mark.redis
async def test_redis_a_reserve_cancelled_while_it_waits_is_never_sent(
    redis_url: str, redis_prefix: str
) -> None:
    facts, clock = FactsDouble(), InMemoryClock(START)
    async with redis_client(redis_url) as client:
        inventory = RedisInventory(client, facts, clock, prefix=redis_prefix)
        tt = f"tt-{uuid.uuid4().hex[:12]}"
        facts.add_ticket_type(tt, capacity=10)
        await inventory.level(tt)
        scripts = _CountedScripts(client)
        scripts.frozen = True
        first = asyncio.create_task(inventory.reserve(backend_hold(tt, "first")))
        await scripts.sent.wait()
        waiting = asyncio.create_task(inventory.reserve(backend_hold(tt, "waiting")))
        await asyncio.sleep(0)  # it joins the line behind the call on its way

        waiting.cancel()
        scripts.thawed.set()

        assert await first is True
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert scripts.calls == 1
        assert await inventory.level(tt) == level(10, held=1)


def backend_hold(ticket_type_id: str, hold_id: str) -> Hold:
    return Hold(hold_id=hold_id, ticket_type_id=ticket_type_id, quantity=1, expires_at=START + TTL)


async def test_redis_lets_an_idle_ticket_types_keys_expire(
    redis_url: str, redis_prefix: str
) -> None:
    """A finished event's state does not stay in Redis forever; each use renews it."""
    facts, clock = FactsDouble(), InMemoryClock(START)
    async with redis_client(redis_url) as client:
        inventory = RedisInventory(client, facts, clock, prefix=redis_prefix)
        tt = f"tt-{uuid.uuid4().hex[:12]}"
        facts.add_ticket_type(tt, capacity=10)
        sold = Hold(hold_id="sold", ticket_type_id=tt, quantity=2, expires_at=START + TTL)
        await inventory.reserve(sold)
        await inventory.confirm(tt, sold.hold_id)
        await inventory.reserve(
            Hold(hold_id="held", ticket_type_id=tt, quantity=1, expires_at=START + TTL)
        )
        await inventory.abandon(
            Hold(hold_id="gone", ticket_type_id=tt, quantity=1, expires_at=START + TTL)
        )
        keys = [key async for key in client.scan_iter(match=f"{redis_prefix}*")]
        ttls = [await client.pttl(key) for key in keys]

    idle_ms = IDLE_TTL // timedelta(milliseconds=1)
    assert len(keys) == 5
    assert all(idle_ms - 60_000 < ttl <= idle_ms for ttl in ttls), ttls


# ------------------------------------------------------------------------ levels


async def test_levels_reads_every_ticket_type_as_level_does(backend: Backend) -> None:
    quiet, busy, sold_out = (backend.new_ticket_type(capacity) for capacity in (10, 20, 3))
    assert await backend.inventory.reserve(backend.hold(busy, 4)) is True
    lapsing = backend.hold(busy, 5, ttl=timedelta(minutes=1))
    assert await backend.inventory.reserve(lapsing) is True
    sold = backend.hold(busy, 2)
    assert await backend.inventory.reserve(sold) is True
    assert await backend.inventory.confirm(busy, sold.hold_id) is Confirmation.CONFIRMED
    assert await backend.inventory.reserve(backend.hold(sold_out, 3)) is True
    backend.clock.advance(timedelta(minutes=1))  # the lapsing hold is stock again

    levels = await backend.inventory.levels([busy, quiet, sold_out, busy])

    assert levels == {
        busy: level(20, held=4, sold=2),
        quiet: level(10),
        sold_out: level(3, held=3),
    }
    for ticket_type_id, stock in levels.items():
        assert await backend.inventory.level(ticket_type_id) == stock
    assert await backend.inventory.levels([]) == {}


async def test_levels_rebuilds_a_ticket_type_whose_state_was_lost(backend: Backend) -> None:
    seen, lost = backend.new_ticket_type(capacity=10), backend.new_ticket_type(capacity=10)
    await _sell_and_hold(backend, seen)
    await _sell_and_hold(backend, lost)
    await backend.lose_ticket_type(lost)

    assert await backend.inventory.levels([seen, lost]) == {
        seen: level(10, held=2, sold=3),
        lost: level(10, held=2, sold=3),
    }

    await backend.restart()
    assert await backend.inventory.levels([lost, seen]) == {
        seen: level(10, held=2, sold=3),
        lost: level(10, held=2, sold=3),
    }


async def test_levels_of_an_unknown_ticket_type_is_not_found(backend: Backend) -> None:
    known = backend.new_ticket_type(capacity=5)

    with pytest.raises(NotFoundError):
        await backend.inventory.levels([known, "tt-that-does-not-exist"])
