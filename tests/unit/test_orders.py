"""The order's life: every transition is explicit, every other one is an error."""

from __future__ import annotations

import hashlib
import itertools
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from getiickets.domain.model.errors import InvalidStateError, NotFoundError, ValidationError
from getiickets.domain.model.money import Money
from getiickets.domain.model.orders import (
    ALLOWED_TRANSITIONS,
    Buyer,
    Order,
    OrderLine,
    OrderStatus,
    digest_token,
    order_number,
    payment_reference,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(seconds=900)


def an_order(status: OrderStatus = OrderStatus.PENDING, **changes: object) -> Order:
    fields: dict[str, object] = {
        "id": "order-1",
        "order_number": "GT-ABCD-EFGH",
        "event_id": "event-1",
        "buyer": Buyer(email="ada@example.com", name="Ada"),
        "buyer_user_id": None,
        "lines": [
            OrderLine(
                ticket_type_id="regular",
                name="Regular",
                quantity=2,
                unit_price=Money.parse("5000"),
                hold_id="hold-1",
            )
        ],
        "total": Money.parse("10000"),
        "status": status,
        "created_at": NOW,
        "expires_at": EXPIRES,
        "access_token_digest": digest_token("secret-token"),
    }
    fields.update(changes)
    return Order(**fields)  # type: ignore[arg-type]


def move(order: Order, target: OrderStatus) -> None:
    """Drive the order to ``target`` through the method the domain offers for it."""
    if target is OrderStatus.PAID:
        order.mark_paid(NOW)
    elif target is OrderStatus.FAILED:
        order.mark_failed()
    elif target is OrderStatus.EXPIRED:
        order.expire(EXPIRES)
    elif target is OrderStatus.CANCELLED:
        order.cancel()
    elif target is OrderStatus.REFUNDED:
        order.mark_refunded(NOW)
    else:
        pytest.fail(f"no method moves an order to {target}")


GRID = list(itertools.product(OrderStatus, OrderStatus))
ALLOWED = [(source, target) for source, target in GRID if target in ALLOWED_TRANSITIONS[source]]
# No method takes an order back to pending, so those cells are checked through
# can_move_to alone (test_nothing_goes_back_to_pending).
ILLEGAL = [
    (source, target)
    for source, target in GRID
    if target not in ALLOWED_TRANSITIONS[source] and target is not OrderStatus.PENDING
]


def test_the_transition_table_is_the_documented_one() -> None:
    # Written out once more on purpose: a change to the table must be a conscious one.
    assert set(ALLOWED) == {
        (OrderStatus.PENDING, OrderStatus.PAID),
        (OrderStatus.PENDING, OrderStatus.FAILED),
        (OrderStatus.PENDING, OrderStatus.EXPIRED),
        (OrderStatus.PENDING, OrderStatus.CANCELLED),
        (OrderStatus.PAID, OrderStatus.REFUNDED),
        (OrderStatus.FAILED, OrderStatus.PAID),
        (OrderStatus.FAILED, OrderStatus.REFUNDED),
        (OrderStatus.EXPIRED, OrderStatus.PAID),
        (OrderStatus.EXPIRED, OrderStatus.REFUNDED),
        (OrderStatus.CANCELLED, OrderStatus.REFUNDED),
    }


@pytest.mark.parametrize(("source", "target"), GRID, ids=str)
def test_can_move_to_answers_from_the_table(source: OrderStatus, target: OrderStatus) -> None:
    assert an_order(source).can_move_to(target) is (target in ALLOWED_TRANSITIONS[source])


@pytest.mark.parametrize("source", OrderStatus, ids=str)
def test_nothing_goes_back_to_pending(source: OrderStatus) -> None:
    assert not an_order(source).can_move_to(OrderStatus.PENDING)


@pytest.mark.parametrize(("source", "target"), ALLOWED, ids=str)
def test_given_an_allowed_transition_when_taken_then_the_order_moves(
    source: OrderStatus, target: OrderStatus
) -> None:
    order = an_order(source)

    move(order, target)

    assert order.status is target


@pytest.mark.parametrize(("source", "target"), ILLEGAL, ids=str)
def test_given_an_illegal_transition_when_tried_then_it_is_an_error_and_nothing_changes(
    source: OrderStatus, target: OrderStatus
) -> None:
    order = an_order(source)

    with pytest.raises(InvalidStateError):
        move(order, target)

    assert order.status is source


def test_given_a_pending_order_when_paid_then_the_time_is_kept_and_an_old_issue_cleared() -> None:
    order = an_order(payment_issue="payment_mismatch: earlier attempt")

    order.mark_paid(NOW)

    assert order.paid_at == NOW
    assert order.payment_issue is None


def test_given_a_pending_order_before_its_expiry_when_expired_then_it_is_refused() -> None:
    order = an_order()

    with pytest.raises(InvalidStateError):
        order.expire(EXPIRES - timedelta(microseconds=1))

    assert order.status is OrderStatus.PENDING


def test_an_order_is_due_for_expiry_exactly_from_its_expires_at() -> None:
    order = an_order()

    assert not order.is_due_for_expiry(EXPIRES - timedelta(microseconds=1))
    assert order.is_due_for_expiry(EXPIRES)
    assert not an_order(OrderStatus.PAID).is_due_for_expiry(EXPIRES)


def test_given_a_refund_still_owed_when_requested_then_it_is_no_longer_due() -> None:
    order = an_order(OrderStatus.EXPIRED)

    order.mark_refunded(NOW, refund_due=True)
    assert order.refund_due
    assert order.refunded_at == NOW

    order.record_refund_requested()
    assert not order.refund_due


def test_given_a_pending_order_when_a_reference_is_attached_twice_then_the_first_one_stays() -> (
    None
):
    order = an_order()

    order.attach_payment_reference("TKT-1-first")
    order.attach_payment_reference("TKT-2-second")

    assert order.payment_reference == "TKT-1-first"


@pytest.mark.parametrize("status", [s for s in OrderStatus if s is not OrderStatus.PENDING])
def test_given_an_order_that_left_pending_when_a_reference_is_attached_then_it_is_refused(
    status: OrderStatus,
) -> None:
    with pytest.raises(InvalidStateError):
        an_order(status).attach_payment_reference("TKT-1-x")


def test_an_order_needs_at_least_one_line() -> None:
    with pytest.raises(ValidationError) as raised:
        an_order(lines=[])

    assert raised.value.field == "items"


def test_an_order_finds_its_line_by_ticket_type_and_counts_its_tickets() -> None:
    order = an_order()

    assert order.line_for("regular").quantity == 2
    assert order.ticket_count == 2
    assert order.lines[0].subtotal == Money.parse("10000")
    with pytest.raises(NotFoundError):
        order.line_for("vip")


def test_an_order_is_free_only_when_its_total_is_zero() -> None:
    assert not an_order().is_free
    assert an_order(total=Money.zero()).is_free


@pytest.mark.parametrize(
    ("email", "name", "field"),
    [
        ("not-an-email", "Ada", "buyer.email"),
        ("@example.com", "Ada", "buyer.email"),
        ("ada@", "Ada", "buyer.email"),
        ("ada@example.com", "  ", "buyer.name"),
    ],
)
def test_a_buyer_needs_an_email_and_a_name(email: str, name: str, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Buyer(email=email, name=name)

    assert raised.value.field == field


def test_payment_reference_is_tkt_unix_ms_and_the_uuid() -> None:
    moment = datetime(2026, 3, 1, 12, 0, 0, 123_000, tzinfo=UTC)
    unique = uuid.UUID("12345678-1234-4678-9234-567812345678")

    reference = payment_reference(moment, unique)

    assert re.fullmatch(r"TKT-\d{13}-[0-9a-f-]{36}", reference)
    assert reference == f"TKT-{1_772_366_400_123}-{unique}"
    assert int(reference.split("-")[1]) == int(moment.timestamp() * 1000)


def test_two_references_made_in_the_same_millisecond_differ_by_their_uuid() -> None:
    first = payment_reference(NOW, uuid.uuid4())
    second = payment_reference(NOW, uuid.uuid4())

    assert first != second


def test_order_number_splits_its_code_in_two_readable_halves() -> None:
    assert order_number("7K3FX2QD") == "GT-7K3F-X2QD"


@pytest.mark.parametrize("code", ["", "7K3FX2Q", "7K3FX2QDZ"])
def test_order_number_needs_exactly_eight_characters(code: str) -> None:
    with pytest.raises(ValueError, match="8 characters"):
        order_number(code)


def test_the_access_token_is_stored_as_its_sha256_digest_and_grants_access() -> None:
    order = an_order()

    assert order.access_token_digest == hashlib.sha256(b"secret-token").hexdigest()
    assert order.access_token_digest != "secret-token"
    assert order.grants_access("secret-token")
    assert not order.grants_access("secret-tokeN")
    assert not order.grants_access("")
