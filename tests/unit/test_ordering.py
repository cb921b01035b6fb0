"""Stories of buyers placing, cancelling and losing orders, and of the stock behind them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from getiickets.adapters.memory import InMemoryOrderBook
from getiickets.domain.model.errors import (
    InvalidStateError,
    NotFoundError,
    SalesClosedError,
    SoldOutError,
    TooManyTicketsError,
    ValidationError,
)
from getiickets.domain.model.inventory import StockLevel
from getiickets.domain.model.money import Money
from getiickets.domain.model.notifications import Channel, MessageStatus, Template
from getiickets.domain.model.orders import Buyer, Order, OrderStatus
from getiickets.domain.model.tickets import TicketStatus
from getiickets.domain.usecases.access import OrderAccess
from getiickets.domain.usecases.catalog import CreateEvent, NewTicketType, UpdateEvent
from getiickets.domain.usecases.ordering import (
    ON_SALE_MEMO_TTL,
    Ordering,
    OrderItem,
    PlaceOrder,
)
from getiickets.ports.hot_state import Cache
from getiickets.ports.order_book import OrderBook
from getiickets.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from tests.unit.world import GUEST, World, by_token

RESERVATION = timedelta(seconds=900)


def level(capacity: int, *, held: int = 0, sold: int = 0) -> StockLevel:
    return StockLevel(capacity=capacity, held=held, sold=sold)


async def test_given_an_event_on_sale_when_a_guest_orders_then_stock_is_held_until_expiry(
    world: World,
) -> None:
    show = await world.a_published_event()

    placed = await world.place_order(show, regular=2, community=1)

    order = placed.order
    assert order.status is OrderStatus.PENDING
    assert order.total == Money.parse("10000.00")
    assert order.created_at == world.clock.now()
    assert order.expires_at == world.clock.now() + RESERVATION
    assert order.buyer == GUEST
    assert order.buyer_user_id is None
    assert [(line.name, line.quantity, line.subtotal.major) for line in order.lines] == [
        ("Regular", 2, "10000.00"),
        ("Community", 1, "0.00"),
    ]
    assert order.order_number.startswith("GT-")
    assert placed.tickets == []
    assert await world.level(show.regular_id) == level(50, held=2)
    assert await world.level(show.community_id) == level(20, held=1)
    assert await world.stored_order(order.id) == order
    assert await world.outbox(order.id) == []


async def test_every_order_gets_its_own_number_and_access_token(world: World) -> None:
    show = await world.a_published_event()

    first = await world.place_order(show, regular=1)
    second = await world.place_order(show, regular=1)

    assert first.order.order_number != second.order.order_number
    assert first.access_token != second.access_token
    assert first.access_token not in first.order.access_token_digest


async def test_given_too_few_tickets_left_when_ordering_more_then_sold_out_and_nothing_held(
    world: World,
) -> None:
    show = await world.a_published_event(regular_capacity=5)
    await world.place_order(show, regular=4)

    with pytest.raises(SoldOutError):
        await world.place_order(show, regular=2)

    assert await world.level(show.regular_id) == level(5, held=4)


async def test_given_a_second_line_that_is_sold_out_then_the_first_lines_hold_is_given_back(
    world: World,
) -> None:
    show = await world.a_published_event(community_capacity=2)
    await world.place_order(show, community=2)

    with pytest.raises(SoldOutError):
        await world.place_order(show, regular=3, community=1)

    assert await world.level(show.regular_id) == level(50)
    assert await world.level(show.community_id) == level(2, sold=2)
    assert len(world.db.orders.rows) == 1


async def test_given_a_draft_event_when_someone_orders_then_sales_are_closed(world: World) -> None:
    organizer = await world.an_organizer()
    draft = await world.catalog.create_event(
        organizer.actor,
        CreateEvent(
            title="Not yet",
            starts_at=world.clock.now() + timedelta(days=9),
            ticket_types=(NewTicketType(name="Regular", price=Money.parse("100"), capacity=5),),
        ),
    )
    ticket_type_id = draft.ticket_types[0].ticket_type.id

    with pytest.raises(SalesClosedError):
        await world.place_items(draft.event.id, {ticket_type_id: 1})

    assert await world.level(ticket_type_id) == level(5)


async def test_sales_are_open_only_inside_the_ticket_types_window(world: World) -> None:
    organizer = await world.an_organizer()
    opens, closes = world.clock.now() + timedelta(days=1), world.clock.now() + timedelta(days=2)
    view = await world.catalog.create_event(
        organizer.actor,
        CreateEvent(
            title="Windowed",
            starts_at=world.clock.now() + timedelta(days=9),
            ticket_types=(
                NewTicketType(
                    name="Regular",
                    price=Money.parse("100"),
                    capacity=5,
                    sales_start=opens,
                    sales_end=closes,
                ),
            ),
        ),
    )
    await world.catalog.publish_event(organizer.actor, view.event.id)
    ticket_type_id = view.ticket_types[0].ticket_type.id

    with pytest.raises(SalesClosedError):
        await world.place_items(view.event.id, {ticket_type_id: 1})

    world.clock.set(opens)
    placed = await world.place_items(view.event.id, {ticket_type_id: 1})
    assert placed.order.status is OrderStatus.PENDING

    world.clock.set(closes)
    with pytest.raises(SalesClosedError):
        await world.place_items(view.event.id, {ticket_type_id: 1})


async def test_given_more_than_max_per_order_then_too_many_tickets(world: World) -> None:
    show = await world.a_published_event(max_per_order=4)

    with pytest.raises(TooManyTicketsError):
        await world.place_order(show, regular=5)

    assert await world.level(show.regular_id) == level(50)


async def test_an_unknown_event_or_ticket_type_is_not_found(world: World) -> None:
    show = await world.a_published_event()
    other = await world.a_published_event(title="Another show")

    with pytest.raises(NotFoundError):
        await world.place_items("no-such-event", {show.regular_id: 1})
    with pytest.raises(NotFoundError):
        await world.place_items(show.event_id, {"no-such-type": 1})
    # A real ticket type, but of another event.
    with pytest.raises(NotFoundError):
        await world.place_items(show.event_id, {other.regular_id: 1})


async def test_given_the_same_ticket_type_twice_then_the_second_line_is_named_in_the_error(
    world: World,
) -> None:
    show = await world.a_published_event()

    with pytest.raises(ValidationError) as raised:
        await world.ordering.place_order(
            PlaceOrder(
                event_id=show.event_id,
                items=(
                    OrderItem(ticket_type_id=show.regular_id, quantity=1),
                    OrderItem(ticket_type_id=show.regular_id, quantity=2),
                ),
                buyer=GUEST,
            )
        )

    assert raised.value.field == "items.1.ticket_type_id"
    assert await world.level(show.regular_id) == level(50)


@pytest.mark.parametrize(
    ("items", "field"),
    [((), "items"), ((0,), "items.0.quantity"), ((1, -2), "items.1.quantity")],
)
async def test_given_no_items_or_a_quantity_below_one_then_the_field_is_named(
    world: World, items: tuple[int, ...], field: str
) -> None:
    show = await world.a_published_event()
    ids = (show.regular_id, show.community_id)

    with pytest.raises(ValidationError) as raised:
        await world.ordering.place_order(
            PlaceOrder(
                event_id=show.event_id,
                items=tuple(
                    OrderItem(ticket_type_id=ids[index], quantity=quantity)
                    for index, quantity in enumerate(items)
                ),
                buyer=GUEST,
            )
        )

    assert raised.value.field == field


async def test_given_a_free_order_then_it_is_paid_at_once_with_a_ticket_per_unit_and_an_email(
    world: World,
) -> None:
    show = await world.a_published_event()

    placed = await world.place_order(show, community=3)

    order = placed.order
    assert order.status is OrderStatus.PAID
    assert order.paid_at == world.clock.now()
    assert order.total == Money.zero()
    assert len(placed.tickets) == 3
    assert len({ticket.ticket_number for ticket in placed.tickets}) == 3
    for ticket in placed.tickets:
        assert (ticket.order_id, ticket.event_id, ticket.ticket_type_id) == (
            order.id,
            show.event_id,
            show.community_id,
        )
        assert ticket.holder_name == GUEST.name
        assert ticket.status is TicketStatus.VALID
    assert sorted(t.id for t in await world.stored_tickets(order.id)) == sorted(
        t.id for t in placed.tickets
    )
    [email] = await world.outbox(order.id)
    assert (email.channel, email.recipient, email.template, email.status) == (
        Channel.EMAIL,
        GUEST.email,
        Template.TICKET_CONFIRMATION,
        MessageStatus.PENDING,
    )
    assert email.data["order_number"] == order.order_number
    assert len(email.data["tickets"]) == 3
    assert await world.level(show.community_id) == level(20, sold=3)


async def test_given_a_free_order_from_a_buyer_with_a_phone_then_an_sms_is_queued_too(
    world: World,
) -> None:
    show = await world.a_published_event()
    buyer = Buyer(email="ada@example.com", name="Ada", phone="+2348012345678")

    placed = await world.place_order(show, community=1, buyer=buyer)

    messages = await world.outbox(placed.order.id)
    assert sorted((m.channel, m.recipient) for m in messages) == [
        (Channel.EMAIL, "ada@example.com"),
        (Channel.SMS, "+2348012345678"),
    ]


async def test_given_a_pending_order_when_the_buyer_cancels_then_its_stock_comes_back(
    world: World,
) -> None:
    show = await world.a_published_event()
    placed = await world.place_order(show, regular=3)

    cancelled = await world.ordering.cancel_order(placed.order.id, by_token(placed))

    assert cancelled.status is OrderStatus.CANCELLED
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.CANCELLED
    assert await world.level(show.regular_id) == level(50)


async def test_given_a_cancelled_order_when_cancelled_again_then_it_is_an_invalid_state(
    world: World,
) -> None:
    show = await world.a_published_event()
    placed = await world.place_order(show, regular=3)
    await world.ordering.cancel_order(placed.order.id, by_token(placed))

    with pytest.raises(InvalidStateError):
        await world.ordering.cancel_order(placed.order.id, by_token(placed))


async def test_given_a_paid_order_when_cancelled_then_it_is_refused_and_stays_sold(
    world: World,
) -> None:
    show = await world.a_published_event()
    placed = await world.place_order(show, community=2)

    with pytest.raises(InvalidStateError):
        await world.ordering.cancel_order(placed.order.id, by_token(placed))

    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PAID
    assert await world.level(show.community_id) == level(20, sold=2)


async def test_someone_elses_order_looks_exactly_like_no_order(world: World) -> None:
    show = await world.a_published_event()
    owner = await world.a_buyer()
    placed = await world.place_order(show, regular=1, buyer=owner)
    stranger = await world.a_buyer()
    rival_organizer = await world.an_organizer()
    strangers = [
        OrderAccess(),
        OrderAccess(actor=stranger.actor),
        OrderAccess(actor=rival_organizer.actor),
        OrderAccess(access_token="a-guess"),
        OrderAccess(actor=stranger.actor, access_token="a-guess"),
    ]

    for access in strangers:
        with pytest.raises(NotFoundError) as seen:
            await world.ordering.get_order(placed.order.id, access)
        with pytest.raises(NotFoundError) as unknown:
            await world.ordering.get_order("no-such-order", access)
        assert str(seen.value) == str(unknown.value)
        with pytest.raises(NotFoundError):
            await world.ordering.tickets_of(placed.order.id, access)
        with pytest.raises(NotFoundError):
            await world.ordering.cancel_order(placed.order.id, access)

    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PENDING


async def test_the_token_holder_the_buyers_account_and_the_events_organizer_see_the_order(
    world: World,
) -> None:
    show = await world.a_published_event()
    owner = await world.a_buyer()
    placed = await world.place_order(show, community=1, buyer=owner)

    for access in (
        by_token(placed),
        OrderAccess(actor=owner.actor),
        OrderAccess(actor=show.organizer),
    ):
        assert (await world.ordering.get_order(placed.order.id, access)).id == placed.order.id
        tickets = await world.ordering.tickets_of(placed.order.id, access)
        assert [t.id for t in tickets] == [t.id for t in placed.tickets]


async def test_a_ticket_is_found_by_its_number_only_by_those_who_may_see_its_order(
    world: World,
) -> None:
    show = await world.a_published_event()
    placed = await world.place_order(show, community=2)
    ticket = placed.tickets[1]

    for access in (by_token(placed), OrderAccess(actor=show.organizer)):
        assert (await world.ordering.ticket(ticket.ticket_number, access)).id == ticket.id
    stranger = await world.a_buyer()
    for access in (OrderAccess(), OrderAccess(actor=stranger.actor)):
        with pytest.raises(NotFoundError):
            await world.ordering.ticket(ticket.ticket_number, access)
    with pytest.raises(NotFoundError):
        await world.ordering.ticket("TK-0000-0000-0000-0000", by_token(placed))


async def test_given_a_pending_order_past_its_expiry_when_the_worker_runs_then_it_expires(
    world: World,
) -> None:
    show = await world.a_published_event()
    placed = await world.place_order(show, regular=2)

    world.advance(RESERVATION.total_seconds() - 1)
    assert await world.expiry.expire_due_orders() == 0
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PENDING

    world.advance(1)
    assert await world.expiry.expire_due_orders() == 1

    assert (await world.stored_order(placed.order.id)).status is OrderStatus.EXPIRED
    assert await world.level(show.regular_id) == level(50)
    assert await world.expiry.expire_due_orders() == 0


async def test_given_only_time_passing_then_a_hold_goes_back_to_stock_by_itself(
    world: World,
) -> None:
    show = await world.a_published_event(regular_capacity=2)
    placed = await world.place_order(show, regular=2)
    with pytest.raises(SoldOutError):
        await world.place_order(show, regular=1)

    world.advance(RESERVATION.total_seconds())

    # No worker ran: the order still says pending, yet its stock is free again.
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PENDING
    assert await world.level(show.regular_id) == level(2)
    late_comer = await world.place_order(show, regular=2)
    assert await world.level(show.regular_id) == level(2, held=2)

    # The worker then expires the old order without touching the newcomer's hold.
    assert await world.expiry.expire_due_orders() == 1
    assert await world.level(show.regular_id) == level(2, held=2)
    assert (await world.stored_order(late_comer.order.id)).status is OrderStatus.PENDING


async def test_a_logged_in_buyers_order_is_linked_to_their_account(world: World) -> None:
    show = await world.a_published_event()
    buyer = await world.a_buyer(phone="08012345678")

    placed = await world.place_order(show, community=1, buyer=buyer)

    assert placed.order.buyer_user_id == buyer.actor.user_id
    assert placed.order.buyer.phone == "+2348012345678"
    assert {m.channel for m in await world.outbox(placed.order.id)} == {Channel.EMAIL, Channel.SMS}


async def test_given_the_inventory_loses_its_counters_then_it_rebuilds_them_from_the_orders(
    world: World,
) -> None:
    show = await world.a_published_event()
    await world.pay(await world.place_order(show, regular=2))  # sold
    await world.place_order(show, regular=3)  # held
    lapsed = await world.place_order(show, regular=4)
    await world.ordering.cancel_order(lapsed.order.id, by_token(lapsed))  # back in stock
    await world.place_order(show, community=1)  # free: sold at once
    before = (await world.level(show.regular_id), await world.level(show.community_id))

    # Like a Redis flush: the next operation reads the database's facts again.
    world.inventory.lose_state(show.regular_id)
    world.inventory.lose_state(show.community_id)

    assert (await world.level(show.regular_id), await world.level(show.community_id)) == before
    assert before == (level(50, held=3, sold=2), level(20, sold=1))


class _CountedUnits:
    def __init__(self, world: World) -> None:
        self.world = world
        self.opened = 0

    def __call__(self) -> UnitOfWork:
        self.opened += 1
        return self.world.uow()


def _ordering_on(world: World, uow: UnitOfWorkFactory, orders: OrderBook) -> Ordering:
    return Ordering(
        uow=uow,
        inventory=world.inventory,
        issuance=world.issuance,
        clock=world.clock,
        ids=world.ids,
        orders=orders,
        cache=world.cache,
    )


async def test_a_paid_order_opens_no_unit_of_work_once_its_event_is_cached(world: World) -> None:
    """Defect: every order read its event in a unit of work of its own, then wrote in a
    second one. The event now comes from the cache and the order goes to the order book
    (whose SQL adapter shares commits between orders)."""
    show = await world.a_published_event()
    units = _CountedUnits(world)
    world.ordering = _ordering_on(world, units, world.orders)
    await world.place_order(show, regular=1)  # reads the event once, and caches it
    units.opened = 0

    placed = await world.place_order(show, regular=2)

    assert units.opened == 0
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PENDING


class _CountedGets:
    """The world's cache, counting reads, each answered after other tasks ran."""

    def __init__(self, inner: Cache) -> None:
        self._inner = inner
        self.gets = 0

    async def get(self, key: str) -> bytes | None:
        self.gets += 1
        await asyncio.sleep(0)  # a round trip: other tasks run meanwhile
        return await self._inner.get(key)

    async def set(self, key: str, value: bytes, ttl: timedelta) -> None:
        await self._inner.set(key, value, ttl)

    async def delete(self, *keys: str) -> None:
        await self._inner.delete(*keys)

    async def incr(self, key: str) -> int:
        return await self._inner.incr(key)


def _ordering_counting_reads(world: World) -> _CountedGets:
    counted = _CountedGets(world.cache)
    world.ordering = Ordering(
        uow=world.uow,
        inventory=world.inventory,
        issuance=world.issuance,
        clock=world.clock,
        ids=world.ids,
        orders=world.orders,
        cache=counted,
    )
    return counted


async def test_a_rush_of_paid_orders_reads_the_event_about_once_a_second(world: World) -> None:
    """Defect: every order read its event from the cache, a Redis round trip each."""
    show = await world.a_published_event()
    reads = _ordering_counting_reads(world)
    await world.place_order(show, regular=1)
    assert reads.gets == 1

    for _ in range(3):
        await world.place_order(show, regular=1)
    assert reads.gets == 1

    world.clock.advance(ON_SALE_MEMO_TTL)
    await world.place_order(show, regular=1)
    assert reads.gets == 2
    assert await world.level(show.regular_id) == level(50, held=5)


async def test_the_orders_in_flight_when_the_event_is_read_share_that_read(
    world: World,
) -> None:
    """Defect: a burst that found no fresh copy of its event read it once per order."""
    show = await world.a_published_event()
    reads = _ordering_counting_reads(world)

    await asyncio.gather(*(world.place_order(show, regular=1) for _ in range(8)))

    assert reads.gets == 1
    assert await world.level(show.regular_id) == level(50, held=8)


async def test_a_ticket_type_added_a_moment_ago_sells_at_once(world: World) -> None:
    show = await world.a_published_event()
    _ordering_counting_reads(world)
    await world.place_order(show, regular=1)

    added = await world.catalog.add_ticket_type(
        show.organizer,
        show.event_id,
        NewTicketType(name="VIP", price=Money.parse("20000.00"), capacity=5),
    )
    placed = await world.place_items(show.event_id, {added.ticket_type.id: 2})

    assert [line.name for line in placed.order.lines] == ["VIP"]
    assert await world.level(added.ticket_type.id) == level(5, held=2)


async def test_an_event_published_a_moment_after_a_refused_order_sells_at_once(
    world: World,
) -> None:
    organizer = await world.an_organizer()
    draft = await world.catalog.create_event(
        organizer.actor,
        CreateEvent(
            title="Soon",
            starts_at=world.clock.now() + timedelta(days=3),
            ticket_types=(NewTicketType(name="Regular", price=Money.parse("10.00"), capacity=5),),
        ),
    )
    _ordering_counting_reads(world)
    ticket_type_id = draft.ticket_types[0].ticket_type.id
    with pytest.raises(SalesClosedError):
        await world.place_items(draft.event.id, {ticket_type_id: 1})

    await world.catalog.publish_event(organizer.actor, draft.event.id)
    placed = await world.place_items(draft.event.id, {ticket_type_id: 1})

    assert placed.order.status is OrderStatus.PENDING


async def test_a_free_order_confirms_with_the_event_as_edited_a_moment_ago(world: World) -> None:
    """Its tickets are issued at once, and their message carries the event's title."""
    show = await world.a_published_event()
    _ordering_counting_reads(world)
    await world.place_order(show, regular=1)

    await world.catalog.update_event(
        show.organizer, show.event_id, UpdateEvent(title="Lagos Jazz Night (moved indoors)")
    )
    placed = await world.place_order(show, community=1)

    messages = await world.outbox(placed.order.id)
    assert messages
    assert {message.data["event_title"] for message in messages} == {
        "Lagos Jazz Night (moved indoors)"
    }


class _CancelledBook:
    """An order book whose caller is cancelled before (or after) the commit holds its order."""

    def __init__(self, world: World, *, stored: bool) -> None:
        self._inner = InMemoryOrderBook(world.db)
        self._stored = stored

    async def record(self, order: Order) -> None:
        if self._stored:
            await self._inner.record(order)
        raise asyncio.CancelledError


@pytest.mark.parametrize("stored", [True, False], ids=["stored", "left-out"])
async def test_a_cancelled_order_keeps_its_holds_exactly_when_it_was_stored(
    world: World, stored: bool
) -> None:
    """Defect: a caller cancelled while its order's commit went through gave the holds
    back, leaving a stored pending order with nothing held for it."""
    show = await world.a_published_event()
    world.ordering = _ordering_on(world, world.uow, _CancelledBook(world, stored=stored))

    with pytest.raises(asyncio.CancelledError):
        await world.place_order(show, regular=2)

    assert await world.level(show.regular_id) == level(50, held=2 if stored else 0)
