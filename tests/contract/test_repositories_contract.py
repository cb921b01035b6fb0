"""The repository ports' contract: the same tests for the fake and for SQLAlchemy.

Everything goes through the ports (``uow_factory`` gives units of work over an empty
database) and their errors; nothing looks at tables or fake internals.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from getiickets.adapters.sqlalchemy.engine import create_engine
from getiickets.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from getiickets.domain.model.accounts import User
from getiickets.domain.model.catalog import Event, EventStatus
from getiickets.domain.model.errors import (
    ConflictError,
    DuplicateError,
    EmailTakenError,
)
from getiickets.domain.model.inventory import Hold, StockFacts
from getiickets.domain.model.notifications import MessageStatus, OutboxMessage
from getiickets.domain.model.orders import Buyer, Order, OrderStatus
from getiickets.domain.model.payments import InboxEvent
from getiickets.domain.model.tickets import Ticket, TicketStatus
from getiickets.ports.repositories import (
    EventQuery,
    OutboxBacklog,
)
from getiickets.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from tests.contract import aggregates as make
from tests.contract.aggregates import LAGOS, T0
from tests.contract.stored_outbox import stored_message, stored_messages_for_order

LEASE = timedelta(minutes=5)
OYO = "Ọ̀yọ́"

Aggregate = Event | Order | Ticket | User | OutboxMessage | InboxEvent


async def add(uow: UnitOfWork, aggregate: Aggregate) -> None:
    match aggregate:
        case Event():
            await uow.events.add(aggregate)
        case Order():
            await uow.orders.add(aggregate)
        case Ticket():
            await uow.tickets.add(aggregate)
        case User():
            await uow.users.add(aggregate)
        case OutboxMessage():
            await uow.outbox.add(aggregate)
        case InboxEvent():
            await uow.payment_inbox.add(aggregate)


async def store(uow_factory: UnitOfWorkFactory, *aggregates: Aggregate) -> None:
    async with uow_factory() as uow:
        for aggregate in aggregates:
            await add(uow, aggregate)
        await uow.commit()


async def read(uow_factory: UnitOfWorkFactory, query: Callable[[UnitOfWork], Any]) -> Any:
    async with uow_factory() as uow:
        return await query(uow)


# --------------------------------------------------------------------------- round trips


async def test_event_with_ticket_types_round_trips(uow_factory: UnitOfWorkFactory) -> None:
    stored = make.event(ticket_types=3, ends_at=None, created_at=None, image_key=None)
    stored.ticket_types[1].sales_start = None
    stored.ticket_types[1].sales_end = None
    await store(uow_factory, stored)

    async with uow_factory() as uow:
        by_id = await uow.events.get(stored.id)
        by_slug = await uow.events.get_by_slug(stored.slug)
        by_type = await uow.events.get_by_ticket_type(stored.ticket_types[2].id)

    assert by_id == stored
    assert by_slug == stored
    assert by_type == stored
    assert [tt.id for tt in by_id.ticket_types] == [tt.id for tt in stored.ticket_types]


async def test_aware_datetimes_come_back_as_the_same_instant(
    uow_factory: UnitOfWorkFactory,
) -> None:
    stored = make.event(
        starts_at=datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=LAGOS), ends_at=None
    )
    await store(uow_factory, stored)

    loaded = await read(uow_factory, lambda uow: uow.events.get(stored.id))

    assert loaded.starts_at == datetime(2026, 12, 31, 22, 59, 59, 999_999, tzinfo=UTC)
    assert loaded.starts_at.utcoffset() is not None


async def test_order_with_lines_buyer_and_money_round_trips(
    uow_factory: UnitOfWorkFactory,
) -> None:
    show = make.event(ticket_types=3)
    stored = make.order(show, quantities=(2, 1, 4), paid_at=T0, refunded_at=T0, refund_due=True)
    without_extras = make.order(
        show,
        buyer_user_id=None,
        payment_reference=None,
        payment_issue=None,
        buyer=Buyer(email="b@example.ng", name="Bola"),
    )
    await store(uow_factory, show, stored, without_extras)

    async with uow_factory() as uow:
        assert await uow.orders.get(stored.id) == stored
        assert await uow.orders.get_by_reference(stored.payment_reference or "") == stored
        assert await uow.orders.get(without_extras.id) == without_extras
        assert await uow.orders.get("no-such-order") is None
        assert await uow.orders.get_by_reference("no-such-reference") is None
    assert stored.total.amount == (2 + 1 + 4) * 500_000


async def test_an_order_is_found_by_every_reference_it_ever_had(
    uow_factory: UnitOfWorkFactory,
) -> None:
    show = make.event()
    order = make.order(show, paid_at=None, refunded_at=None, refund_due=False)
    order.status = OrderStatus.PENDING
    await store(uow_factory, show, order)
    first = order.payment_reference
    assert first is not None

    for fresh in ("TKT-2-second", "TKT-3-third"):
        async with uow_factory() as uow:
            current = await uow.orders.get(order.id)
            assert current is not None
            current.move_to_fresh_reference(fresh)
            await uow.orders.save(current)
            await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.orders.get(order.id)
        assert stored is not None
        assert (stored.payment_reference, stored.past_references) == (
            "TKT-3-third",
            [first, "TKT-2-second"],
        )
        for reference in (first, "TKT-2-second", "TKT-3-third"):
            assert await uow.orders.get_by_reference(reference) == stored


async def test_ticket_round_trips(uow_factory: UnitOfWorkFactory) -> None:
    show = make.event()
    sold = make.order(show)
    checked_in = make.ticket(sold, status=TicketStatus.CHECKED_IN, checked_in_at=T0)
    bare = make.ticket(sold, qr_key=None, pdf_key=None)
    await store(uow_factory, checked_in, bare)

    async with uow_factory() as uow:
        assert await uow.tickets.get(checked_in.id) == checked_in
        assert await uow.tickets.get_by_number(checked_in.ticket_number) == checked_in
        assert await uow.tickets.get(bare.id) == bare
        assert await uow.tickets.get("no-such-ticket") is None
        assert await uow.tickets.get_by_number("TK-NONE") is None


async def test_user_round_trips_and_is_found_by_email_in_any_case(
    uow_factory: UnitOfWorkFactory,
) -> None:
    organizer = make.user(email="Chidi.Okeke@Example.NG")
    no_phone = make.user(phone=None)
    await store(uow_factory, organizer, no_phone)

    async with uow_factory() as uow:
        assert await uow.users.get(organizer.id) == organizer
        assert await uow.users.get_by_email("chidi.okeke@example.ng") == organizer
        assert await uow.users.get_by_email("  CHIDI.OKEKE@EXAMPLE.NG ") == organizer
        assert await uow.users.get(no_phone.id) == no_phone
        assert await uow.users.get_by_email("nobody@example.ng") is None
    assert organizer.email == "Chidi.Okeke@Example.NG"  # kept as given, matched normalised


async def test_outbox_message_round_trips_with_its_data(uow_factory: UnitOfWorkFactory) -> None:
    pending = make.message()
    sent = make.message(
        status=MessageStatus.SENT,
        attempts=2,
        last_error="timeout",
        provider_message_id="brevo-1",
        delivery_status="delivered",
        sent_at=T0.astimezone(LAGOS),
        data={"pairs": ("a", 1), "when": "2026-05-01T12:00:00Z", "big": 10**15},
    )
    await store(uow_factory, pending, sent)

    assert await stored_message(uow_factory, pending.id) == pending
    loaded = await stored_message(uow_factory, sent.id)
    assert await stored_message(uow_factory, "no-such-message") is None

    # Data comes back as JSON gives it back: the tuple as a list.
    assert loaded == msgspec.structs.replace(sent, data=sent.data | {"pairs": ["a", 1]})


async def test_inbox_event_round_trips_with_its_payload_bytes(
    uow_factory: UnitOfWorkFactory,
) -> None:
    fresh = make.inbox_event()
    failed = make.inbox_event(
        attempts=3, next_attempt_at=T0 + LEASE, last_error="gateway down", processed_at=T0
    )
    await store(uow_factory, fresh, failed)

    async with uow_factory() as uow:
        assert await uow.payment_inbox.get(fresh.key) == fresh
        assert await uow.payment_inbox.get(failed.key) == failed
        assert await uow.payment_inbox.get("paystack:none:none") is None


# --------------------------------------------------------------------------- copies


async def test_reads_are_copies(uow_factory: UnitOfWorkFactory) -> None:
    show = make.event()
    sold = make.order(show)
    note = make.message(sold.id, provider_message_id="brevo-copy")
    await store(uow_factory, show, sold, note)

    async with uow_factory() as uow:
        loaded_event = await uow.events.get(show.id)
        loaded_event.title = "Changed"
        loaded_event.ticket_types[0].capacity = 1
        loaded_order = await uow.orders.get(sold.id)
        loaded_order.mark_paid(T0)
        loaded_note = await uow.outbox.get_by_provider_message_id("brevo-copy")
        loaded_note.data["event_title"] = "Changed"
        # Read again in the same unit, and commit, without saving any of it.
        assert await uow.events.get(show.id) == show
        assert await uow.orders.get(sold.id) == sold
        assert await uow.outbox.get_by_provider_message_id("brevo-copy") == note
        await uow.commit()

    assert await read(uow_factory, lambda uow: uow.events.get(show.id)) == show
    assert await read(uow_factory, lambda uow: uow.orders.get(sold.id)) == sold
    assert await stored_message(uow_factory, note.id) == note


async def test_changing_an_added_object_before_commit_changes_nothing_stored(
    uow_factory: UnitOfWorkFactory,
) -> None:
    show = make.event()
    async with uow_factory() as uow:
        await uow.events.add(show)
        show.title = "Changed after add"
        await uow.commit()

    loaded = await read(uow_factory, lambda uow: uow.events.get(show.id))
    assert loaded.title == "Afro Nation"


# --------------------------------------------------------------------------- saving


async def test_saving_an_event_replaces_its_ticket_types(uow_factory: UnitOfWorkFactory) -> None:
    show = make.event(ticket_types=3, status=EventStatus.DRAFT)
    await store(uow_factory, show)

    async with uow_factory() as uow:
        loaded = await uow.events.get(show.id)
        removed = loaded.ticket_types.pop(0)
        loaded.ticket_types[0].capacity = 7
        loaded.add_ticket_type(make.ticket_type(show.id, name="VIP"))
        loaded.publish()
        await uow.events.save(loaded)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.events.get(show.id) == loaded
        assert await uow.events.get_by_ticket_type(removed.id) is None
    assert [tt.name for tt in loaded.ticket_types][-1] == "VIP"


async def test_saving_an_order_replaces_its_lines(uow_factory: UnitOfWorkFactory) -> None:
    show = make.event()
    sold = make.order(show)
    await store(uow_factory, show, sold)

    async with uow_factory() as uow:
        loaded = await uow.orders.get(sold.id)
        loaded.rehold([msgspec.structs.replace(loaded.lines[1], hold_id="hold-fresh")])
        loaded.mark_paid(T0)
        await uow.orders.save(loaded)
        await uow.commit()

    assert await read(uow_factory, lambda uow: uow.orders.get(sold.id)) == loaded
    assert [line.hold_id for line in loaded.lines] == ["hold-fresh"]


async def test_ticket_outbox_and_inbox_saves_are_kept(uow_factory: UnitOfWorkFactory) -> None:
    show = make.event()
    sold = make.order(show)
    issued = make.ticket(sold)
    note = make.message(sold.id)
    webhook = make.inbox_event()
    await store(uow_factory, issued, note, webhook)

    async with uow_factory() as uow:
        issued.check_in(show.id, T0)
        await uow.tickets.save(issued)
        note.record_sent("brevo-9", T0)
        await uow.outbox.save(note)
        webhook.mark_processed(T0)
        await uow.payment_inbox.save(webhook)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.tickets.get(issued.id) == issued
        assert await uow.payment_inbox.get(webhook.key) == webhook
    assert await stored_message(uow_factory, note.id) == note
    assert (issued.version, note.version, webhook.version) == (2, 2, 2)


async def test_stale_saves_conflict_for_every_versioned_aggregate(
    uow_factory: UnitOfWorkFactory,
) -> None:
    show = make.event()
    sold = make.order(show)
    issued = make.ticket(sold)
    note = make.message(sold.id)
    webhook = make.inbox_event()
    await store(uow_factory, show, sold, issued, note, webhook)

    readers = {
        "event": lambda uow: uow.events.get(show.id),
        "order": lambda uow: uow.orders.get(sold.id),
        "ticket": lambda uow: uow.tickets.get(issued.id),
        "message": lambda _: stored_message(uow_factory, note.id),
        "webhook": lambda uow: uow.payment_inbox.get(webhook.key),
    }
    savers = {
        "event": lambda uow, x: uow.events.save(x),
        "order": lambda uow, x: uow.orders.save(x),
        "ticket": lambda uow, x: uow.tickets.save(x),
        "message": lambda uow, x: uow.outbox.save(x),
        "webhook": lambda uow, x: uow.payment_inbox.save(x),
    }
    for name, reader in readers.items():
        first = await read(uow_factory, reader)
        second = await read(uow_factory, reader)
        async with uow_factory() as uow:
            await savers[name](uow, first)
            await uow.commit()
        # SQL refuses at save, the fake may refuse at commit: both are the unit failing.
        with pytest.raises(ConflictError):  # noqa: PT012 - save and commit are one step here
            async with uow_factory() as uow:
                await savers[name](uow, second)
                await uow.commit()
        assert await read(uow_factory, reader) == first, name


# --------------------------------------------------------------------------- unique facts


@pytest.mark.parametrize(
    "duplicate",
    [
        "event id",
        "event slug",
        "ticket type id in another event",
        "order id",
        "order number",
        "payment reference",
        "ticket id",
        "ticket number",
        "user id",
        "outbox id",
        "inbox key",
    ],
)
async def test_unique_facts_are_refused_and_the_unit_stays_usable(
    uow_factory: UnitOfWorkFactory, duplicate: str
) -> None:
    show = make.event()
    sold = make.order(show)
    issued = make.ticket(sold)
    buyer = make.user()
    note = make.message(sold.id)
    webhook = make.inbox_event()
    await store(uow_factory, show, sold, issued, buyer, note, webhook)
    other = make.event()
    clash: Aggregate = {
        "event id": make.event(id=show.id),
        "event slug": make.event(slug=show.slug),
        "ticket type id in another event": _event_reusing(other, show.ticket_types[1].id),
        "order id": make.order(show, id=sold.id),
        "order number": make.order(show, order_number=sold.order_number),
        "payment reference": make.order(show, payment_reference=sold.payment_reference),
        "ticket id": make.ticket(sold, id=issued.id),
        "ticket number": make.ticket(sold, ticket_number=issued.ticket_number),
        "user id": make.user(id=buyer.id),
        "outbox id": make.message(id=note.id),
        "inbox key": make.inbox_event(key=webhook.key),
    }[duplicate]
    afterwards = make.user()

    async with uow_factory() as uow:
        with pytest.raises(DuplicateError):
            await add(uow, clash)
        # The failure cost nothing else: the unit goes on and commits.
        await uow.users.add(afterwards)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.users.get(afterwards.id) == afterwards
        assert await uow.events.get(show.id) == show
        assert await uow.orders.get(sold.id) == sold


def _event_reusing(event: Event, ticket_type_id: str) -> Event:
    event.ticket_types[0].id = ticket_type_id
    return event


async def test_an_email_is_taken_whatever_its_case(uow_factory: UnitOfWorkFactory) -> None:
    first = make.user(email="ada@example.ng")
    await store(uow_factory, first)
    second = make.user(email=" ADA@Example.NG")

    async with uow_factory() as uow:
        with pytest.raises(EmailTakenError):
            await uow.users.add(second)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.users.get(second.id) is None
        await uow.users.add(make.user(email="ada2@example.ng"))  # a new unit still works
        await uow.commit()


async def test_saves_that_take_a_unique_fact_are_refused(uow_factory: UnitOfWorkFactory) -> None:
    show = make.event()
    other = make.event()
    first = make.order(show)
    second = make.order(show)
    await store(uow_factory, show, other, first, second)

    async with uow_factory() as uow:
        second.payment_reference = first.payment_reference
        with pytest.raises(DuplicateError):
            await uow.orders.save(second)
        other.slug = show.slug
        with pytest.raises(DuplicateError):
            await uow.events.save(other)
        await uow.users.add(note_taker := make.user())
        await uow.commit()

    async with uow_factory() as uow:
        assert (await uow.orders.get(second.id)).payment_reference != first.payment_reference
        assert (await uow.events.get(other.id)).slug != show.slug
        assert await uow.users.get(note_taker.id) == note_taker


# --------------------------------------------------------------------------- event queries


async def test_list_published_filters_orders_and_pages(uow_factory: UnitOfWorkFactory) -> None:
    day = date(2026, 8, 14)
    late_on_the_day = make.event(
        starts_at=datetime(2026, 8, 14, 23, 30, tzinfo=UTC), city=OYO, category="Music"
    )
    # 00:15 in Lagos is 23:15 UTC the day before: it belongs to the 14th (UTC).
    lagos_midnight = make.event(
        starts_at=datetime(2026, 8, 15, 0, 15, tzinfo=LAGOS), city="Lagos", category="MUSIC"
    )
    next_day = make.event(starts_at=datetime(2026, 8, 15, 0, 0, tzinfo=UTC), category="Comedy")
    first_of_day = make.event(starts_at=datetime(2026, 8, 14, 0, 0, tzinfo=UTC), category="Art")
    # Two at the same instant: the id decides, so pages never overlap or skip.
    tie_a = make.event(id="event-tie-a", starts_at=datetime(2026, 9, 1, tzinfo=UTC))
    tie_b = make.event(id="event-tie-b", starts_at=datetime(2026, 9, 1, tzinfo=UTC))
    draft = make.event(status=EventStatus.DRAFT, starts_at=datetime(2026, 8, 14, 12, tzinfo=UTC))
    cancelled = make.event(
        status=EventStatus.CANCELLED, starts_at=datetime(2026, 8, 14, tzinfo=UTC)
    )
    await store(
        uow_factory, tie_b, next_day, draft, late_on_the_day, tie_a, cancelled,
        lagos_midnight, first_of_day,
    )  # fmt: skip

    async with uow_factory() as uow:
        everything = await uow.events.list_published(EventQuery(limit=100))
        on_day = await uow.events.list_published(EventQuery(on_date=day))
        music = await uow.events.list_published(EventQuery(category="music"))
        # SQLite's lower() folds ASCII only: the match must not depend on it.
        oyo = await uow.events.list_published(EventQuery(city=OYO.upper()))
        lagos_music = await uow.events.list_published(EventQuery(category="Music", city="lagos"))
        page_1 = await uow.events.list_published(EventQuery(page=1, limit=4))
        page_2 = await uow.events.list_published(EventQuery(page=2, limit=4))
        beyond = await uow.events.list_published(EventQuery(page=9, limit=4))

    in_order = [first_of_day, lagos_midnight, late_on_the_day, next_day, tie_a, tie_b]
    assert everything.items == in_order
    assert everything.total == 6
    assert [e.id for e in on_day.items] == [first_of_day.id, lagos_midnight.id, late_on_the_day.id]
    assert on_day.total == 3
    assert [e.id for e in music.items] == [
        lagos_midnight.id,
        late_on_the_day.id,
        tie_a.id,
        tie_b.id,
    ]
    assert [e.id for e in oyo.items] == [late_on_the_day.id]
    assert [e.id for e in lagos_music.items] == [lagos_midnight.id, tie_a.id, tie_b.id]
    assert page_1.items + page_2.items == in_order
    assert (page_1.total, page_2.total, len(page_2.items)) == (6, 6, 2)
    assert beyond.items == []
    assert beyond.total == 6


@pytest.mark.parametrize("query", [EventQuery(page=0), EventQuery(limit=0), EventQuery(limit=101)])
async def test_list_published_refuses_bad_pages(
    uow_factory: UnitOfWorkFactory, query: EventQuery
) -> None:
    async with uow_factory() as uow:
        with pytest.raises(ValueError, match=r"page|limit"):
            await uow.events.list_published(query)


# --------------------------------------------------------------------------- order queries


async def test_due_for_expiry(uow_factory: UnitOfWorkFactory) -> None:
    show = make.event()
    now = T0 + timedelta(hours=1)
    expired_first = make.order(show, expires_at=now - timedelta(minutes=30))
    expired_tie_b = make.order(show, id="order-tie-b", expires_at=now - timedelta(minutes=10))
    expired_tie_a = make.order(show, id="order-tie-a", expires_at=now - timedelta(minutes=10))
    expires_now = make.order(show, expires_at=now, payment_reference=None)
    live = make.order(show, expires_at=now + timedelta(minutes=5))
    live_no_reference = make.order(
        show, expires_at=now + timedelta(minutes=1), payment_reference=None
    )
    paid_long_ago = paid(make.order(show, expires_at=now - timedelta(hours=2)))
    await store(
        uow_factory, show, live, expired_tie_b, paid_long_ago, expires_now, expired_first,
        live_no_reference, expired_tie_a,
    )  # fmt: skip

    async with uow_factory() as uow:
        due = await uow.orders.due_for_expiry(now, 10)
        first_two = await uow.orders.due_for_expiry(now, 2)
        none = await uow.orders.due_for_expiry(now, 0)

    assert due == [expired_first, expired_tie_a, expired_tie_b, expires_now]
    assert first_two == [expired_first, expired_tie_a]
    assert none == []


def paid(order: Order) -> Order:
    order.mark_paid(T0 + timedelta(minutes=1))
    return order


async def test_refunds_due(uow_factory: UnitOfWorkFactory) -> None:
    show = make.event()
    owed_late = paid(make.order(show))
    owed_late.mark_refunded(T0 + timedelta(hours=3), refund_due=True)
    owed_early = paid(make.order(show))
    owed_early.mark_refunded(T0 + timedelta(hours=1), refund_due=True)
    settled = paid(make.order(show))
    settled.mark_refunded(T0, refund_due=False)
    still_paid = paid(make.order(show))
    await store(uow_factory, show, owed_late, settled, owed_early, still_paid)

    async with uow_factory() as uow:
        assert await uow.orders.refunds_due(10) == [owed_early, owed_late]
        assert await uow.orders.refunds_due(1) == [owed_early]


async def test_stock_facts(uow_factory: UnitOfWorkFactory) -> None:
    show = make.event()
    regular = show.ticket_types[0]
    sold = paid(make.order(show, quantities=(2, 1)))
    also_sold = paid(make.order(show, quantities=(3,)))
    holding = make.order(show, quantities=(4,), expires_at=T0 + timedelta(minutes=15))
    lapsed = make.order(show, quantities=(1,), expires_at=T0 - timedelta(minutes=1))
    cancelled = make.order(show, quantities=(6,))
    cancelled.cancel()
    await store(uow_factory, show, sold, also_sold, holding, lapsed, cancelled)

    async with uow_factory() as uow:
        facts = await uow.orders.stock_facts(regular.id, 50)
        unknown = await uow.orders.stock_facts("no-such-type", 10)

    holds = sorted(
        [
            Hold(
                hold_id=holding.lines[0].hold_id,
                ticket_type_id=regular.id,
                quantity=4,
                expires_at=holding.expires_at,
            ),
            Hold(
                hold_id=lapsed.lines[0].hold_id,
                ticket_type_id=regular.id,
                quantity=1,
                expires_at=lapsed.expires_at,
            ),
        ],
        key=lambda hold: hold.hold_id,
    )
    assert facts == StockFacts(
        ticket_type_id=regular.id,
        capacity=50,
        holds=tuple(holds),
        sold_holds={sold.lines[0].hold_id: 2, also_sold.lines[0].hold_id: 3},
    )
    assert facts.sold == 5
    assert unknown == StockFacts(ticket_type_id="no-such-type", capacity=10)


# --------------------------------------------------------------------------- ticket queries


async def test_tickets_for_order_and_without_files(uow_factory: UnitOfWorkFactory) -> None:
    show = make.event()
    sold = paid(make.order(show))
    other = paid(make.order(show))
    later = make.ticket(sold, issued_at=T0 + timedelta(minutes=9), qr_key=None)
    tie_b = make.ticket(sold, id="ticket-tie-b", pdf_key=None)
    tie_a = make.ticket(sold, id="ticket-tie-a", qr_key=None, pdf_key=None)
    done = make.ticket(sold, issued_at=T0, status=TicketStatus.CHECKED_IN, checked_in_at=T0)
    void = make.ticket(other, status=TicketStatus.VOID, qr_key=None)
    elsewhere = make.ticket(
        make.order(make.event()), issued_at=T0 + timedelta(minutes=7), pdf_key=None
    )
    await store(uow_factory, later, tie_b, done, void, tie_a, elsewhere)

    async with uow_factory() as uow:
        for_order = await uow.tickets.for_order(sold.id)
        missing = await uow.tickets.without_files(10)
        first_two = await uow.tickets.without_files(2)
        none = await uow.tickets.for_order("no-such-order")

    assert for_order == [done, tie_a, tie_b, later]
    assert missing == [tie_a, tie_b, elsewhere, later]
    assert first_two == [tie_a, tie_b]
    assert none == []


# --------------------------------------------------------------------------- outbox


async def test_outbox_stores_an_orders_messages_and_finds_the_oldest_by_provider_message_id(
    uow_factory: UnitOfWorkFactory,
) -> None:
    second = make.message(
        "order-x", created_at=T0 + timedelta(seconds=1), provider_message_id="p-1"
    )
    first = make.message("order-x", id="message-a", provider_message_id="p-1")
    also_first = make.message("order-x", id="message-b")
    elsewhere = make.message("order-y", provider_message_id="p-2")
    await store(uow_factory, second, also_first, elsewhere, first)

    assert await stored_messages_for_order(uow_factory, "order-x") == [first, also_first, second]
    assert await stored_messages_for_order(uow_factory, "order-z") == []
    async with uow_factory() as uow:
        assert await uow.outbox.get_by_provider_message_id("p-1") == first  # the oldest
        assert await uow.outbox.get_by_provider_message_id("p-2") == elsewhere
        assert await uow.outbox.get_by_provider_message_id("p-3") is None


async def test_claim_due_takes_due_messages_oldest_first_and_leases_them(
    uow_factory: UnitOfWorkFactory,
) -> None:
    now = T0 + timedelta(hours=1)
    oldest = make.message(next_attempt_at=now - timedelta(minutes=30))
    retry = make.message(status=MessageStatus.FAILED, attempts=1, next_attempt_at=now)
    tie_b = make.message(id="message-tie-b", next_attempt_at=now - timedelta(minutes=1))
    tie_a = make.message(id="message-tie-a", next_attempt_at=now - timedelta(minutes=1))
    not_yet = make.message(next_attempt_at=now + timedelta(seconds=1))
    sent = make.message(status=MessageStatus.SENT, next_attempt_at=now - timedelta(hours=1))
    dead = make.message(status=MessageStatus.DEAD, next_attempt_at=now - timedelta(hours=1))
    skipped = make.message(status=MessageStatus.SKIPPED, next_attempt_at=now - timedelta(hours=1))
    await store(uow_factory, retry, tie_b, not_yet, sent, oldest, dead, tie_a, skipped)

    async with uow_factory() as uow:
        first = await uow.outbox.claim_due(now, 2, LEASE)
        rest = await uow.outbox.claim_due(now, 10, LEASE)
        await uow.commit()

    assert [m.id for m in first] == [oldest.id, tie_a.id]
    assert [m.id for m in rest] == [tie_b.id, retry.id]
    claimed = first + rest
    assert all(m.next_attempt_at == now + LEASE and m.version == 2 for m in claimed)
    assert [await stored_message(uow_factory, m.id) for m in claimed] == claimed
    async with uow_factory() as uow:
        # Leased: not due again until the lease has passed, then due again.
        just_before = await uow.outbox.claim_due(now + LEASE - timedelta(microseconds=1), 10, LEASE)
        again = await uow.outbox.claim_due(now + LEASE, 10, LEASE)
        await uow.commit()
    assert [m.id for m in just_before] == [not_yet.id]
    assert sorted(m.id for m in again) == sorted(m.id for m in claimed)


async def test_a_claimed_message_is_saved_by_its_claimer_unless_reclaimed(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await store(uow_factory, make.message())
    async with uow_factory() as uow:
        [claimed] = await uow.outbox.claim_due(T0, 1, LEASE)
        await uow.commit()
    # The lease ran out and another worker took it: the first worker's result loses.
    async with uow_factory() as uow:
        [reclaimed] = await uow.outbox.claim_due(T0 + LEASE, 1, LEASE)
        await uow.commit()

    claimed.record_sent("first-worker", T0)
    with pytest.raises(ConflictError):  # noqa: PT012 - save and commit are one step here
        async with uow_factory() as uow:
            await uow.outbox.save(claimed)
            await uow.commit()
    reclaimed.record_sent("second-worker", T0)
    async with uow_factory() as uow:
        await uow.outbox.save(reclaimed)
        await uow.commit()

    stored = await stored_message(uow_factory, reclaimed.id)
    assert stored == reclaimed
    assert stored.provider_message_id == "second-worker"


async def test_two_concurrent_workers_never_claim_the_same_message(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await store(
        uow_factory, *(make.message(next_attempt_at=T0 - timedelta(seconds=i)) for i in range(100))
    )

    async def worker() -> list[str]:
        mine: list[str] = []
        while True:
            async with uow_factory() as uow:
                batch = await uow.outbox.claim_due(T0, 7, LEASE)
                # Hand over while this claim is still uncommitted (its rows locked).
                await asyncio.sleep(0)
                await uow.commit()
            if not batch:
                return mine
            mine += [m.id for m in batch]

    a, b = await asyncio.gather(worker(), worker())

    assert a
    assert b
    assert not set(a) & set(b)
    assert len(a) + len(b) == 100


@pytest.mark.postgres
@pytest.mark.slow
def test_two_processes_never_claim_the_same_message(
    postgres_engine: AsyncEngine, migrated_postgres_url: str
) -> None:
    asyncio.run(_store_messages(migrated_postgres_url, 100))
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2, timeout=60)
    results = context.Queue()
    workers = [
        context.Process(
            target=_claim_all_in_a_process, args=(migrated_postgres_url, start, results)
        )
        for _ in range(2)
    ]
    for process in workers:
        process.start()
    try:
        a, b = (results.get(timeout=60) for _ in workers)
    finally:
        for process in workers:
            process.join(timeout=10)

    assert a
    assert b
    assert not set(a) & set(b)
    assert len(a) + len(b) == 100


async def _store_messages(url: str, count: int) -> None:
    engine = create_engine(url)
    try:
        await store(lambda: SqlAlchemyUnitOfWork(engine), *(make.message() for _ in range(count)))
    finally:
        await engine.dispose()


def _claim_all_in_a_process(url: str, start: Any, results: Any) -> None:
    async def claim_all() -> list[str]:
        engine = create_engine(url, pool_size=1)
        mine: list[str] = []
        try:
            async with engine.connect():
                pass  # connected before the race starts, so both start claiming at once
            start.wait()
            while True:
                async with SqlAlchemyUnitOfWork(engine) as uow:
                    batch = await uow.outbox.claim_due(T0, 3, LEASE)
                    await uow.commit()
                if not batch:
                    return mine
                mine += [m.id for m in batch]
        finally:
            await engine.dispose()

    results.put(asyncio.run(claim_all()))


async def test_claims_refuse_bad_arguments(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        with pytest.raises(ValueError, match="limit"):
            await uow.outbox.claim_due(T0, -1, LEASE)
        with pytest.raises(ValueError, match="lease"):
            await uow.outbox.claim_due(T0, 1, timedelta(0))
        with pytest.raises(ValueError, match="limit"):
            await uow.payment_inbox.due_for_retry(T0, -1, LEASE)
        with pytest.raises(ValueError, match="lease"):
            await uow.payment_inbox.due_for_retry(T0, 1, -LEASE)
        with pytest.raises(ValueError, match="limit"):
            await uow.orders.due_for_expiry(T0, -1)
        with pytest.raises(ValueError, match="limit"):
            await uow.tickets.without_files(-1)


# --------------------------------------------------------------------------- payment inbox


async def test_due_for_retry_claims_unprocessed_events_oldest_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    now = T0 + timedelta(hours=1)
    never_tried = make.inbox_event(received_at=now - timedelta(minutes=20))
    retry_now = make.inbox_event(attempts=1, next_attempt_at=now)
    retry_earlier = make.inbox_event(attempts=2, next_attempt_at=now - timedelta(minutes=40))
    tie_b = make.inbox_event(key="paystack:tie:b", received_at=now - timedelta(minutes=10))
    tie_a = make.inbox_event(key="paystack:tie:a", next_attempt_at=now - timedelta(minutes=10))
    later = make.inbox_event(attempts=1, next_attempt_at=now + timedelta(seconds=1))
    processed = make.inbox_event(processed_at=now - timedelta(hours=1))
    await store(uow_factory, retry_now, processed, tie_b, never_tried, later, retry_earlier, tie_a)

    async with uow_factory() as uow:
        first = await uow.payment_inbox.due_for_retry(now, 3, LEASE)
        rest = await uow.payment_inbox.due_for_retry(now, 10, LEASE)
        await uow.commit()

    assert [e.key for e in first] == [retry_earlier.key, never_tried.key, tie_a.key]
    assert [e.key for e in rest] == [tie_b.key, retry_now.key]
    claimed = first + rest
    assert all(e.next_attempt_at == now + LEASE and e.version == 2 for e in claimed)
    async with uow_factory() as uow:
        assert [await uow.payment_inbox.get(e.key) for e in claimed] == claimed
        # Leased: only the event that was not due yet is due before the lease ends.
        just_before = await uow.payment_inbox.due_for_retry(now + timedelta(minutes=4), 10, LEASE)
        await uow.commit()
    assert [e.key for e in just_before] == [later.key]


async def test_the_backlog_counts_messages_still_to_deliver_and_dates_the_oldest(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.outbox.backlog() == OutboxBacklog(count=0, oldest_created_at=None)
    waiting = make.message(created_at=T0 + timedelta(minutes=5))
    oldest_retry = make.message(
        status=MessageStatus.FAILED, attempts=2, created_at=T0 + timedelta(minutes=1)
    )
    delivered = make.message(status=MessageStatus.SENT, created_at=T0)
    gave_up = make.message(status=MessageStatus.DEAD, created_at=T0)
    await store(uow_factory, waiting, oldest_retry, delivered, gave_up)

    async with uow_factory() as uow:
        backlog = await uow.outbox.backlog()

    assert backlog == OutboxBacklog(count=2, oldest_created_at=T0 + timedelta(minutes=1))
