"""Deliveries arriving together are stored in one unit of work, each answered once its
unit committed; a unit that fails leaves each delivery to be stored alone."""

from __future__ import annotations

import asyncio

import pytest

from getiickets.domain.model.errors import ConflictError
from getiickets.domain.model.orders import OrderStatus
from getiickets.domain.usecases.payment_inbox import PaymentInbox, WebhookOutcome, WebhookReceipt
from getiickets.ports.unit_of_work import UnitOfWork
from tests.unit.world import EventOnSale, World

pytestmark = pytest.mark.unit


@pytest.fixture
async def show(world: World) -> EventOnSale:
    return await world.a_published_event()


class Units:
    """The world's unit factory, counting the units opened and failing some commits."""

    def __init__(self, world: World, failing_commits: int = 0) -> None:
        self._world = world
        self.opened = 0
        self.failing_commits = failing_commits

    def __call__(self) -> UnitOfWork:
        self.opened += 1
        unit = self._world.uow()
        if self.failing_commits:
            self.failing_commits -= 1

            async def failing() -> None:
                await unit.rollback()
                raise ConflictError("someone else changed a row")

            unit.commit = failing  # type: ignore[method-assign]
        return unit


def inbox_on(world: World, units: Units) -> PaymentInbox:
    return PaymentInbox(
        uow=units,
        gateway=world.gateway,
        results=world.payment_results,
        refunds=world.refunds,
        clock=world.clock,
    )


async def paid_references(world: World, show: EventOnSale, count: int) -> dict[str, str]:
    """Order id -> its payment reference, paid at the provider; we are told nothing yet."""
    references = {}
    for _ in range(count):
        placed = await world.place_order(show, regular=1)
        reference = await world.start_payment(placed)
        world.gateway.pay(reference)
        references[placed.order.id] = reference
    return references


async def deliver_together(
    inbox: PaymentInbox, world: World, references: list[str]
) -> list[WebhookReceipt]:
    bodies = [world.gateway.webhook_body("charge.success", ref) for ref in references]
    return list(
        await asyncio.gather(
            *(inbox.receive_webhook(body, world.gateway.sign(body)) for body in bodies)
        )
    )


async def test_deliveries_arriving_together_are_stored_in_one_unit(
    world: World, show: EventOnSale
) -> None:
    references = await paid_references(world, show, 5)
    units = Units(world)
    inbox = inbox_on(world, units)

    receipts = await deliver_together(inbox, world, list(references.values()))

    assert [receipt.outcome for receipt in receipts] == [WebhookOutcome.ACCEPTED] * 5
    assert units.opened == 1
    for receipt in receipts:
        assert receipt.key is not None
        stored = await world.inbox_event(receipt.key)
        assert stored is not None
        assert stored.payload  # durable before the answer
        await inbox.process(receipt.key, receipt.stored)
    orders = [await world.stored_order(order_id) for order_id in references]
    assert {order.status for order in orders} == {OrderStatus.PAID}
    assert len(world.db.tickets.rows) == 5


async def test_two_deliveries_of_one_event_in_one_unit_are_accepted_once(
    world: World, show: EventOnSale
) -> None:
    [reference] = (await paid_references(world, show, 1)).values()
    inbox = inbox_on(world, Units(world))

    receipts = await deliver_together(inbox, world, [reference, reference, reference])

    assert sorted(receipt.outcome for receipt in receipts) == sorted(
        [WebhookOutcome.ACCEPTED, WebhookOutcome.DUPLICATE, WebhookOutcome.DUPLICATE]
    )


async def test_when_the_shared_unit_fails_each_delivery_is_stored_alone(
    world: World, show: EventOnSale
) -> None:
    references = await paid_references(world, show, 3)
    units = Units(world, failing_commits=1)
    inbox = inbox_on(world, units)

    receipts = await deliver_together(inbox, world, list(references.values()))

    assert [receipt.outcome for receipt in receipts] == [WebhookOutcome.ACCEPTED] * 3
    assert units.opened == 1 + 3
    for receipt in receipts:
        assert receipt.key is not None
        stored = await world.inbox_event(receipt.key)
        assert stored is not None
        assert stored.payload
