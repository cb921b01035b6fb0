"""Save then load gives back what was saved, field by field, on every database backend.

The aggregates come from ``strategies``, which fill every field (optional ones set or
not), so a mapping that forgets a column, truncates a value or shifts a time fails
here, whichever field it is. Each property first adds an aggregate and reads it back,
then saves another one under the same identity over it and reads that back, so both
the insert and the update paths are held to it.

One schema per backend for the whole test (migrated once, emptied per example), and a
bounded number of examples, so the properties cost seconds, not minutes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from getiickets.adapters.idempotency_records import IdempotencyRecord
from getiickets.adapters.memory import InMemoryDatabase, InMemoryUnitOfWork
from getiickets.adapters.sqlalchemy.engine import create_engine
from getiickets.adapters.sqlalchemy.metadata import all_tables
from getiickets.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from getiickets.domain.model.accounts import User
from getiickets.domain.model.catalog import Event
from getiickets.domain.model.notifications import OutboxMessage
from getiickets.domain.model.orders import Order
from getiickets.domain.model.payments import InboxEvent
from getiickets.domain.model.tickets import Ticket
from getiickets.ports.unit_of_work import UnitOfWorkFactory
from tests.contract import strategies as build
from tests.contract.conftest import DATABASE_BACKENDS, idempotency_store_beside
from tests.contract.stored_outbox import stored_message

EXAMPLES = settings(
    max_examples=50,
    deadline=None,
    # The database fixture is set up once per test on purpose: each example empties it.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

EmptyDatabase = Callable[[], Awaitable[UnitOfWorkFactory]]


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str | None:
    """The migrated database of the backend (None: in memory), resolved outside the
    event loop, since migrating runs a loop of its own."""
    if request.param == "memory":
        return None
    fixture = {"sqlalchemy-sqlite": "sqlite_url", "sqlalchemy-postgres": "migrated_postgres_url"}
    return str(request.getfixturevalue(fixture[request.param]))


@pytest.fixture
async def empty_database(database_url: str | None) -> AsyncIterator[EmptyDatabase]:
    """Each call empties the backend's database and answers units of work over it."""
    if database_url is None:

        async def fresh_memory() -> UnitOfWorkFactory:
            database = InMemoryDatabase()
            return lambda: InMemoryUnitOfWork(database)

        yield fresh_memory
        return
    engine = create_engine(database_url)

    async def emptied() -> UnitOfWorkFactory:
        async with engine.begin() as connection:
            for table in reversed(all_tables().sorted_tables):
                await connection.execute(table.delete())
        return lambda: SqlAlchemyUnitOfWork(engine)

    try:
        yield emptied
    finally:
        await engine.dispose()


def same_fields(loaded: msgspec.Struct | None, stored: msgspec.Struct) -> None:
    """Compared field by field, so a failure names the field that did not come back."""
    assert loaded is not None, "nothing was loaded"
    assert type(loaded) is type(stored)
    differences = {
        field: (getattr(stored, field), getattr(loaded, field))
        for field in stored.__struct_fields__
        if getattr(stored, field) != getattr(loaded, field)
    }
    assert differences == {}, f"(saved, loaded) differ: {differences}"


@st.composite
def two_events(draw: st.DrawFn) -> tuple[Event, Event]:
    first = draw(build.events())
    return first, draw(build.events(event_id=first.id))


@EXAMPLES
@given(events=two_events())
async def test_an_event_and_its_ticket_types_come_back_whole(
    empty_database: EmptyDatabase, events: tuple[Event, Event]
) -> None:
    first, second = events
    uow_factory = await empty_database()
    async with uow_factory() as uow:
        await uow.events.add(first)
        await uow.commit()
    async with uow_factory() as uow:
        same_fields(await uow.events.get(first.id), first)

    second.version = first.version
    async with uow_factory() as uow:
        await uow.events.save(second)
        await uow.commit()
    async with uow_factory() as uow:
        same_fields(await uow.events.get(first.id), second)
        same_fields(await uow.events.get_by_slug(second.slug), second)


@st.composite
def two_orders(draw: st.DrawFn) -> tuple[Order, Order]:
    first = draw(build.orders())
    return first, draw(build.orders(order_id=first.id))


@EXAMPLES
@given(orders=two_orders())
async def test_an_order_with_its_lines_holds_and_payment_comes_back_whole(
    empty_database: EmptyDatabase, orders: tuple[Order, Order]
) -> None:
    first, second = orders
    uow_factory = await empty_database()
    async with uow_factory() as uow:
        await uow.orders.add(first)
        await uow.commit()
    async with uow_factory() as uow:
        same_fields(await uow.orders.get(first.id), first)

    second.version = first.version
    async with uow_factory() as uow:
        await uow.orders.save(second)
        await uow.commit()
    async with uow_factory() as uow:
        same_fields(await uow.orders.get(first.id), second)
        if second.payment_reference is not None:
            same_fields(await uow.orders.get_by_reference(second.payment_reference), second)


@st.composite
def two_tickets(draw: st.DrawFn) -> tuple[Ticket, Ticket]:
    first = draw(build.tickets())
    return first, draw(build.tickets(ticket_id=first.id))


@EXAMPLES
@given(tickets=two_tickets())
async def test_a_ticket_comes_back_whole(
    empty_database: EmptyDatabase, tickets: tuple[Ticket, Ticket]
) -> None:
    first, second = tickets
    uow_factory = await empty_database()
    async with uow_factory() as uow:
        await uow.tickets.add(first)
        await uow.commit()
    async with uow_factory() as uow:
        same_fields(await uow.tickets.get(first.id), first)

    second.version = first.version
    async with uow_factory() as uow:
        await uow.tickets.save(second)
        await uow.commit()
    async with uow_factory() as uow:
        same_fields(await uow.tickets.get(first.id), second)
        same_fields(await uow.tickets.get_by_number(second.ticket_number), second)


@EXAMPLES
@given(user=build.users)
async def test_a_user_comes_back_whole(empty_database: EmptyDatabase, user: User) -> None:
    uow_factory = await empty_database()
    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.commit()
    async with uow_factory() as uow:
        same_fields(await uow.users.get(user.id), user)
        same_fields(await uow.users.get_by_email(user.email), user)


@st.composite
def two_messages(draw: st.DrawFn) -> tuple[OutboxMessage, OutboxMessage]:
    first = draw(build.outbox_messages())
    return first, draw(build.outbox_messages(message_id=first.id))


@EXAMPLES
@given(messages=two_messages())
async def test_an_outbox_message_comes_back_whole(
    empty_database: EmptyDatabase, messages: tuple[OutboxMessage, OutboxMessage]
) -> None:
    first, second = messages
    uow_factory = await empty_database()
    async with uow_factory() as uow:
        await uow.outbox.add(first)
        await uow.commit()
    same_fields(await stored_message(uow_factory, first.id), first)

    second.version = first.version
    async with uow_factory() as uow:
        await uow.outbox.save(second)
        await uow.commit()
    same_fields(await stored_message(uow_factory, first.id), second)
    async with uow_factory() as uow:
        if second.provider_message_id is not None:
            same_fields(
                await uow.outbox.get_by_provider_message_id(second.provider_message_id), second
            )


@st.composite
def two_inbox_events(draw: st.DrawFn) -> tuple[InboxEvent, InboxEvent]:
    first = draw(build.inbox_events())
    return first, draw(build.inbox_events(key=first.key))


@EXAMPLES
@given(events=two_inbox_events())
async def test_an_inbox_event_comes_back_whole(
    empty_database: EmptyDatabase, events: tuple[InboxEvent, InboxEvent]
) -> None:
    first, second = events
    uow_factory = await empty_database()
    async with uow_factory() as uow:
        await uow.payment_inbox.add(first)
        await uow.commit()
    async with uow_factory() as uow:
        same_fields(await uow.payment_inbox.get(first.key), first)

    second.version = first.version
    async with uow_factory() as uow:
        await uow.payment_inbox.save(second)
        await uow.commit()
    async with uow_factory() as uow:
        same_fields(await uow.payment_inbox.get(first.key), second)


@st.composite
def two_records(draw: st.DrawFn) -> tuple[IdempotencyRecord, IdempotencyRecord]:
    first = draw(build.idempotency_records())
    return first, draw(build.idempotency_records(scope=first.scope, key=first.key))


@EXAMPLES
@given(records=two_records())
async def test_an_idempotency_record_comes_back_whole(
    empty_database: EmptyDatabase, records: tuple[IdempotencyRecord, IdempotencyRecord]
) -> None:
    first, completed = records
    idempotency = idempotency_store_beside(await empty_database())
    async with idempotency() as unit:
        await unit.add(first)
        await unit.commit()
    async with idempotency() as unit:
        same_fields(await unit.get(first.scope, first.key), first)

    async with idempotency() as unit:
        await unit.complete(completed)
        await unit.commit()
    async with idempotency() as unit:
        same_fields(await unit.get(first.scope, first.key), completed)
