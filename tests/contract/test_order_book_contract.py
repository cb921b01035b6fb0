"""The ``OrderBook`` contract: the fake and the SQLAlchemy group-commit writer alike.

What a caller of ``record`` may rely on: on return the order is committed (read back
here through a fresh engine, so nothing the writer holds can answer for the database),
concurrent callers are all stored, one bad order fails only its own caller, and a
cancelled caller loses nobody's order (its own is stored exactly when its version says).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from getiickets.adapters.memory import InMemoryDatabase, InMemoryOrderBook, InMemoryUnitOfWork
from getiickets.adapters.sqlalchemy.engine import create_engine
from getiickets.adapters.sqlalchemy.order_book import SqlAlchemyOrderBook
from getiickets.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from getiickets.domain.model.errors import DuplicateError
from getiickets.domain.model.orders import Buyer, Order, OrderStatus
from getiickets.ports.order_book import OrderBook
from getiickets.ports.unit_of_work import UnitOfWorkFactory
from tests.contract import aggregates
from tests.contract.conftest import DATABASE_BACKENDS

SQL_BACKENDS = DATABASE_BACKENDS[1:]


@dataclass
class Books:
    book: OrderBook
    fresh: UnitOfWorkFactory
    """Units that share nothing with the book: a new engine (or, for the fake, new units)."""


@pytest.fixture
def sql_parts(
    request: pytest.FixtureRequest, database_backend: str
) -> tuple[AsyncEngine, str] | None:
    # Resolved outside any event loop: the SQLite template is migrated by a sync call.
    if database_backend == "memory":
        return None
    return _engine_and_url(request, database_backend)


@pytest.fixture
async def books(sql_parts: tuple[AsyncEngine, str] | None) -> AsyncIterator[Books]:
    if sql_parts is None:
        database = InMemoryDatabase()
        yield Books(InMemoryOrderBook(database), lambda: InMemoryUnitOfWork(database))
        return
    engine, url = sql_parts
    fresh = create_engine(url)
    try:
        yield Books(SqlAlchemyOrderBook(engine), lambda: SqlAlchemyUnitOfWork(fresh))
    finally:
        await fresh.dispose()


def _engine_and_url(request: pytest.FixtureRequest, backend: str) -> tuple[AsyncEngine, str]:
    if backend == "sqlalchemy-sqlite":
        return request.getfixturevalue("sqlite_engine"), request.getfixturevalue("sqlite_url")
    return (
        request.getfixturevalue("postgres_engine"),
        request.getfixturevalue("migrated_postgres_url"),
    )


async def stored(fresh: UnitOfWorkFactory, order_id: str) -> Order | None:
    async with fresh() as uow:
        return await uow.orders.get(order_id)


async def test_a_recorded_order_is_committed_when_record_returns(books: Books) -> None:
    order = aggregates.order(aggregates.event())

    await books.book.record(order)

    assert order.version == 1
    assert await stored(books.fresh, order.id) == order


async def test_concurrent_orders_are_all_committed(books: Books) -> None:
    show = aggregates.event()
    orders = [aggregates.order(show) for _ in range(40)]

    await asyncio.gather(*(books.book.record(order) for order in orders))

    for order in orders:
        assert order.version == 1
        assert await stored(books.fresh, order.id) == order


async def test_a_shared_commit_stores_every_field_of_every_order(books: Books) -> None:
    """Orders of every shape in one batch: set and unset optional fields side by side,
    times in another zone, one line or several (a batch's rows travel column by column)."""
    show = aggregates.event()
    lagos = timezone(timedelta(hours=1))
    orders = [
        aggregates.order(show),
        aggregates.order(
            show,
            quantities=(3,),
            buyer=Buyer(email="obi@example.ng", name='Obi "O\'Neil" Ada', phone=None),
            buyer_user_id=None,
            payment_reference=None,
            checkout_url=None,
            access_code=None,
            payment_issue=None,
        ),
        aggregates.order(
            show,
            status=OrderStatus.REFUNDED,
            created_at=datetime(2031, 3, 1, 9, 30, tzinfo=lagos),
            paid_at=datetime(2031, 3, 1, 9, 31, 5, 250_000, tzinfo=lagos),
            refunded_at=datetime(2031, 3, 2, tzinfo=UTC),
            refund_due=True,
            past_references=[aggregates.unique("TKT"), aggregates.unique("TKT")],
        ),
    ]

    await asyncio.gather(*(books.book.record(order) for order in orders))

    for order in orders:
        assert order.version == 1
        assert await stored(books.fresh, order.id) == order


async def test_a_bad_order_fails_only_its_own_caller(books: Books) -> None:
    show = aggregates.event()
    first = aggregates.order(show)
    await books.book.record(first)
    good = [aggregates.order(show) for _ in range(10)]
    bad = aggregates.order(show, order_number=first.order_number)

    results = await asyncio.gather(
        *(books.book.record(order) for order in [*good[:5], bad, *good[5:]]),
        return_exceptions=True,
    )

    assert isinstance(results[5], DuplicateError)
    assert [result for index, result in enumerate(results) if index != 5] == [None] * 10
    assert bad.version == 0
    assert await stored(books.fresh, bad.id) is None
    for order in good:
        assert await stored(books.fresh, order.id) == order


async def test_a_cancelled_caller_loses_nobody_s_order(books: Books) -> None:
    """The first wave goes into a commit, the second queues behind it; one caller of
    each wave is cancelled. Every other order is stored, and a cancelled one is stored
    exactly when its version says so (the caller's way to know whether to keep holds)."""
    show = aggregates.event()
    first_wave = [aggregates.order(show) for _ in range(10)]
    second_wave = [aggregates.order(show) for _ in range(10)]
    first = [asyncio.create_task(books.book.record(order)) for order in first_wave]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    second = [asyncio.create_task(books.book.record(order)) for order in second_wave]
    await asyncio.sleep(0)
    first[3].cancel()
    second[3].cancel()

    results = await asyncio.gather(*first, *second, return_exceptions=True)

    cancelled = {first_wave[3].id, second_wave[3].id}
    for order, result in zip([*first_wave, *second_wave], results, strict=True):
        found = await stored(books.fresh, order.id)
        if order.id in cancelled and result is not None:
            # (A fake that never suspends has finished before the cancel came: stored.)
            assert isinstance(result, asyncio.CancelledError)
            assert (found is not None) == (order.version == 1)
        else:
            assert result is None
            assert found == order


@pytest.fixture(params=SQL_BACKENDS)
def sql_engine_and_url(request: pytest.FixtureRequest) -> tuple[AsyncEngine, str]:
    return _engine_and_url(request, str(request.param))


async def test_the_sql_writer_puts_concurrent_orders_in_shared_commits(
    sql_engine_and_url: tuple[AsyncEngine, str],
) -> None:
    engine, _ = sql_engine_and_url
    commits = _count_commits(engine)
    show = aggregates.event()
    orders = [aggregates.order(show) for _ in range(50)]

    await asyncio.gather(*(SqlAlchemyOrderBook(engine).record(order) for order in orders[:1]))
    book = SqlAlchemyOrderBook(engine)
    before = commits()
    await asyncio.gather(*(book.record(order) for order in orders[1:]))

    # The first commit takes the first caller alone, the rest gather behind it.
    assert commits() - before <= 3


async def test_with_one_pooled_connection_the_writer_and_units_take_turns(
    sql_engine_and_url: tuple[AsyncEngine, str],
) -> None:
    """The seed's pooler URL allows one connection: callers wait for the writer holding
    none, so orders and other units of work share it without a deadlock."""
    _, url = sql_engine_and_url
    engine = create_engine(url, pool_size=1, pool_timeout=10)
    try:
        book = SqlAlchemyOrderBook(engine)
        show = aggregates.event()
        orders = [aggregates.order(show) for _ in range(20)]

        async def read(order: Order) -> None:
            async with SqlAlchemyUnitOfWork(engine) as uow:
                await uow.orders.get(order.id)

        async with asyncio.timeout(30):
            await asyncio.gather(
                *(book.record(order) for order in orders), *(read(order) for order in orders)
            )
        assert all(order.version == 1 for order in orders)
    finally:
        await engine.dispose()


async def test_on_postgresql_a_shared_commit_inserts_each_table_in_one_statement(
    postgres_engine: AsyncEngine,
) -> None:
    """Not a Bind per row (executemany) but one row of arrays per table: for the writer's
    CPU, a batch of 40 costs about what a batch of one does."""
    inserts: list[tuple[str, bool]] = []

    def on_execute(*args: object) -> None:
        statement, executemany = args[2], args[5]
        if str(statement).lstrip().upper().startswith("INSERT"):
            inserts.append((str(statement).split()[2].strip('"'), bool(executemany)))

    sa.event.listen(postgres_engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        show = aggregates.event()
        orders = [aggregates.order(show) for _ in range(41)]
        book = SqlAlchemyOrderBook(postgres_engine)
        await book.record(orders[0])
        inserts.clear()
        await asyncio.gather(*(book.record(order) for order in orders[1:]))
    finally:
        sa.event.remove(postgres_engine.sync_engine, "before_cursor_execute", on_execute)

    assert all(order.version == 1 for order in orders)
    assert sorted(set(inserts)) == [("order_lines", False), ("orders", False)]
    # The first caller's commit holds one order; the other 40 share at most two more.
    assert len(inserts) <= 4


def _count_commits(engine: AsyncEngine) -> Callable[[], int]:
    count = 0

    def on_commit(_: object) -> None:
        nonlocal count
        count += 1

    sa.event.listen(engine.sync_engine, "commit", on_commit)
    return lambda: count
