"""The one-connection rule: no inventory or provider call while a unit of work is open.

Through a pooler URL with ``connection_limit=1`` such a call waits forever for the
connection its own unit holds. The fakes refuse it (``adapters/memory/connections``),
so every story in the unit suite also proves the rule; these tests prove the fakes
refuse, and walk the payment paths that used to break it.
"""

from __future__ import annotations

import msgspec
import pytest

from getiickets.adapters.memory.connections import UnitOfWorkHeldError
from getiickets.domain.model.errors import PaymentProviderUnavailableError
from getiickets.domain.model.orders import OrderStatus
from getiickets.domain.usecases.payment_results import PaymentOutcome
from tests.unit.world import World

pytestmark = pytest.mark.unit


async def test_the_inventory_refuses_to_act_inside_an_open_unit_of_work() -> None:
    world = World()
    show = await world.a_published_event()
    async with world.uow():
        with pytest.raises(UnitOfWorkHeldError):
            await world.inventory.level(show.regular_id)
    # Closed (by the block's end, or by commit inside it): allowed again.
    assert (await world.inventory.level(show.regular_id)).available == 50
    async with world.uow() as uow:
        await uow.commit()
        assert (await world.inventory.level(show.regular_id)).available == 50


async def test_the_payment_gateway_refuses_to_be_called_inside_an_open_unit_of_work() -> None:
    world = World()
    async with world.uow():
        with pytest.raises(UnitOfWorkHeldError):
            await world.gateway.verify("TKT-1-none")


async def test_a_payment_confirms_its_holds_outside_any_unit_of_work() -> None:
    """Defect: payments confirmed the holds inside the unit that applied them."""
    world = World()
    show = await world.a_published_event()
    placed = await world.place_order(show, regular=2)

    applied = await world.pay(placed)

    assert applied.outcome is PaymentOutcome.PAID
    assert (await world.level(show.regular_id)).sold == 2


async def test_a_late_payment_retakes_stock_outside_any_unit_of_work() -> None:
    world = World()
    show = await world.a_published_event()
    placed = await world.place_order(show, regular=1)
    reference = await world.start_payment(placed)
    world.advance(16 * 60)
    world.gateway.fail_next(1, PaymentProviderUnavailableError("down"), on="verify")
    await world.expiry.expire_due_orders()
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.EXPIRED
    world.gateway.pay(reference)

    applied = await world.payment_results.verify_payment(reference)

    assert applied.outcome is PaymentOutcome.PAID
    assert (await world.level(show.regular_id)).sold == 1


async def test_the_order_book_refuses_to_record_inside_an_open_unit_of_work() -> None:
    """Its SQL adapter writes on a pooled connection of its own (a shared commit)."""
    world = World()
    show = await world.a_published_event()
    placed = await world.place_order(show, regular=1)
    order = msgspec.structs.replace(placed.order, id="another", order_number="GT-0000-0001")
    async with world.uow():
        with pytest.raises(UnitOfWorkHeldError):
            await world.orders.record(order)
