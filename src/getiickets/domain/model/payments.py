"""What a payment provider tells us, and what we do about it."""

from __future__ import annotations

import enum
from datetime import datetime

import msgspec

from getiickets.domain.model.money import Money
from getiickets.domain.model.orders import Order, OrderStatus


class PaymentStatus(enum.StrEnum):
    """Paystack's transaction statuses, folded to what matters to an order."""

    SUCCESS = "success"
    FAILED = "failed"
    ABANDONED = "abandoned"
    PENDING = "pending"
    REVERSED = "reversed"

    @classmethod
    def from_provider(cls, status: str) -> PaymentStatus:
        # Paystack also says "ongoing", "processing", "queued": money still moving.
        try:
            return cls(status)
        except ValueError:
            return cls.PENDING


class PaymentInitialization(msgspec.Struct, frozen=True, kw_only=True):
    authorization_url: str
    access_code: str
    reference: str


class PaymentVerification(msgspec.Struct, frozen=True, kw_only=True):
    """A transaction as the provider reports it when we ask (never as a webhook claims)."""

    reference: str
    status: PaymentStatus
    amount: Money
    """What the transaction was for: Paystack's ``requested_amount`` (fees passed on to
    the customer make the charged ``amount`` larger) and currency."""
    paid_at: datetime | None = None
    gateway_response: str = ""


class RefundStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"
    NEEDS_ATTENTION = "needs-attention"


class RefundReceipt(msgspec.Struct, frozen=True, kw_only=True):
    reference: str
    status: RefundStatus
    amount: Money


class PaymentDecision(enum.StrEnum):
    PAY = "pay"
    """Verified success for exactly the order's total: honour it."""
    ALREADY_APPLIED = "already_applied"
    """The order was paid (or refunded) before: nothing to do."""
    MISMATCH = "mismatch"
    """Success, but for another amount or currency: never pay, record it."""
    FAIL = "fail"
    """The charge failed or was reversed."""
    WAIT = "wait"
    """Still in flight or abandoned: leave the order as it is."""


def decide(order: Order, verification: PaymentVerification) -> PaymentDecision:
    """The one rule for what a verified transaction means for its order."""
    if order.status in {OrderStatus.PAID, OrderStatus.REFUNDED}:
        return PaymentDecision.ALREADY_APPLIED
    if verification.status is PaymentStatus.SUCCESS:
        if verification.amount != order.total:
            return PaymentDecision.MISMATCH
        return PaymentDecision.PAY
    if verification.status in {PaymentStatus.FAILED, PaymentStatus.REVERSED}:
        return PaymentDecision.FAIL
    return PaymentDecision.WAIT


def mismatch_note(order: Order, verification: PaymentVerification) -> str:
    paid = verification.amount
    return (
        f"payment_mismatch: provider reported {paid.major} {paid.currency}, "
        f"order total is {order.total.major} {order.total.currency}"
    )


class InboxEvent(msgspec.Struct, kw_only=True):
    """What a provider tells (or will tell) us about a transaction, stored once by key.

    A row is opened when a checkout starts (``payload`` empty: nothing delivered yet, the
    worker polls the provider on its schedule) or by the first webhook delivery. It is
    closed (``processed_at``) only once verification found something to apply; until
    then every later delivery or poll is applied, never dropped as a duplicate.
    """

    key: str
    """Unique per meaning: ``{provider}:{event}:{reference}``."""
    provider: str
    event_type: str
    reference: str
    payload: bytes
    """The body of the last delivery; empty while only polled."""
    received_at: datetime
    processed_at: datetime | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    version: int = 0

    @property
    def is_processed(self) -> bool:
        return self.processed_at is not None

    def mark_processed(self, now: datetime) -> None:
        self.processed_at = now
        self.last_error = None

    def record_failure(self, error: str, retry_at: datetime) -> None:
        self.attempts += 1
        self.last_error = error
        self.next_attempt_at = retry_at

    @property
    def is_in_flight(self) -> bool:
        """Delivered and not tried yet: that delivery's processing will apply it."""
        return bool(self.payload) and self.attempts == 0 and not self.is_processed

    def keep_open(self, note: str, check_at: datetime) -> None:
        """Verification found nothing to apply yet: look again at ``check_at``."""
        self.record_failure(note, check_at)

    def redeliver(self, payload: bytes, now: datetime) -> None:
        """Another delivery of an open event: to be processed now, its schedule afresh."""
        self.payload = payload
        self.attempts = 0
        self.last_error = None
        self.next_attempt_at = now


def inbox_key(provider: str, event_type: str, reference: str) -> str:
    return f"{provider}:{event_type}:{reference}"
