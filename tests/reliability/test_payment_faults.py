"""Payments under provider faults: the use cases over the real Paystack adapter, talking
HTTP to the sandbox's Paystack simulator with faults injected (500, 429, timeout, lost
response) on initialize and on verify; no webhook at all; concurrent identical webhooks.

After each: the order is paid exactly once, its tickets and messages exist once, the
stock adds up (never oversold), and no order is half written (paid with its tickets and
messages, or pending with none).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from getiickets.adapters.paystack import PaystackGateway
from getiickets.domain.model.errors import PaymentProviderUnavailableError
from getiickets.domain.model.orders import OrderStatus
from getiickets.domain.usecases.ordering import PlacedOrder
from getiickets.domain.usecases.payment_inbox import WebhookOutcome
from getiickets.sandbox.state import FaultKind
from tests.contract.sandbox_server import serve_sandbox
from tests.contract.test_paystack_adapter import (
    Sandbox,
    make_gateway,
    pay,
    paystack_client,
    sandbox_config,
)
from tests.unit.world import EventOnSale, World, by_token

pytestmark = [pytest.mark.slow]

CAPACITY = 5
QUANTITY = 2


@pytest.fixture(scope="module")
def sandbox_module() -> Iterator[Sandbox]:
    with serve_sandbox(sandbox_config, Sandbox) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_module: Sandbox) -> Sandbox:
    return sandbox_module.cleared()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with paystack_client() as client:
        yield client


def world_on(gateway: PaystackGateway) -> World:
    """A World whose payments talk to the simulator through the real adapter.

    Its own id seed: the simulator outlives the test, and references must not repeat."""
    world = World(seed=secrets.randbelow(2**31))
    world.use_gateway(gateway)
    return world


async def an_order(world: World) -> tuple[EventOnSale, PlacedOrder]:
    show = await world.a_published_event(regular_capacity=CAPACITY)
    return show, await world.place_order(show, regular=QUANTITY)


async def assert_whole(world: World, show: EventOnSale, placed: PlacedOrder) -> None:
    """Paid exactly once, or still pending with nothing issued; stock adds up."""
    order = await world.stored_order(placed.order.id)
    tickets = await world.stored_tickets(order.id)
    messages = await world.outbox(order.id)
    level = await world.level(show.regular_id)
    assert level.available + level.held + level.sold == CAPACITY
    assert level.sold <= CAPACITY
    if order.status is OrderStatus.PAID:
        assert len(tickets) == QUANTITY
        assert len({ticket.id for ticket in tickets}) == QUANTITY
        assert len({message.id for message in messages}) == len(messages) >= 1
        assert level.sold == QUANTITY
    else:
        assert (order.status, tickets, messages, level.sold) == (OrderStatus.PENDING, [], [], 0)


FAULTS = [FaultKind.SERVER_ERROR, FaultKind.RATE_LIMITED, FaultKind.TIMEOUT]


@pytest.mark.parametrize("fault", [*FAULTS, FaultKind.LOST_RESPONSE])
async def test_a_fault_on_initialize_still_ends_in_a_usable_checkout_and_one_sale(
    client: httpx.AsyncClient, sandbox: Sandbox, fault: FaultKind
) -> None:
    world = world_on(make_gateway(client, sandbox))
    show, placed = await an_order(world)
    sandbox.plan(1, fault)

    checkout = await world.checkout.initialize_payment(placed.order.id, by_token(placed))
    await pay(checkout)
    applied = await world.payment_results.verify_payment(checkout.reference)

    assert applied.order.status is OrderStatus.PAID
    await assert_whole(world, show, placed)


async def test_initialize_failing_past_its_retries_answers_plainly_and_a_retry_recovers(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    world = world_on(make_gateway(client, sandbox))
    show, placed = await an_order(world)
    sandbox.plan(10, FaultKind.LOST_RESPONSE)

    with pytest.raises(PaymentProviderUnavailableError) as raised:
        await world.checkout.initialize_payment(placed.order.id, by_token(placed))
    assert "paystack" not in raised.value.detail.lower()
    assert "duplicate" not in raised.value.detail.lower()
    await assert_whole(world, show, placed)

    with sandbox.state.lock:
        sandbox.state.paystack.faults.clear()
    checkout = await world.checkout.initialize_payment(placed.order.id, by_token(placed))
    await pay(checkout)
    await world.payment_results.verify_payment(checkout.reference)
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PAID
    await assert_whole(world, show, placed)


@pytest.mark.parametrize("fault", [*FAULTS, FaultKind.LOST_RESPONSE])
async def test_a_fault_on_verify_is_retried_and_the_order_paid_once(
    client: httpx.AsyncClient, sandbox: Sandbox, fault: FaultKind
) -> None:
    world = world_on(make_gateway(client, sandbox))
    show, placed = await an_order(world)
    checkout = await world.checkout.initialize_payment(placed.order.id, by_token(placed))
    await pay(checkout)
    sandbox.plan(1, fault)

    applied = await world.payment_results.verify_payment(checkout.reference)
    again = await world.payment_results.verify_payment(checkout.reference)

    assert applied.order.status is OrderStatus.PAID
    assert again.outcome == "already_applied"
    await assert_whole(world, show, placed)


async def test_verify_down_past_its_retries_changes_nothing_and_the_worker_pays_later(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    world = world_on(make_gateway(client, sandbox))
    show, placed = await an_order(world)
    checkout = await world.checkout.initialize_payment(placed.order.id, by_token(placed))
    await pay(checkout)
    sandbox.plan(10, FaultKind.SERVER_ERROR)

    with pytest.raises(PaymentProviderUnavailableError):
        await world.payment_results.verify_payment(checkout.reference)
    await assert_whole(world, show, placed)

    with sandbox.state.lock:
        sandbox.state.paystack.faults.clear()
    world.advance(31)
    await world.payment_inbox.retry_inbox()
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PAID
    await assert_whole(world, show, placed)


async def test_with_no_webhook_at_all_the_poll_pays_the_order_long_before_expiry(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    world = world_on(make_gateway(client, sandbox))
    show, placed = await an_order(world)
    checkout = await world.checkout.initialize_payment(placed.order.id, by_token(placed))
    await pay(checkout)  # the simulator's webhook goes elsewhere: this app never sees it

    world.advance(31)
    await world.payment_inbox.retry_inbox()

    order = await world.stored_order(placed.order.id)
    assert order.status is OrderStatus.PAID
    assert world.clock.now() < order.expires_at - (order.expires_at - order.created_at) / 2
    await assert_whole(world, show, placed)


async def test_five_concurrent_identical_signed_webhooks_make_one_sale() -> None:
    world = World()
    show, placed = await an_order(world)
    reference = await world.start_payment(placed)
    world.gateway.pay(reference)
    body = world.gateway.webhook_body("charge.success", reference)
    signature = world.gateway.sign(body)

    async def deliver() -> WebhookOutcome:
        receipt = await world.payment_inbox.receive_webhook(body, signature)
        if receipt.outcome is WebhookOutcome.ACCEPTED and receipt.key is not None:
            await world.payment_inbox.process(receipt.key)
        return receipt.outcome

    outcomes = await asyncio.gather(*(deliver() for _ in range(5)))

    assert sorted(outcomes) == ["accepted"] + ["duplicate"] * 4
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PAID
    await assert_whole(world, show, placed)
    messages = await world.outbox(placed.order.id)
    assert len(messages) == len({(m.channel, m.template, m.recipient) for m in messages})
