"""What a payment provider tells us, and what we do about it."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import msgspec

from getiickets.domain.model.money import Money
from getiickets.domain.model.orders import Order, OrderStatus


class PaymentStatus(enum.StrEnum):
    """A transaction's status as far as an order cares; gateways fold their provider's
    statuses into these (money still moving is ``PENDING``)."""

    SUCCESS = "success"
    FAILED = "failed"
    ABANDONED = "abandoned"
    PENDING = "pending"
    REVERSED = "reversed"


class PaymentEventKind(enum.StrEnum):
    """What a provider's notice is about, in the domain's words."""

    CHARGE_SUCCEEDED = "charge_succeeded"
    CHARGE_FAILED = "charge_failed"
    REFUND_PROCESSED = "refund_processed"
    OTHER = "other"
    """Anything else the provider announces: stored and acknowledged, nothing to do."""


class PaymentEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An authentic notice from the provider about one transaction, read by the gateway.

    Only a hint about what to ask: its effects come from verifying ``reference``, never
    from what the notice claims."""

    kind: PaymentEventKind
    reference: str


class PaymentInitialization(msgspec.Struct, frozen=True, kw_only=True):
    authorization_url: str
    access_code: str
    reference: str


class PaymentVerification(msgspec.Struct, frozen=True, kw_only=True):
    """A transaction as the provider reports it when we ask (never as a webhook claims)."""

    reference: str
    status: PaymentStatus
    amount: Money
    """What the transaction was for, not what was charged (fees passed on to the
    customer make that larger), and its currency."""
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


PAYMENT_CHECK_BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
)
"""When the worker asks the provider about an initialized payment with nothing applied
yet: after each of these in turn, then every last one while the order is pending. Most
buyers pay within a minute or two; a missed webhook then costs them seconds, not the
whole reservation."""
DELIVERY_WINDOW = timedelta(hours=72)
"""How long providers keep resending a webhook (three days): an event row of an order
that stopped waiting stays open this long for a late delivery, without polling."""
INBOX_FIRST_RETRY = timedelta(seconds=30)
INBOX_LONGEST_RETRY = timedelta(hours=1)
"""A row whose processing failed is retried after 30 s, doubling up to an hour."""
DELIVERY_CLAIM = timedelta(seconds=30)
"""How long a delivered row is left to the process that stored it, which applies it
right after the acknowledgement: the worker's retries take it only once this is over
(that process died, or its queue is that long). Claimed at once, the row was verified
and applied twice under a burst, the worker racing the process on every payment."""


class InboxEvent(msgspec.Struct, kw_only=True):
    """What a provider tells (or will tell) us about a transaction, stored once by key.

    A row is opened when a checkout starts (``payload`` empty: nothing delivered yet, the
    worker polls the provider on its schedule) or by the first webhook delivery. It is
    closed (``processed_at``) only once verification found something to apply; until
    then every later delivery or poll is applied, never dropped as a duplicate.
    """

    key: str
    """Unique per meaning: ``{provider}:{kind}:{reference}``."""
    provider: str
    event_type: str
    """A ``PaymentEventKind`` value."""
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

    def nothing_to_apply(self, now: datetime, *, order_waiting: bool) -> None:
        """Verification found nothing to apply: look again on the backoff while the order
        waits for its money; once it stopped waiting, only a late delivery reopens the
        row, and after the delivery window it is closed."""
        if order_waiting:
            # The first step was waited before this check (the row was opened with it).
            last = len(PAYMENT_CHECK_BACKOFF) - 1
            step = PAYMENT_CHECK_BACKOFF[min(self.attempts + 1, last)]
            self.keep_open("nothing to apply yet", now + step)
        elif now < self.received_at + DELIVERY_WINDOW:
            self.keep_open(
                "nothing to apply; open for a late delivery", self.received_at + DELIVERY_WINDOW
            )
        else:
            self.mark_processed(now)

    def failed(self, error: str, now: datetime) -> None:
        """Processing raised: try again later, backing off."""
        delay = min(INBOX_FIRST_RETRY * 2**self.attempts, INBOX_LONGEST_RETRY)
        self.record_failure(error, now + delay)

    def redeliver(self, payload: bytes, now: datetime) -> None:
        """Another delivery of an open event: to be processed now by the process that
        stored it (the worker's retries after ``DELIVERY_CLAIM``), its schedule afresh."""
        self.payload = payload
        self.attempts = 0
        self.last_error = None
        self.next_attempt_at = now + DELIVERY_CLAIM


def inbox_key(provider: str, event_type: str, reference: str) -> str:
    return f"{provider}:{event_type}:{reference}"


def expected_charge(provider: str, reference: str, now: datetime) -> InboxEvent:
    """The row a new payment reference opens: nothing delivered yet, so the worker
    polls the provider on ``PAYMENT_CHECK_BACKOFF`` until a delivery or a poll applies it.
    It is the row a delivery of the charge's success lands in."""
    kind = PaymentEventKind.CHARGE_SUCCEEDED
    return InboxEvent(
        key=inbox_key(provider, kind, reference),
        provider=provider,
        event_type=kind,
        reference=reference,
        payload=b"",
        received_at=now,
        next_attempt_at=now + PAYMENT_CHECK_BACKOFF[0],
    )


def delivered(provider: str, event: PaymentEvent, body: bytes, now: datetime) -> InboxEvent:
    """The row a webhook delivery opens, to be processed now by the process that stored
    it (by the worker's retries once ``DELIVERY_CLAIM`` is over)."""
    return InboxEvent(
        key=inbox_key(provider, event.kind, event.reference),
        provider=provider,
        event_type=event.kind,
        reference=event.reference,
        payload=body,
        received_at=now,
        next_attempt_at=now + DELIVERY_CLAIM,
    )
