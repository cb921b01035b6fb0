"""One lost Paystack answer must not make an order unpayable (defect 3 of issue 8).

Paystack refuses a reused reference (``duplicate_reference``) and never hands its
checkout link out again. When the first answer was lost, the order moves to a fresh
reference; it keeps knowing the older ones, so a late success on one of them is still
applied to it, and a second success is refunded, never kept twice.
"""

from __future__ import annotations

import pytest

from getiickets.domain.model.errors import (
    CheckoutUnavailableError,
    PaymentProviderError,
    PaymentProviderUnavailableError,
)
from getiickets.domain.model.orders import OrderStatus
from getiickets.domain.usecases.payment_results import PaymentOutcome
from tests.unit.world import World, by_token

pytestmark = pytest.mark.unit


async def lose_the_first_checkout(world: World):  # type: ignore[no-untyped-def]
    show = await world.a_published_event()
    placed = await world.place_order(show, regular=2)
    # Paystack created the transaction, the answer never came back; the gateway, asked
    # again, meets duplicate_reference with no link to give.
    world.gateway.lose_next_initialize_answer()
    with pytest.raises(PaymentProviderUnavailableError):
        await world.checkout.initialize_payment(placed.order.id, by_token(placed))
    lost = (await world.stored_order(placed.order.id)).payment_reference
    assert lost is not None
    return show, placed, lost


async def test_after_a_lost_initialize_answer_a_retry_ends_in_a_usable_checkout() -> None:
    world = World()
    show, placed, lost = await lose_the_first_checkout(world)

    checkout = await world.checkout.initialize_payment(placed.order.id, by_token(placed))

    assert checkout.reference != lost
    assert checkout.authorization_url
    world.gateway.pay(checkout.reference)
    applied = await world.payment_results.verify_payment(checkout.reference)
    assert applied.outcome is PaymentOutcome.PAID
    assert (await world.level(show.regular_id)).sold == 2


async def test_a_late_success_on_the_lost_reference_is_still_applied_to_the_order() -> None:
    world = World()
    _, placed, lost = await lose_the_first_checkout(world)
    await world.checkout.initialize_payment(placed.order.id, by_token(placed))

    world.gateway.pay(lost)
    applied = await world.payment_results.verify_payment(lost)

    assert applied.outcome is PaymentOutcome.PAID
    order = await world.stored_order(placed.order.id)
    assert order.status is OrderStatus.PAID
    assert order.payment_reference == lost  # the reference that paid is the one refunded
    assert len(await world.stored_tickets(order.id)) == 2


async def test_both_references_paid_means_one_sale_and_the_second_charge_refunded() -> None:
    world = World()
    show, placed, lost = await lose_the_first_checkout(world)
    fresh = (await world.checkout.initialize_payment(placed.order.id, by_token(placed))).reference
    world.gateway.pay(fresh)
    world.gateway.pay(lost)

    first = await world.payment_results.verify_payment(fresh)
    second = await world.payment_results.verify_payment(lost)
    again = await world.payment_results.verify_payment(lost)

    assert first.outcome is PaymentOutcome.PAID
    assert second.outcome is PaymentOutcome.DOUBLE_CHARGE_REFUNDED
    assert again.outcome is PaymentOutcome.ALREADY_APPLIED  # reversed now: nothing to do
    assert [refund.reference for refund in world.gateway.refunds] == [lost]
    order = await world.stored_order(placed.order.id)
    assert (order.status, order.payment_reference) == (OrderStatus.PAID, fresh)
    assert len(await world.stored_tickets(order.id)) == 2
    assert (await world.level(show.regular_id)).sold == 2


async def test_a_decline_on_an_old_reference_leaves_the_order_alone() -> None:
    world = World()
    _, placed, lost = await lose_the_first_checkout(world)
    await world.checkout.initialize_payment(placed.order.id, by_token(placed))

    world.gateway.decline(lost)
    await world.payment_results.verify_payment(lost)

    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PENDING


async def test_a_provider_refusal_answers_unavailable_without_internal_wording() -> None:
    world = World()
    show = await world.a_published_event()
    placed = await world.place_order(show, regular=1)
    world.gateway.fail_next(1, PaymentProviderError("Invalid key sk_live_x"), on="initialize")

    with pytest.raises(PaymentProviderUnavailableError) as raised:
        await world.checkout.initialize_payment(placed.order.id, by_token(placed))

    assert "sk_live" not in raised.value.detail
    assert "Invalid key" not in raised.value.detail
    assert CheckoutUnavailableError.__mro__  # the gateway's "link lost" signal exists
