"""Stories of money arriving: on time, late, twice, wrong, forged, or not at all."""

from __future__ import annotations

import copy
from datetime import timedelta

import msgspec
import pytest

from getiickets.domain.model.errors import (
    InvalidSignatureError,
    InvalidStateError,
    NotFoundError,
    PaymentProviderUnavailableError,
)
from getiickets.domain.model.inventory import StockLevel
from getiickets.domain.model.local_time import readable_time
from getiickets.domain.model.money import Money
from getiickets.domain.model.notifications import Channel
from getiickets.domain.model.orders import Buyer, OrderStatus
from getiickets.domain.model.payments import DELIVERY_CLAIM, PaymentInitialization
from getiickets.domain.model.tickets import TicketStatus
from getiickets.domain.usecases.access import OrderAccess
from getiickets.domain.usecases.ordering import PlacedOrder
from getiickets.domain.usecases.payment_inbox import PaymentInbox, WebhookOutcome
from getiickets.domain.usecases.payment_results import PaymentOutcome
from getiickets.ports.payments import PaymentRequest
from getiickets.ports.unit_of_work import UnitOfWork
from tests.unit.world import CALLBACK_URL, EventOnSale, World, by_token

RESERVATION_SECONDS = 900
WITH_PHONE = Buyer(email="ada@example.com", name="Ada", phone="+2348012345678")


def level(capacity: int, *, held: int = 0, sold: int = 0) -> StockLevel:
    return StockLevel(capacity=capacity, held=held, sold=sold)


@pytest.fixture
async def show(world: World) -> EventOnSale:
    return await world.a_published_event()


async def paid_at_the_provider(
    world: World, show: EventOnSale, *, regular: int = 1
) -> tuple[PlacedOrder, str]:
    """An order placed and paid on the provider's page; we are told nothing yet."""
    placed = await world.place_order(show, regular=regular)
    reference = await world.start_payment(placed)
    world.gateway.pay(reference)
    return placed, reference


def record_initializations(world: World, monkeypatch: pytest.MonkeyPatch) -> list[PaymentRequest]:
    """Spy on what the app asks the provider for, while the fake still answers."""
    requests: list[PaymentRequest] = []
    initialize = world.gateway.initialize

    async def recording(request: PaymentRequest) -> PaymentInitialization:
        requests.append(request)
        return await initialize(request)

    monkeypatch.setattr(world.gateway, "initialize", recording)
    return requests


# ---------------------------------------------------------------------- starting a checkout


async def test_given_a_pending_order_when_checkout_starts_twice_then_it_is_the_same_payment(
    world: World, show: EventOnSale, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = record_initializations(world, monkeypatch)
    placed = await world.place_order(show, regular=2)

    first = await world.checkout.initialize_payment(placed.order.id, by_token(placed))
    second = await world.checkout.initialize_payment(placed.order.id, by_token(placed))

    assert first == second
    assert (await world.stored_order(placed.order.id)).payment_reference == first.reference
    # The checkout is kept on the order: Paystack refuses a reused reference.
    [request] = requests
    assert request.reference == first.reference
    assert request.amount.subunits == 1_000_000  # 10000.00 NGN in kobo
    assert request.amount.currency == "NGN"
    assert request.email == placed.order.buyer.email
    starts_at = world.clock.now() + timedelta(days=30)  # a_published_event's default
    assert request.metadata == {
        "orderId": placed.order.id,
        "eventId": show.event_id,
        # What the payer sees on the checkout page: the event and its local time.
        "event": "Lagos Jazz Night",
        "eventStarts": readable_time(starts_at, "Africa/Lagos"),
    }
    assert request.callback_url == f"{CALLBACK_URL}?order_id={placed.order.id}"


async def test_given_the_provider_down_at_checkout_when_retried_then_the_reference_is_kept(
    world: World, show: EventOnSale, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = record_initializations(world, monkeypatch)
    placed = await world.place_order(show, regular=1)
    world.gateway.fail_next(1, PaymentProviderUnavailableError())

    with pytest.raises(PaymentProviderUnavailableError):
        await world.checkout.initialize_payment(placed.order.id, by_token(placed))
    world.advance(5)
    started = await world.checkout.initialize_payment(placed.order.id, by_token(placed))

    assert [request.reference for request in requests] == [started.reference, started.reference]
    assert (await world.stored_order(placed.order.id)).payment_reference == started.reference


async def test_the_reference_is_tkt_with_the_time_in_ms(world: World, show: EventOnSale) -> None:
    placed = await world.place_order(show, regular=1)

    reference = await world.start_payment(placed)

    prefix, unix_ms, unique = reference.split("-", 2)
    assert prefix == "TKT"
    assert int(unix_ms) == int(world.clock.now().timestamp() * 1000)
    assert len(unique) == 36


async def test_given_an_order_that_is_not_pending_then_checkout_is_an_invalid_state(
    world: World, show: EventOnSale
) -> None:
    never_started = await world.place_order(show, regular=1)
    await world.ordering.cancel_order(never_started.order.id, by_token(never_started))
    started = await world.place_order(show, regular=1)
    await world.start_payment(started)
    await world.ordering.cancel_order(started.order.id, by_token(started))
    free = await world.place_order(show, community=1)

    for placed in (never_started, started, free):
        with pytest.raises(InvalidStateError):
            await world.checkout.initialize_payment(placed.order.id, by_token(placed))

    assert world.gateway.initialize_calls == 1


async def test_checkout_of_someone_elses_order_is_not_found(
    world: World, show: EventOnSale
) -> None:
    placed = await world.place_order(show, regular=1)
    stranger = await world.a_buyer()

    with pytest.raises(NotFoundError):
        await world.checkout.initialize_payment(placed.order.id, OrderAccess(actor=stranger.actor))

    assert (await world.stored_order(placed.order.id)).payment_reference is None


# ---------------------------------------------------------------------- paying on time


async def test_given_the_customer_paid_when_verified_then_the_order_is_paid_with_its_tickets(
    world: World, show: EventOnSale
) -> None:
    placed = await world.place_order(show, regular=2, buyer=WITH_PHONE)

    applied = await world.pay(placed)

    assert applied.outcome is PaymentOutcome.PAID
    order = await world.stored_order(placed.order.id)
    assert order.status is OrderStatus.PAID
    assert order.paid_at == world.clock.now()
    tickets = await world.stored_tickets(order.id)
    assert len(tickets) == 2
    assert {ticket.ticket_type_id for ticket in tickets} == {show.regular_id}
    assert sorted(m.channel for m in await world.outbox(order.id)) == [Channel.EMAIL, Channel.SMS]
    assert await world.level(show.regular_id) == level(50, sold=2)


async def test_given_a_paid_order_when_verified_again_then_nothing_more_happens(
    world: World, show: EventOnSale
) -> None:
    placed = await world.place_order(show, regular=2)
    first = await world.pay(placed)
    assert first.order.payment_reference is not None

    again = await world.payment_results.verify_payment(first.order.payment_reference)

    assert again.outcome is PaymentOutcome.ALREADY_APPLIED
    assert len(await world.stored_tickets(placed.order.id)) == 2
    assert len(await world.outbox(placed.order.id)) == 1
    assert await world.level(show.regular_id) == level(50, sold=2)


async def test_given_verify_and_webhooks_all_reporting_one_payment_then_tickets_are_issued_once(
    world: World, show: EventOnSale
) -> None:
    placed, reference = await paid_at_the_provider(world, show, regular=3)
    first = await world.deliver_webhook("charge.success", reference)
    assert first.key is not None

    verified = await world.payment_results.verify_payment(reference)
    await world.payment_inbox.process(first.key)
    again = await world.deliver_webhook("charge.success", reference)
    await world.payment_inbox.process(first.key)
    verified_again = await world.payment_results.verify_payment(reference)

    assert verified.outcome is PaymentOutcome.PAID
    assert again.outcome is WebhookOutcome.DUPLICATE
    assert verified_again.outcome is PaymentOutcome.ALREADY_APPLIED
    inbox = await world.inbox_event(first.key)
    assert inbox is not None
    assert inbox.is_processed
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PAID
    assert len(await world.stored_tickets(placed.order.id)) == 3
    assert len(await world.outbox(placed.order.id)) == 1
    assert await world.level(show.regular_id) == level(50, sold=3)


async def test_given_a_payment_for_another_amount_then_the_order_is_not_paid_and_it_is_noted(
    world: World, show: EventOnSale
) -> None:
    placed = await world.place_order(show, regular=2)

    applied = await world.pay(placed, amount=Money.parse("100.00"))

    assert applied.outcome is PaymentOutcome.MISMATCH
    order = await world.stored_order(placed.order.id)
    assert order.status is OrderStatus.PENDING
    assert order.payment_issue == (
        "payment_mismatch: provider reported 100.00 NGN, order total is 10000.00 NGN"
    )
    assert await world.stored_tickets(order.id) == []
    assert await world.outbox(order.id) == []
    assert await world.level(show.regular_id) == level(50, held=2)


async def test_given_a_declined_charge_when_verified_then_the_order_failed_and_stock_is_back(
    world: World, show: EventOnSale
) -> None:
    placed = await world.place_order(show, regular=2)
    reference = await world.start_payment(placed)
    world.gateway.decline(reference)

    applied = await world.payment_results.verify_payment(reference)

    assert applied.outcome is PaymentOutcome.FAILED
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.FAILED
    assert await world.level(show.regular_id) == level(50)


async def test_given_an_abandoned_checkout_when_verified_then_the_order_waits(
    world: World, show: EventOnSale
) -> None:
    placed = await world.place_order(show, regular=2)
    reference = await world.start_payment(placed)

    applied = await world.payment_results.verify_payment(reference)

    assert applied.outcome is PaymentOutcome.PENDING
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PENDING
    assert await world.level(show.regular_id) == level(50, held=2)


async def test_verifying_a_blank_or_unknown_reference_is_not_found(world: World) -> None:
    for reference in ("", "   ", "TKT-0-unknown"):
        with pytest.raises(NotFoundError):
            await world.payment_results.verify_payment(reference)


# ---------------------------------------------------------------------- webhooks


async def test_given_a_signed_charge_success_webhook_when_processed_then_the_order_is_paid(
    world: World, show: EventOnSale
) -> None:
    placed, reference = await paid_at_the_provider(world, show)

    receipt = await world.deliver_webhook("charge.success", reference)

    assert receipt.outcome is WebhookOutcome.ACCEPTED
    assert receipt.key == f"paystack:charge_succeeded:{reference}"
    stored = await world.inbox_event(receipt.key)
    assert stored is not None
    assert not stored.is_processed
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PENDING

    await world.payment_inbox.process(receipt.key)

    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PAID
    assert len(await world.stored_tickets(placed.order.id)) == 1
    processed = await world.inbox_event(receipt.key)
    assert processed is not None
    assert processed.processed_at == world.clock.now()


async def test_a_webhook_body_is_never_trusted_the_provider_is_asked(
    world: World, show: EventOnSale
) -> None:
    # A correctly signed "charge.success" for a checkout the customer never paid
    # (say, replayed from elsewhere): the provider says abandoned, so nothing is paid.
    placed = await world.place_order(show, regular=1)
    reference = await world.start_payment(placed)
    body = msgspec.json.encode({"event": "charge.success", "data": {"reference": reference}})
    receipt = await world.payment_inbox.receive_webhook(body, world.gateway.sign(body))
    assert receipt.key is not None

    await world.payment_inbox.process(receipt.key)

    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PENDING


@pytest.mark.parametrize("signature", ["", "0" * 128, "not hex at all", "é"])
async def test_given_a_forged_signature_then_the_webhook_is_refused_and_nothing_stored(
    world: World, show: EventOnSale, signature: str
) -> None:
    _, reference = await paid_at_the_provider(world, show)
    body = world.gateway.webhook_body("charge.success", reference)
    # The checkout opened its payment's event row; the refused webhook adds or changes none.
    before = copy.deepcopy(world.db.payment_inbox.rows)

    with pytest.raises(InvalidSignatureError):
        await world.payment_inbox.receive_webhook(body, signature)

    assert world.db.payment_inbox.rows == before


async def test_given_a_signature_of_another_body_then_the_webhook_is_refused(
    world: World, show: EventOnSale
) -> None:
    _, reference = await paid_at_the_provider(world, show)
    genuine = world.gateway.webhook_body("charge.success", reference)
    tampered = genuine.replace(b'"amount":500000', b'"amount":1')
    assert tampered != genuine
    before = copy.deepcopy(world.db.payment_inbox.rows)

    with pytest.raises(InvalidSignatureError):
        await world.payment_inbox.receive_webhook(tampered, world.gateway.sign(genuine))

    assert world.db.payment_inbox.rows == before


async def test_given_the_same_webhook_twice_then_the_second_is_a_duplicate(
    world: World, show: EventOnSale
) -> None:
    _, reference = await paid_at_the_provider(world, show)

    first = await world.deliver_webhook("charge.success", reference)
    second = await world.deliver_webhook("charge.success", reference)

    assert first.outcome is WebhookOutcome.ACCEPTED
    assert second.outcome is WebhookOutcome.DUPLICATE
    assert second.key == first.key
    assert len(world.db.payment_inbox.rows) == 1


async def test_a_repeated_webhook_is_told_apart_in_one_unit_of_work(
    world: World, show: EventOnSale
) -> None:
    """Under a burst most deliveries are repeats: they used to cost a unit that failed to
    insert, then a second one that looked at the stored row."""
    placed = await world.place_order(show, regular=1)
    reference = await world.start_payment(placed)
    world.gateway.pay(reference)
    first = await world.deliver_webhook("charge.success", reference)
    opened = 0

    def counted() -> UnitOfWork:
        nonlocal opened
        opened += 1
        return world.uow()

    inbox = PaymentInbox(
        uow=counted,
        gateway=world.gateway,
        results=world.payment_results,
        refunds=world.refunds,
        clock=world.clock,
    )
    body = world.gateway.webhook_body("charge.success", reference)

    second = await inbox.receive_webhook(body, world.gateway.sign(body))

    assert (first.outcome, second.outcome) == (WebhookOutcome.ACCEPTED, WebhookOutcome.DUPLICATE)
    assert opened == 1


def counting_inbox(world: World) -> tuple[PaymentInbox, list[int]]:
    """The world's inbox use case on a unit factory that counts the units it opens."""
    opened = [0]

    def counted() -> UnitOfWork:
        opened[0] += 1
        return world.uow()

    inbox = PaymentInbox(
        uow=counted,
        gateway=world.gateway,
        results=world.payment_results,
        refunds=world.refunds,
        clock=world.clock,
    )
    return inbox, opened


async def test_repeats_of_an_applied_webhook_are_answered_without_the_database(
    world: World, show: EventOnSale
) -> None:
    """Providers resend, and a burst of repeats cost a transaction each to learn that the
    process had applied the event itself."""
    placed, reference = await paid_at_the_provider(world, show)
    inbox, opened = counting_inbox(world)
    body = world.gateway.webhook_body("charge.success", reference)
    first = await inbox.receive_webhook(body, world.gateway.sign(body))
    assert first.key is not None
    await inbox.process(first.key, first.stored)
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PAID
    opened[0] = 0

    repeats = [await inbox.receive_webhook(body, world.gateway.sign(body)) for _ in range(3)]

    assert {repeat.outcome for repeat in repeats} == {WebhookOutcome.DUPLICATE}
    assert opened[0] == 0
    assert len(world.db.tickets.rows) == 1


async def test_repeats_while_this_process_applies_the_webhook_skip_the_database(
    world: World, show: EventOnSale
) -> None:
    # Under a burst the first delivery waits its turn to be applied, and its repeats
    # each cost a transaction to find the row in flight.
    placed, reference = await paid_at_the_provider(world, show)
    inbox, opened = counting_inbox(world)
    body = world.gateway.webhook_body("charge.success", reference)
    first = await inbox.receive_webhook(body, world.gateway.sign(body))
    assert first.key is not None
    opened[0] = 0

    repeat = await inbox.receive_webhook(body, world.gateway.sign(body))
    assert (repeat.outcome, opened[0]) == (WebhookOutcome.DUPLICATE, 0)

    await inbox.process(first.key, first.stored)
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PAID
    assert len(world.db.tickets.rows) == 1


async def test_a_repeat_after_the_processing_failed_is_applied(
    world: World, show: EventOnSale
) -> None:
    placed, reference = await paid_at_the_provider(world, show)
    inbox, _ = counting_inbox(world)
    body = world.gateway.webhook_body("charge.success", reference)
    first = await inbox.receive_webhook(body, world.gateway.sign(body))
    assert first.key is not None
    world.gateway.fail_next(1, PaymentProviderUnavailableError("paystack timed out"))
    with pytest.raises(PaymentProviderUnavailableError):
        await inbox.process(first.key, first.stored)

    repeat = await inbox.receive_webhook(body, world.gateway.sign(body))
    assert repeat.outcome is WebhookOutcome.ACCEPTED
    assert repeat.key is not None
    await inbox.process(repeat.key, repeat.stored)

    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PAID


async def test_a_repeat_once_the_delivery_claim_is_over_asks_the_database(
    world: World, show: EventOnSale
) -> None:
    # The process may be stuck, or the row's processing lost: what is stored decides.
    _, reference = await paid_at_the_provider(world, show)
    inbox, opened = counting_inbox(world)
    body = world.gateway.webhook_body("charge.success", reference)
    await inbox.receive_webhook(body, world.gateway.sign(body))
    world.clock.advance(DELIVERY_CLAIM)
    opened[0] = 0

    repeat = await inbox.receive_webhook(body, world.gateway.sign(body))

    assert repeat.outcome is WebhookOutcome.DUPLICATE  # still in flight, as stored
    assert opened[0] == 1


async def test_a_webhook_whose_check_found_nothing_to_apply_is_not_remembered_as_done(
    world: World, show: EventOnSale
) -> None:
    # The early report applied nothing (the provider had no success yet): the real one
    # that follows must be applied, not answered from memory as a duplicate.
    placed = await world.place_order(show, regular=1)
    reference = await world.start_payment(placed)
    early = await world.deliver_webhook("charge.success", reference)
    assert early.key is not None
    await world.payment_inbox.process(early.key, early.stored)
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PENDING

    world.gateway.pay(reference)
    real = await world.deliver_webhook("charge.success", reference)
    assert real.outcome is WebhookOutcome.ACCEPTED
    assert real.key is not None
    await world.payment_inbox.process(real.key, real.stored)

    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PAID


async def test_applying_a_payment_reads_its_event_through_the_cache(
    world: World, show: EventOnSale, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unit that issues the tickets spent two reads per payment on the event, which
    placing the order had just cached."""
    _, reference = await paid_at_the_provider(world, show)
    repository = type(world.uow().events)
    read = repository.get
    reads: list[str] = []

    async def counted(self: object, event_id: str) -> object:
        reads.append(event_id)
        return await read(self, event_id)  # type: ignore[arg-type]

    monkeypatch.setattr(repository, "get", counted)

    applied = await world.payment_results.verify_payment(reference)

    assert applied.order.status is OrderStatus.PAID
    assert reads == []
    assert len(world.db.tickets.rows) == 1


async def test_given_a_webhook_for_a_reference_nobody_knows_then_it_is_acknowledged_and_done(
    world: World,
) -> None:
    body = msgspec.json.encode({"event": "charge.success", "data": {"reference": "TKT-0-nope"}})

    receipt = await world.payment_inbox.receive_webhook(body, world.gateway.sign(body))
    assert receipt.outcome is WebhookOutcome.ACCEPTED
    assert receipt.key is not None
    await world.payment_inbox.process(receipt.key)

    stored = await world.inbox_event(receipt.key)
    assert stored is not None
    assert stored.is_processed
    assert stored.attempts == 0


async def test_given_a_paid_transaction_that_is_not_ours_then_the_webhook_is_done_quietly(
    world: World,
) -> None:
    # Another app on the same Paystack account: the provider knows it, we do not.
    await world.gateway.initialize(
        PaymentRequest(
            reference="OTHER-APP-1",
            email="someone@example.com",
            amount=Money.parse("20"),
            callback_url="https://other.test",
        )
    )
    world.gateway.pay("OTHER-APP-1")

    receipt = await world.deliver_webhook("charge.success", "OTHER-APP-1")
    assert receipt.key is not None
    await world.payment_inbox.process(receipt.key)

    stored = await world.inbox_event(receipt.key)
    assert stored is not None
    assert stored.is_processed


@pytest.mark.parametrize(
    "body", [b"not json", b'{"event": "charge.success", "data": {}}', b'{"data": {}}']
)
async def test_given_an_authentic_webhook_we_cannot_use_then_it_is_ignored(
    world: World, body: bytes
) -> None:
    receipt = await world.payment_inbox.receive_webhook(body, world.gateway.sign(body))

    assert receipt.outcome is WebhookOutcome.IGNORED
    assert world.db.payment_inbox.rows == {}


async def test_given_a_charge_failed_webhook_then_the_order_fails_and_stock_is_back(
    world: World, show: EventOnSale
) -> None:
    placed = await world.place_order(show, regular=2)
    reference = await world.start_payment(placed)
    world.gateway.decline(reference)

    receipt = await world.deliver_webhook("charge.failed", reference)
    assert receipt.key is not None
    await world.payment_inbox.process(receipt.key)

    assert (await world.stored_order(placed.order.id)).status is OrderStatus.FAILED
    assert await world.level(show.regular_id) == level(50)


async def test_an_event_type_we_do_not_handle_is_stored_and_acknowledged(
    world: World, show: EventOnSale
) -> None:
    placed = await world.place_order(show, regular=1)
    reference = await world.start_payment(placed)

    receipt = await world.deliver_webhook("transfer.success", reference)
    assert receipt.key is not None
    await world.payment_inbox.process(receipt.key)

    stored = await world.inbox_event(receipt.key)
    assert stored is not None
    assert stored.is_processed
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PENDING


# ---------------------------------------------------------------------- money that comes late


async def test_given_payment_after_expiry_with_stock_left_then_the_order_is_paid_on_fresh_holds(
    world: World, show: EventOnSale
) -> None:
    placed = await world.place_order(show, regular=2)
    reference = await world.start_payment(placed)
    world.advance(RESERVATION_SECONDS)
    assert await world.expiry.expire_due_orders() == 1
    assert await world.level(show.regular_id) == level(50)

    world.gateway.pay(reference)
    applied = await world.payment_results.verify_payment(reference)

    assert applied.outcome is PaymentOutcome.PAID
    order = await world.stored_order(placed.order.id)
    assert order.status is OrderStatus.PAID
    assert order.lines[0].hold_id != placed.order.lines[0].hold_id
    assert len(await world.stored_tickets(order.id)) == 2
    assert await world.level(show.regular_id) == level(50, sold=2)
    assert world.gateway.refunds == []


async def test_given_payment_after_the_hold_lapsed_but_before_the_sweep_then_it_is_paid(
    world: World, show: EventOnSale
) -> None:
    placed = await world.place_order(show, regular=2)
    reference = await world.start_payment(placed)
    world.advance(RESERVATION_SECONDS + 60)  # the hold is gone, the order still says pending

    world.gateway.pay(reference)
    applied = await world.payment_results.verify_payment(reference)

    assert applied.outcome is PaymentOutcome.PAID
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PAID
    assert await world.level(show.regular_id) == level(50, sold=2)
    world.advance(RESERVATION_SECONDS)  # the fresh hold was sold, so nothing lapses now
    assert await world.level(show.regular_id) == level(50, sold=2)
    assert await world.expiry.expire_due_orders() == 0


async def test_given_payment_after_the_hold_lapsed_and_the_stock_sold_before_the_sweep_then_refunded(
    world: World,
) -> None:
    # Found by the inventory state machine: the order was still pending, and pending
    # may not become refunded, so this raised InvalidStateError and kept the money.
    show = await world.a_published_event(regular_capacity=2)
    late = await world.place_order(show, regular=2)
    late_reference = await world.start_payment(late)
    world.advance(RESERVATION_SECONDS)  # the hold is gone, the order still says pending
    await world.pay(await world.place_order(show, regular=2))  # someone else buys them

    world.gateway.pay(late_reference)
    applied = await world.payment_results.verify_payment(late_reference)

    assert applied.outcome is PaymentOutcome.REFUNDED
    order = await world.stored_order(late.order.id)
    assert (order.status, order.refund_due) == (OrderStatus.REFUNDED, False)
    assert [r.reference for r in world.gateway.refunds] == [late_reference]
    assert await world.stored_tickets(order.id) == []
    assert await world.level(show.regular_id) == level(2, sold=2)


async def test_given_a_success_after_a_declined_attempt_then_the_order_is_paid(
    world: World, show: EventOnSale
) -> None:
    placed = await world.place_order(show, regular=2)
    reference = await world.start_payment(placed)
    world.gateway.decline(reference)
    await world.payment_results.verify_payment(reference)
    assert await world.level(show.regular_id) == level(50)

    world.gateway.pay(reference)  # the customer tried another card on the same checkout
    applied = await world.payment_results.verify_payment(reference)

    assert applied.outcome is PaymentOutcome.PAID
    assert len(await world.stored_tickets(placed.order.id)) == 2
    assert await world.level(show.regular_id) == level(50, sold=2)


async def test_given_payment_after_expiry_with_stock_sold_out_then_the_money_goes_back(
    world: World,
) -> None:
    show = await world.a_published_event(regular_capacity=2)
    late = await world.place_order(show, regular=2)
    late_reference = await world.start_payment(late)
    world.advance(RESERVATION_SECONDS)
    await world.expiry.expire_due_orders()
    await world.pay(await world.place_order(show, regular=2))  # someone else buys them

    world.gateway.pay(late_reference)
    applied = await world.payment_results.verify_payment(late_reference)

    assert applied.outcome is PaymentOutcome.REFUNDED
    order = await world.stored_order(late.order.id)
    assert order.status is OrderStatus.REFUNDED
    assert order.refunded_at == world.clock.now()
    assert not order.refund_due
    assert [(r.reference, r.amount) for r in world.gateway.refunds] == [
        (late_reference, Money.parse("10000"))
    ]
    assert await world.stored_tickets(order.id) == []
    assert await world.level(show.regular_id) == level(2, sold=2)


async def test_given_payment_for_a_cancelled_order_then_it_is_refunded(
    world: World, show: EventOnSale
) -> None:
    placed = await world.place_order(show, regular=2)
    reference = await world.start_payment(placed)
    await world.ordering.cancel_order(placed.order.id, by_token(placed))

    world.gateway.pay(reference)
    applied = await world.payment_results.verify_payment(reference)

    assert applied.outcome is PaymentOutcome.REFUNDED
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.REFUNDED
    assert [r.reference for r in world.gateway.refunds] == [reference]
    assert await world.stored_tickets(placed.order.id) == []
    assert await world.level(show.regular_id) == level(50)


async def test_given_the_provider_refuses_the_refund_then_it_is_owed_and_asked_again_later(
    world: World, show: EventOnSale
) -> None:
    placed = await world.place_order(show, regular=2)
    reference = await world.start_payment(placed)
    await world.ordering.cancel_order(placed.order.id, by_token(placed))
    world.gateway.pay(reference)
    verification = await world.gateway.verify(reference)

    world.gateway.fail_next(1, PaymentProviderUnavailableError())
    applied = await world.payment_results.apply(verification)

    assert applied.outcome is PaymentOutcome.REFUNDED
    owed = await world.stored_order(placed.order.id)
    assert (owed.status, owed.refund_due) == (OrderStatus.REFUNDED, True)
    assert world.gateway.refunds == []

    assert await world.refunds.process_due_refunds() == 1

    assert not (await world.stored_order(placed.order.id)).refund_due
    assert [r.reference for r in world.gateway.refunds] == [reference]
    assert await world.refunds.process_due_refunds() == 0


async def test_given_a_refund_made_at_the_provider_then_the_webhook_voids_the_tickets(
    world: World, show: EventOnSale
) -> None:
    placed = await world.place_order(show, regular=2)
    applied = await world.pay(placed)
    reference = applied.order.payment_reference
    assert reference is not None
    await world.gateway.refund(reference)  # the organizer refunds from the dashboard

    receipt = await world.deliver_webhook("refund.processed", reference)
    assert receipt.key is not None
    await world.payment_inbox.process(receipt.key)

    order = await world.stored_order(placed.order.id)
    assert order.status is OrderStatus.REFUNDED
    assert not order.refund_due
    tickets = await world.stored_tickets(order.id)
    assert [ticket.status for ticket in tickets] == [TicketStatus.VOID, TicketStatus.VOID]
    assert await world.level(show.regular_id) == level(50)


async def test_given_a_payment_whose_webhook_was_missed_then_the_expiry_sweep_settles_it(
    world: World, show: EventOnSale
) -> None:
    placed = await world.place_order(show, regular=2)
    reference = await world.start_payment(placed)
    world.gateway.pay(reference)  # paid, but no webhook and no /verify ever came
    world.advance(RESERVATION_SECONDS)

    assert await world.expiry.expire_due_orders() == 0

    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PAID
    assert len(await world.stored_tickets(placed.order.id)) == 2
    assert await world.level(show.regular_id) == level(50, sold=2)


async def test_given_a_decline_whose_news_never_came_then_the_expiry_sweep_fails_the_order(
    world: World, show: EventOnSale
) -> None:
    placed = await world.place_order(show, regular=2)
    reference = await world.start_payment(placed)
    world.gateway.decline(reference)
    world.advance(RESERVATION_SECONDS)

    assert await world.expiry.expire_due_orders() == 0

    assert (await world.stored_order(placed.order.id)).status is OrderStatus.FAILED
    assert await world.level(show.regular_id) == level(50)


async def test_given_the_provider_is_down_at_expiry_then_the_order_expires_anyway(
    world: World, show: EventOnSale
) -> None:
    placed = await world.place_order(show, regular=2)
    await world.start_payment(placed)
    world.advance(RESERVATION_SECONDS)
    world.gateway.fail_next(1, PaymentProviderUnavailableError())

    assert await world.expiry.expire_due_orders() == 1

    assert (await world.stored_order(placed.order.id)).status is OrderStatus.EXPIRED
    assert await world.level(show.regular_id) == level(50)


# ---------------------------------------------------------------------- the inbox retries


async def test_given_the_provider_down_while_processing_then_the_webhook_is_retried_later(
    world: World, show: EventOnSale
) -> None:
    placed, reference = await paid_at_the_provider(world, show)
    receipt = await world.deliver_webhook("charge.success", reference)
    assert receipt.key is not None

    world.gateway.fail_next(1, PaymentProviderUnavailableError("paystack timed out"))
    with pytest.raises(PaymentProviderUnavailableError):
        await world.payment_inbox.process(receipt.key)

    failed = await world.inbox_event(receipt.key)
    assert failed is not None
    assert not failed.is_processed
    assert failed.attempts == 1
    assert failed.last_error == "PaymentProviderUnavailableError: paystack timed out"
    assert failed.next_attempt_at is not None
    assert failed.next_attempt_at > world.clock.now()
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PENDING

    assert await world.payment_inbox.retry_inbox() == 0  # not due yet
    world.clock.set(failed.next_attempt_at)
    assert await world.payment_inbox.retry_inbox() == 1

    done = await world.inbox_event(receipt.key)
    assert done is not None
    assert done.is_processed
    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PAID
    assert await world.payment_inbox.retry_inbox() == 0


async def test_a_webhook_left_unprocessed_by_a_crash_is_picked_up_by_the_worker(
    world: World, show: EventOnSale
) -> None:
    placed, reference = await paid_at_the_provider(world, show)
    await world.deliver_webhook("charge.success", reference)  # stored, then the process died

    world.clock.advance(DELIVERY_CLAIM)  # the delivering process's claim is over
    assert await world.payment_inbox.retry_inbox() == 1

    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PAID


async def test_the_worker_leaves_a_delivered_webhook_to_the_process_applying_it(
    world: World, show: EventOnSale
) -> None:
    # Both would verify and apply it: under a burst every payment was done twice.
    placed, reference = await paid_at_the_provider(world, show)
    receipt = await world.deliver_webhook("charge.success", reference)
    assert receipt.key is not None

    assert await world.payment_inbox.retry_inbox() == 0
    await world.payment_inbox.process(receipt.key, receipt.stored)

    assert (await world.stored_order(placed.order.id)).status is OrderStatus.PAID
    world.clock.advance(DELIVERY_CLAIM)
    assert await world.payment_inbox.retry_inbox() == 0  # done: nothing left to retry


async def test_an_order_paid_late_never_oversells_even_with_stock_changing_hands(
    world: World,
) -> None:
    show = await world.a_published_event(regular_capacity=3)
    late = await world.place_order(show, regular=2)
    late_reference = await world.start_payment(late)
    world.advance(RESERVATION_SECONDS)
    await world.expiry.expire_due_orders()
    await world.pay(await world.place_order(show, regular=2))
    # One ticket is left, the late order needs two: it must not take the last one.

    world.gateway.pay(late_reference)
    await world.payment_results.verify_payment(late_reference)

    stock = await world.level(show.regular_id)
    assert stock == level(3, sold=2)
    assert stock.sold <= stock.capacity
    assert (await world.stored_order(late.order.id)).status is OrderStatus.REFUNDED
    world.advance(timedelta(hours=1).total_seconds())
    assert await world.level(show.regular_id) == level(3, sold=2)
