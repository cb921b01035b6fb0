"""What a verified transaction means for its order: one rule, decide()."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from getiickets.domain.model.money import Money
from getiickets.domain.model.orders import Buyer, Order, OrderLine, OrderStatus, digest_token
from getiickets.domain.model.payments import (
    InboxEvent,
    PaymentDecision,
    PaymentEventKind,
    PaymentStatus,
    PaymentVerification,
    decide,
    inbox_key,
    mismatch_note,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOTAL = Money.parse("10000")


def an_order(status: OrderStatus = OrderStatus.PENDING) -> Order:
    return Order(
        id="order-1",
        order_number="GT-ABCD-EFGH",
        event_id="event-1",
        buyer=Buyer(email="ada@example.com", name="Ada"),
        buyer_user_id=None,
        lines=[
            OrderLine(
                ticket_type_id="regular",
                name="Regular",
                quantity=2,
                unit_price=Money.parse("5000"),
                hold_id="hold-1",
            )
        ],
        total=TOTAL,
        status=status,
        created_at=NOW,
        expires_at=NOW + timedelta(seconds=900),
        access_token_digest=digest_token("token"),
        payment_reference="TKT-1-ref",
    )


def verified(status: PaymentStatus, amount: Money = TOTAL) -> PaymentVerification:
    return PaymentVerification(reference="TKT-1-ref", status=status, amount=amount)


UNPAID = [OrderStatus.PENDING, OrderStatus.FAILED, OrderStatus.EXPIRED, OrderStatus.CANCELLED]


@pytest.mark.parametrize("status", UNPAID, ids=str)
def test_given_success_for_exactly_the_total_then_pay(status: OrderStatus) -> None:
    assert decide(an_order(status), verified(PaymentStatus.SUCCESS)) is PaymentDecision.PAY


@pytest.mark.parametrize(
    "amount",
    [
        Money(amount=TOTAL.amount - 1),
        Money(amount=TOTAL.amount + 1),
        Money.zero(),
        Money(amount=TOTAL.amount // 100),  # naira sent where kobo was due
        Money(amount=TOTAL.amount, currency="USD"),
        Money(amount=TOTAL.amount, currency="GHS"),
    ],
    ids=lambda money: f"{money.major}-{money.currency}",
)
def test_given_success_for_another_amount_or_currency_then_mismatch(amount: Money) -> None:
    assert decide(an_order(), verified(PaymentStatus.SUCCESS, amount)) is PaymentDecision.MISMATCH


@pytest.mark.parametrize("status", [PaymentStatus.FAILED, PaymentStatus.REVERSED], ids=str)
def test_given_a_failed_or_reversed_charge_then_fail(status: PaymentStatus) -> None:
    assert decide(an_order(), verified(status)) is PaymentDecision.FAIL


@pytest.mark.parametrize("status", [PaymentStatus.PENDING, PaymentStatus.ABANDONED], ids=str)
def test_given_money_still_moving_or_abandoned_then_wait(status: PaymentStatus) -> None:
    assert decide(an_order(), verified(status)) is PaymentDecision.WAIT


@pytest.mark.parametrize("order_status", [OrderStatus.PAID, OrderStatus.REFUNDED], ids=str)
@pytest.mark.parametrize("payment_status", PaymentStatus, ids=str)
def test_given_an_order_paid_or_refunded_before_then_already_applied(
    order_status: OrderStatus, payment_status: PaymentStatus
) -> None:
    decision = decide(an_order(order_status), verified(payment_status))

    assert decision is PaymentDecision.ALREADY_APPLIED


def test_a_mismatch_note_names_both_amounts_for_support() -> None:
    note = mismatch_note(an_order(), verified(PaymentStatus.SUCCESS, Money.parse("100")))

    assert note == ("payment_mismatch: provider reported 100.00 NGN, order total is 10000.00 NGN")


def test_an_inbox_event_records_failures_then_processing() -> None:
    event = InboxEvent(
        key=inbox_key("paystack", PaymentEventKind.CHARGE_SUCCEEDED, "TKT-1-ref"),
        provider="paystack",
        event_type=PaymentEventKind.CHARGE_SUCCEEDED,
        reference="TKT-1-ref",
        payload=b"{}",
        received_at=NOW,
    )
    assert event.key == "paystack:charge_succeeded:TKT-1-ref"

    event.record_failure("provider down", NOW + timedelta(seconds=30))
    assert (event.attempts, event.last_error, event.is_processed) == (1, "provider down", False)
    assert event.next_attempt_at == NOW + timedelta(seconds=30)

    event.mark_processed(NOW + timedelta(seconds=31))
    assert event.is_processed
    assert event.last_error is None
