"""A payment is applied when it happens, not when the reservation ends.

Defect 4 of the production review: the inbox key was event + reference and any
delivery closed its row, so a signed ``charge.success`` seen while the transaction was
still unpaid made the real one a duplicate; and with no webhook at all the order was
only settled by the sweep at expiry, 15 minutes later. Now a delivery whose verification
finds nothing to apply leaves its row open, and the worker checks every initialized
payment on a backoff (30 s, 1, 2, 5 min, then every 5 min).
"""

from __future__ import annotations

import pytest

from getiickets.domain.model.orders import OrderStatus
from getiickets.domain.model.payments import PAYMENT_CHECK_BACKOFF
from getiickets.domain.usecases.payment_inbox import WebhookOutcome
from tests.unit.world import World

pytestmark = pytest.mark.unit


async def test_an_early_charge_success_does_not_turn_the_real_one_into_a_duplicate() -> None:
    world = World()
    show = await world.a_published_event()
    placed = await world.place_order(show, regular=2)
    reference = await world.start_payment(placed)
    early = await world.deliver_webhook("charge.success", reference)  # not paid yet
    assert early.key is not None
    await world.payment_inbox.process(early.key)
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PENDING

    world.gateway.pay(reference)
    real = await world.deliver_webhook("charge.success", reference)

    assert real.outcome is WebhookOutcome.ACCEPTED
    assert real.key == early.key
    await world.payment_inbox.process(real.key)
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PAID
    assert len(await world.stored_tickets(placed.order.id)) == 2
    inbox = await world.inbox_event(real.key)
    assert inbox is not None
    assert inbox.is_processed


async def test_with_no_webhook_at_all_the_worker_pays_the_order_within_a_minute() -> None:
    world = World()
    show = await world.a_published_event()
    placed = await world.place_order(show, regular=1)
    reference = await world.start_payment(placed)
    world.gateway.pay(reference)

    world.advance(10)
    await world.payment_inbox.retry_inbox()
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PENDING

    world.advance(25)
    await world.payment_inbox.retry_inbox()

    order = await world.stored_order(placed.order.id)
    assert order.status is OrderStatus.PAID
    assert order.paid_at is not None
    assert (order.paid_at - order.created_at).total_seconds() < 60
    assert len(await world.stored_tickets(order.id)) == 1
    assert (await world.level(show.regular_id)).sold == 1


async def test_an_unpaid_checkout_is_checked_on_a_backoff_until_it_expires() -> None:
    world = World()
    show = await world.a_published_event()
    placed = await world.place_order(show, regular=1)
    await world.start_payment(placed)
    started = world.clock.now()
    checked_at = []

    while (world.clock.now() - started).total_seconds() < 14 * 60:
        world.advance(5)
        before = world.gateway.verify_calls
        await world.payment_inbox.retry_inbox()
        if world.gateway.verify_calls > before:
            checked_at.append(round((world.clock.now() - started).total_seconds()))

    gaps = [b - a for a, b in zip([0, *checked_at], checked_at, strict=False)]
    expected = [round(step.total_seconds()) for step in PAYMENT_CHECK_BACKOFF]
    assert [round(gap, -1) for gap in gaps[:4]] == expected
    assert all(abs(gap - expected[-1]) <= 5 for gap in gaps[4:])
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PENDING
