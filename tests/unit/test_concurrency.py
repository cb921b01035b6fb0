"""Stories of many requests at once: a rush for the last tickets, a payment reported
twenty times together, two doors scanning one ticket, a cancel racing a payment.

The in-memory fakes never await anything real, so under ``asyncio.gather`` each task
would run from start to finish before the next one starts, and these tests would
prove nothing about concurrency. ``InterleavingWorld`` makes them pause
(``asyncio.sleep(0)``) wherever a real adapter does I/O: opening a transaction and
committing it, every query, every inventory call (a Redis round trip) and every Paystack call. At
each pause the other tasks run, so reads go stale and writers collide exactly as
they can against Postgres, Redis and Paystack.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from getiickets.adapters.memory import InMemoryDatabase, InMemoryInventory, InMemoryUnitOfWork
from getiickets.domain.model.errors import InvalidStateError, SoldOutError
from getiickets.domain.model.inventory import StockLevel
from getiickets.domain.model.notifications import Channel
from getiickets.domain.model.orders import DEFAULT_RESERVATION_TTL, Buyer, Order, OrderStatus
from getiickets.domain.model.tickets import CheckInOutcome, TicketStatus
from getiickets.domain.usecases.ordering import PlacedOrder
from getiickets.domain.usecases.payment_inbox import WebhookOutcome
from getiickets.domain.usecases.payment_results import AppliedPayment, PaymentOutcome
from getiickets.ports.unit_of_work import UnitOfWork
from tests.unit.world import EventOnSale, World, by_token

T = TypeVar("T")

RESERVATION_SECONDS = DEFAULT_RESERVATION_TTL.total_seconds()
WITH_PHONE = Buyer(email="ada@example.com", name="Ada", phone="+2348012345678")


def paused(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    async def after_a_pause(*args: Any, **kwargs: Any) -> T:
        await asyncio.sleep(0)
        return await method(*args, **kwargs)

    return after_a_pause


def pause_before(target: object, *method_names: str) -> None:
    """Make ``target``'s async methods let other tasks run before they act."""
    for name in method_names:
        setattr(target, name, paused(getattr(target, name)))


def async_methods(target: object) -> list[str]:
    return [
        name
        for name in dir(target)
        if not name.startswith("_") and inspect.iscoroutinefunction(getattr(target, name))
    ]


class InterleavingUnitOfWork(InMemoryUnitOfWork):
    """Pauses where a database round trip would be: BEGIN, every query, COMMIT."""

    def __init__(self, database: InMemoryDatabase) -> None:
        super().__init__(database)
        repositories: tuple[object, ...] = (
            self.events,
            self.orders,
            self.tickets,
            self.users,
            self.outbox,
            self.payment_inbox,
            self.sales,
        )
        for repository in repositories:
            pause_before(repository, *async_methods(repository))

    async def __aenter__(self) -> InterleavingUnitOfWork:
        await asyncio.sleep(0)
        return await super().__aenter__()

    async def commit(self) -> None:
        await asyncio.sleep(0)
        await super().commit()


class InterleavingWorld(World):
    def __init__(self) -> None:
        super().__init__()
        # Patched on the instances every use case already holds.
        pause_before(self.inventory, "reserve", "release", "confirm", "level")
        pause_before(self.gateway, "initialize", "verify", "refund")

    def uow(self) -> UnitOfWork:
        return InterleavingUnitOfWork(self.db)


@pytest.fixture
def world() -> InterleavingWorld:
    return InterleavingWorld()


async def books_of(world: World, show: EventOnSale) -> tuple[StockLevel, int, int]:
    """The regular stock, with what the database says it must be: (level, tickets not
    void, units in paid orders) for the regular ticket type."""
    stock = await world.level(show.regular_id)
    # An inventory rebuilt from the database alone must agree with the live one.
    rebuilt = InMemoryInventory(world.ledger, world.clock)
    assert await rebuilt.level(show.regular_id) == stock
    async with world.uow() as uow:
        report = await uow.sales.event_sales(show.event_id)
    sales = {s.ticket_type_id: s.sold for s in report.ticket_types}
    # Read straight from the fake database's table: no port offers a count.
    valid = sum(
        1
        for ticket in world.db.tickets.rows.values()
        if ticket.event_id == show.event_id
        and ticket.status in {TicketStatus.VALID, TicketStatus.CHECKED_IN}
    )
    return stock, valid, sales[show.regular_id]


# ---------------------------------------------------------------------- the rush


async def test_given_200_buyers_at_once_for_50_tickets_then_exactly_50_get_a_reservation(
    world: InterleavingWorld,
) -> None:
    show = await world.a_published_event(regular_capacity=50)
    in_flight = most_in_flight = 0

    async def buy(n: int) -> PlacedOrder:
        nonlocal in_flight, most_in_flight
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        try:
            buyer = Buyer(email=f"buyer{n}@example.com", name=f"Buyer {n}")
            return await world.place_order(show, regular=1, buyer=buyer)
        finally:
            in_flight -= 1

    results = await asyncio.gather(*(buy(n) for n in range(200)), return_exceptions=True)

    # Every purchase was under way before any finished: the race really happened.
    assert most_in_flight == 200
    placed = [result for result in results if isinstance(result, PlacedOrder)]
    sold_out = [result for result in results if isinstance(result, SoldOutError)]
    assert (len(placed), len(sold_out)) == (50, 150)
    assert await world.level(show.regular_id) == StockLevel(capacity=50, held=50, sold=0)
    async with world.uow() as uow:
        stored = (await uow.sales.event_sales(show.event_id)).orders
    assert stored[OrderStatus.PENDING] == 50
    assert sum(stored.values()) == 50  # the refused buyers left nothing behind
    assert len({p.order.lines[0].hold_id for p in placed}) == 50


# ---------------------------------------------------------------------- one payment, many reports


async def a_paid_checkout(
    world: World, show: EventOnSale, quantity: int, *, after_expiry: bool
) -> tuple[Order, str]:
    """An order whose customer has paid at Paystack; nobody has heard yet.

    ``after_expiry``: the money came after the order expired and gave its stock back,
    so every report races to take fresh stock, and all but one must give it back.
    """
    placed = await world.place_order(show, regular=quantity, buyer=WITH_PHONE)
    reference = await world.start_payment(placed)
    if after_expiry:
        world.advance(RESERVATION_SECONDS)
        assert await world.expiry.expire_due_orders() == 1
    world.gateway.pay(reference)
    return placed.order, reference


# Late, the 20 reports share one derived hold per line, so stock for the order once
# is enough (see the test with just that much room below).
paid_when = pytest.mark.parametrize(
    ("after_expiry", "quantity"), [(False, 3), (True, 2)], ids=["on_time", "late"]
)


async def assert_paid_exactly_once(
    world: World, show: EventOnSale, order: Order, quantity: int
) -> None:
    stored = await world.stored_order(order.id)
    assert stored.status is OrderStatus.PAID
    tickets = await world.stored_tickets(order.id)
    assert len({ticket.id for ticket in tickets}) == len(tickets) == quantity
    messages = await world.outbox(order.id)
    assert sorted(message.channel for message in messages) == [Channel.EMAIL, Channel.SMS]
    stock, valid_tickets, paid_units = await books_of(world, show)
    assert stock == StockLevel(capacity=50, held=0, sold=quantity)
    assert valid_tickets == paid_units == quantity
    assert world.gateway.refunds == []


@paid_when
async def test_given_20_verifications_of_one_payment_at_once_then_it_is_applied_once(
    world: InterleavingWorld, after_expiry: bool, quantity: int
) -> None:
    show = await world.a_published_event()
    order, reference = await a_paid_checkout(world, show, quantity, after_expiry=after_expiry)

    results = await asyncio.gather(
        *(world.payment_results.verify_payment(reference) for _ in range(20))
    )

    assert Counter(result.outcome for result in results) == {
        PaymentOutcome.PAID: 1,
        PaymentOutcome.ALREADY_APPLIED: 19,
    }
    await assert_paid_exactly_once(world, show, order, quantity)


@paid_when
async def test_given_20_signed_webhooks_for_one_payment_at_once_then_it_is_applied_once(
    world: InterleavingWorld, after_expiry: bool, quantity: int
) -> None:
    show = await world.a_published_event()
    order, reference = await a_paid_checkout(world, show, quantity, after_expiry=after_expiry)
    body = world.gateway.webhook_body("charge.success", reference)
    signature = world.gateway.sign(body)

    async def deliver_and_process() -> WebhookOutcome:
        receipt = await world.payment_inbox.receive_webhook(body, signature)
        assert receipt.key is not None
        # Processed whatever the outcome: stricter than the route (which processes only
        # the accepted one), as if every retry and the worker ran it too.
        await world.payment_inbox.process(receipt.key)
        return receipt.outcome

    outcomes = await asyncio.gather(*(deliver_and_process() for _ in range(20)))

    assert Counter(outcomes) == {WebhookOutcome.ACCEPTED: 1, WebhookOutcome.DUPLICATE: 19}
    inbox = await world.inbox_event(f"paystack:charge_succeeded:{reference}")
    assert inbox is not None
    assert inbox.is_processed
    await assert_paid_exactly_once(world, show, order, quantity)


async def test_given_a_late_payment_reported_twice_at_once_with_stock_for_it_then_it_is_paid(
    world: InterleavingWorld,
) -> None:
    # Paystack's webhook is acknowledged, and while it is applied in the background the
    # buyer's browser comes back to /payments/verify: routine, not a corner case.
    show = await world.a_published_event(regular_capacity=3)
    order, reference = await a_paid_checkout(world, show, 2, after_expiry=True)
    receipt = await world.deliver_webhook("charge.success", reference)
    assert receipt.key is not None

    await asyncio.gather(
        world.payment_inbox.process(receipt.key), world.payment_results.verify_payment(reference)
    )

    assert (await world.stored_order(order.id)).status is OrderStatus.PAID
    assert world.gateway.refunds == []
    assert await world.level(show.regular_id) == StockLevel(capacity=3, held=0, sold=2)


# ---------------------------------------------------------------------- the door


async def test_given_one_ticket_scanned_at_10_doors_at_once_then_it_gets_in_once(
    world: InterleavingWorld,
) -> None:
    show = await world.a_published_event()
    [ticket] = (await world.place_order(show, community=1)).tickets

    results = await asyncio.gather(
        *(
            world.checkin.check_in(show.organizer, show.event_id, ticket.qr_payload)
            for _ in range(10)
        )
    )

    assert Counter(result.outcome for result in results) == {
        CheckInOutcome.OK: 1,
        CheckInOutcome.ALREADY_CHECKED_IN: 9,
    }
    async with world.uow() as uow:
        stored = await uow.tickets.get(ticket.id)
    assert stored is not None
    assert (stored.status, stored.checked_in_at) == (TicketStatus.CHECKED_IN, world.clock.now())


# ---------------------------------------------------------------------- cancel against pay


async def after_pauses(pauses: int, work: Awaitable[T]) -> T:
    for _ in range(pauses):
        await asyncio.sleep(0)
    return await work


async def race_cancel_against_payment(cancel_pauses: int, pay_pauses: int) -> str:
    """One buyer cancels while Paystack's success is being verified; returns how it
    ended, having checked that the ending is legal and the books balance."""
    world = InterleavingWorld()
    show = await world.a_published_event()
    placed = await world.place_order(show, regular=2, buyer=WITH_PHONE)
    reference = await world.start_payment(placed)
    world.gateway.pay(reference)

    cancelled, applied = await asyncio.gather(
        after_pauses(cancel_pauses, world.ordering.cancel_order(placed.order.id, by_token(placed))),
        after_pauses(pay_pauses, world.payment_results.verify_payment(reference)),
        return_exceptions=True,
    )

    order = await world.stored_order(placed.order.id)
    tickets = await world.stored_tickets(order.id)
    stock, valid_tickets, paid_units = await books_of(world, show)
    assert stock.available + stock.held + stock.sold == stock.capacity
    assert stock.held == 0
    assert stock.sold == valid_tickets == paid_units
    assert isinstance(applied, AppliedPayment)
    if order.status is OrderStatus.PAID:
        # Paid first: the cancel came too late and was refused.
        assert isinstance(cancelled, InvalidStateError)
        assert applied.outcome is PaymentOutcome.PAID
        assert [t.status for t in tickets] == [TicketStatus.VALID] * 2
        assert stock.sold == 2
        assert world.gateway.refunds == []
        return "paid"
    # Cancelled first: the money that arrives for it goes back, and it buys nothing.
    assert order.status is OrderStatus.REFUNDED
    assert isinstance(cancelled, Order)
    assert cancelled.status is OrderStatus.CANCELLED
    assert applied.outcome is PaymentOutcome.REFUNDED
    assert not order.refund_due
    assert tickets == []
    assert await world.outbox(order.id) == []
    assert stock.sold == 0
    assert [refund.reference for refund in world.gateway.refunds] == [reference]
    return "cancelled_then_refunded"


async def test_given_a_cancel_racing_a_payment_then_every_interleaving_ends_legally() -> None:
    # Starting either side some pauses later walks the race through every point where
    # one can overtake the other: each side pauses fewer than 16 times in all.
    endings = Counter(
        [await race_cancel_against_payment(pauses, 0) for pauses in range(16)]
        + [await race_cancel_against_payment(0, pauses) for pauses in range(1, 16)]
    )

    # Both endings happen, so both branches above were really checked.
    assert set(endings) == {"paid", "cancelled_then_refunded"}
