"""Orders and their life: pending until paid, failed, expired or cancelled.

Transitions (every one explicit, anything else is an ``InvalidStateError``)::

    pending   -> paid | failed | expired | cancelled
    paid      -> refunded
    failed    -> paid | refunded      a late success on a failed attempt
    expired   -> paid | refunded      money after expiry: re-take stock, else refund
    cancelled -> refunded             money after the buyer cancelled goes back

The last three rows exist because payment providers deliver late: the money is real,
so the order either honours it (stock permitting, never oversold) or returns it.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from getiickets.domain.model.errors import InvalidStateError, NotFoundError, ValidationError
from getiickets.domain.model.money import Money


class OrderStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset(
        {OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.EXPIRED, OrderStatus.CANCELLED}
    ),
    OrderStatus.PAID: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.FAILED: frozenset({OrderStatus.PAID, OrderStatus.REFUNDED}),
    OrderStatus.EXPIRED: frozenset({OrderStatus.PAID, OrderStatus.REFUNDED}),
    OrderStatus.CANCELLED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.REFUNDED: frozenset(),
}

ORDER_NUMBER_CODE_LENGTH = 8
DEFAULT_RESERVATION_TTL = timedelta(minutes=15)
"""How long a pending order holds its stock (and a late payment's fresh holds last),
unless the settings say otherwise."""


class Buyer(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    name: str
    phone: str | None = None

    def __post_init__(self) -> None:
        if "@" not in self.email or self.email.startswith("@") or self.email.endswith("@"):
            raise ValidationError("a valid email address is required", field="buyer.email")
        if not self.name.strip():
            raise ValidationError("the buyer needs a name", field="buyer.name")


class OrderLine(msgspec.Struct, frozen=True, kw_only=True):
    ticket_type_id: str
    name: str
    quantity: int
    unit_price: Money
    hold_id: str
    """The inventory hold backing this line while the order is pending."""

    @property
    def subtotal(self) -> Money:
        return self.unit_price.times(self.quantity)


class Order(msgspec.Struct, kw_only=True):
    id: str
    order_number: str
    event_id: str
    buyer: Buyer
    buyer_user_id: str | None
    lines: list[OrderLine]
    total: Money
    status: OrderStatus
    created_at: datetime
    expires_at: datetime
    access_token_digest: str
    paid_at: datetime | None = None
    payment_reference: str | None = None
    checkout_url: str | None = None
    """The provider's checkout page for ``payment_reference``, kept so a repeated
    initialize answers without a provider call (providers refuse a reused reference)."""
    access_code: str | None = None
    past_references: list[str] = msgspec.field(default_factory=list)
    """References this order used before ``payment_reference`` (a checkout link lost with
    a provider's answer): a payment on any of them is still this order's. Once paid,
    ``payment_reference`` is the one that paid."""
    payment_issue: str | None = None
    """Why a payment was not applied (amount mismatch, ...), kept for support."""
    refunded_at: datetime | None = None
    refund_due: bool = False
    """Marked refunded, but the provider has not accepted the refund yet (retried)."""
    version: int = 0

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValidationError("an order needs at least one item", field="items")

    @property
    def is_free(self) -> bool:
        return self.total.is_zero

    @property
    def ticket_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    def line_for(self, ticket_type_id: str) -> OrderLine:
        for line in self.lines:
            if line.ticket_type_id == ticket_type_id:
                return line
        raise NotFoundError(f"order has no line for ticket type {ticket_type_id}")

    def is_due_for_expiry(self, now: datetime) -> bool:
        return self.status is OrderStatus.PENDING and now >= self.expires_at

    def grants_access(self, access_token: str) -> bool:
        return hmac.compare_digest(self.access_token_digest, digest_token(access_token))

    def rehold(self, lines: list[OrderLine]) -> None:
        """Swap in fresh holds (a late payment re-taking stock)."""
        self.lines = lines

    def mark_paid(self, now: datetime) -> None:
        self._move_to(OrderStatus.PAID)
        self.paid_at = now
        self.payment_issue = None

    def mark_failed(self) -> None:
        self._move_to(OrderStatus.FAILED)

    def expire(self, now: datetime) -> None:
        if self.status is OrderStatus.PENDING and now < self.expires_at:
            raise InvalidStateError("the order's reservation has not expired yet")
        self._move_to(OrderStatus.EXPIRED)

    def cancel(self) -> None:
        self._move_to(OrderStatus.CANCELLED)

    def mark_refunded(self, now: datetime, *, refund_due: bool = False) -> None:
        """``refund_due``: we owe the money back and must still ask the provider to pay it."""
        self._move_to(OrderStatus.REFUNDED)
        self.refunded_at = now
        self.refund_due = refund_due

    def record_refund_requested(self) -> None:
        self.refund_due = False

    def record_payment_issue(self, issue: str) -> None:
        self.payment_issue = issue

    def attach_payment_reference(self, reference: str) -> None:
        if self.status is not OrderStatus.PENDING:
            raise InvalidStateError(f"a {self.status} order cannot be paid")
        if self.payment_reference is None:
            self.payment_reference = reference

    def move_to_fresh_reference(self, reference: str) -> None:
        """The current reference cannot give a checkout any more: pay with another."""
        if self.status is not OrderStatus.PENDING:
            raise InvalidStateError(f"a {self.status} order cannot be paid")
        if self.payment_reference is not None:
            self.past_references.append(self.payment_reference)
        self.payment_reference = reference
        self.checkout_url = None
        self.access_code = None

    def knows_reference(self, reference: str) -> bool:
        return reference == self.payment_reference or reference in self.past_references

    def paid_through(self, reference: str) -> None:
        """The money came through ``reference``: it becomes the one refunds go to."""
        if reference == self.payment_reference or reference not in self.past_references:
            return
        self.past_references.remove(reference)
        if self.payment_reference is not None:
            self.past_references.append(self.payment_reference)
        self.payment_reference = reference

    def remember_checkout(self, checkout_url: str, access_code: str) -> None:
        self.checkout_url = checkout_url
        self.access_code = access_code

    def can_move_to(self, target: OrderStatus) -> bool:
        return target in ALLOWED_TRANSITIONS[self.status]

    def _move_to(self, target: OrderStatus) -> None:
        if not self.can_move_to(target):
            raise InvalidStateError(f"a {self.status} order cannot become {target}")
        self.status = target


def payment_reference(now: datetime, unique: UUID) -> str:
    """``TKT-{unix_ms}-{uuid4}``: unique per order, sortable by creation time."""
    unix_ms = int(now.timestamp() * 1000)
    return f"TKT-{unix_ms}-{unique}"


def order_number(code: str) -> str:
    """A number people can read out on the phone: ``GT-7K3F-X2QD``."""
    if len(code) != ORDER_NUMBER_CODE_LENGTH:
        raise ValueError(f"order numbers are made of {ORDER_NUMBER_CODE_LENGTH} characters")
    return f"GT-{code[:4]}-{code[4:]}"


def digest_token(token: str) -> str:
    """Tokens are stored only as digests, so a leaked row grants nothing."""
    return hashlib.sha256(token.encode()).hexdigest()
