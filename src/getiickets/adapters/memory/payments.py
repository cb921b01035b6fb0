"""``InMemoryPaymentGateway``: a Paystack account in memory, with controls for tests.

It answers as Paystack does (see ``docs/providers.md`` §1): a
transaction is ``abandoned`` until the customer pays, amounts are kobo, references are
unique and limited to letters, digits, ``-``, ``.`` and ``=``, refunds start
``pending`` only a successful charge can be refunded and a fully refunded one reads
``reversed``, and webhooks are signed
with HMAC-SHA512 of the raw body under the secret key, as lowercase hex.

One deliberate difference: initializing an existing reference again with the same
email and amount returns the first checkout, as the ``PaymentGateway`` port promises
(Paystack itself answers ``duplicate_reference``; the real adapter must bridge that).

The controls (``pay``, ``decline``, ``webhook_body``, ``sign``, ``fail_next``) stand
in for the customer and for the network; nothing in production calls them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import msgspec

from getiickets.adapters import paystack_wire
from getiickets.adapters.memory.connections import check_no_unit_open
from getiickets.domain.model.errors import (
    CheckoutUnavailableError,
    NotFoundError,
    PaymentProviderError,
    PaymentProviderUnavailableError,
)
from getiickets.domain.model.money import Money
from getiickets.domain.model.payments import (
    PaymentEvent,
    PaymentInitialization,
    PaymentStatus,
    PaymentVerification,
    RefundReceipt,
    RefundStatus,
)
from getiickets.ports.clock import Clock, IdGenerator
from getiickets.ports.payments import PaymentRequest

Operation = Literal["initialize", "verify", "refund"]
_REFERENCE = re.compile(r"[A-Za-z0-9.=-]+")
_ACCESS_CODE_LENGTH = 15  # as long as Paystack's, e.g. "3ni8kdavz62431k"
_GATEWAY_RESPONSES = {
    PaymentStatus.SUCCESS: "Successful",
    PaymentStatus.FAILED: "Declined",
    PaymentStatus.ABANDONED: "The transaction was not completed",
    PaymentStatus.REVERSED: "Refunded",
    PaymentStatus.PENDING: "Transaction in progress",
}


@dataclass
class _Transaction:
    request: PaymentRequest
    access_code: str
    status: PaymentStatus = PaymentStatus.ABANDONED
    charged: Money | None = None
    """What the customer actually paid, when it differs from what was asked."""
    paid_at: datetime | None = None
    refunds: list[RefundReceipt] = field(default_factory=list)

    @property
    def amount(self) -> Money:
        return self.request.amount if self.charged is None else self.charged


class InMemoryPaymentGateway:
    def __init__(
        self,
        secret_key: str,
        clock: Clock,
        ids: IdGenerator,
        checkout_base_url: str = "https://checkout.invalid/",
    ) -> None:
        self._secret_key = secret_key
        self._clock = clock
        self._ids = ids
        self._checkout_base_url = checkout_base_url
        self._transactions: dict[str, _Transaction] = {}
        self._failures_left = 0
        self._failure: Exception | None = None
        self._failing_operation: Operation | None = None
        self.refunds: list[RefundReceipt] = []
        self.initialize_calls = 0
        self._lose_next_answer = False
        self._links_lost: set[str] = set()
        self.verify_calls = 0

    async def initialize(self, request: PaymentRequest) -> PaymentInitialization:
        self.initialize_calls += 1
        self._maybe_fail("initialize")
        if not _REFERENCE.fullmatch(request.reference):
            raise PaymentProviderError("invalid character in transaction reference")
        if not request.email.strip():
            raise PaymentProviderError("missing_params: email address is required")
        if request.amount.amount <= 0:
            raise PaymentProviderError("you must specify a valid amount")
        transaction = self._transactions.get(request.reference)
        if transaction is None:
            code = self._ids.new_code(_ACCESS_CODE_LENGTH).lower()
            transaction = _Transaction(request=request, access_code=code)
            self._transactions[request.reference] = transaction
        elif (transaction.request.email, transaction.request.amount) != (
            request.email,
            request.amount,
        ):
            raise PaymentProviderError("duplicate_reference")
        elif request.reference in self._links_lost:
            raise CheckoutUnavailableError("duplicate_reference and no checkout link to give")
        if self._lose_next_answer:
            # Created at "Paystack", but the answer never arrives: the link is gone.
            self._lose_next_answer = False
            self._links_lost.add(request.reference)
            raise PaymentProviderUnavailableError("the answer to initialize was lost")
        return PaymentInitialization(
            authorization_url=self._checkout_base_url + transaction.access_code,
            access_code=transaction.access_code,
            reference=request.reference,
        )

    async def verify(self, reference: str) -> PaymentVerification:
        self.verify_calls += 1
        self._maybe_fail("verify")
        transaction = self._transaction(reference)
        return PaymentVerification(
            reference=reference,
            status=transaction.status,
            amount=transaction.amount,
            paid_at=transaction.paid_at,
            gateway_response=_GATEWAY_RESPONSES[transaction.status],
        )

    async def refund(self, reference: str, amount: Money | None = None) -> RefundReceipt:
        """Refund a successful charge, all of what is left (``amount`` None) or part.

        Once fully refunded, asking again answers with the last refund (idempotent, as
        the port requires; Paystack says "Transaction has been fully reversed" and the
        real adapter looks the refund up). Only ``refunds`` made here are listed.
        """
        self._maybe_fail("refund")
        transaction = self._transactions.get(reference)
        if transaction is None:
            raise PaymentProviderError("transaction reference not found")
        if transaction.status is PaymentStatus.REVERSED and transaction.refunds:
            return transaction.refunds[-1]
        if transaction.status is not PaymentStatus.SUCCESS:
            raise PaymentProviderError(f"a {transaction.status} transaction cannot be refunded")
        paid = transaction.amount
        refundable = paid.amount - sum(refund.amount.amount for refund in transaction.refunds)
        wanted = Money(amount=refundable, currency=paid.currency) if amount is None else amount
        if wanted.currency != paid.currency:
            raise PaymentProviderError("refund currency differs from the transaction's")
        if not 0 < wanted.amount <= refundable:
            raise PaymentProviderError("refund amount cannot be more than the transaction amount")
        receipt = RefundReceipt(reference=reference, status=RefundStatus.PENDING, amount=wanted)
        transaction.refunds.append(receipt)
        self.refunds.append(receipt)
        if wanted.amount == refundable:
            # Paystack reports a fully refunded transaction as "reversed".
            transaction.status = PaymentStatus.REVERSED
        return receipt

    provider = paystack_wire.PROVIDER

    def read_webhook(self, body: bytes, signature: str) -> PaymentEvent | None:
        return paystack_wire.read_webhook(self._secret_key, body, signature)

    # ------------------------------------------------------------------ test controls

    def pay(self, reference: str, amount: Money | None = None) -> None:
        """The customer pays. ``amount``: verification then reports this amount instead
        of the one initialized (a transaction for another sum: the mismatch path)."""
        transaction = self._transaction(reference)
        transaction.status = PaymentStatus.SUCCESS
        transaction.charged = amount
        transaction.paid_at = self._clock.now()

    def decline(self, reference: str) -> None:
        """The customer's bank declines the charge."""
        self._transaction(reference).status = PaymentStatus.FAILED

    def webhook_body(self, event: str, reference: str) -> bytes:
        """The JSON Paystack would POST for ``event`` about this transaction, as it is now.

        ``charge.*`` events carry the transaction (``reference``, ``status``, ``amount``
        in kobo, ``currency``, ``paid_at``); ``refund.*`` events carry the last refund,
        with ``transaction_reference`` and the status the event name ends with
        (``refund.processed`` -> ``processed``), as Paystack's refund events do.
        """
        transaction = self._transaction(reference)
        data: dict[str, object]
        if event.startswith("refund."):
            refunded = transaction.refunds[-1].amount if transaction.refunds else transaction.amount
            data = {
                "transaction_reference": reference,
                "status": event.removeprefix("refund."),
                "amount": refunded.subunits,
                "currency": refunded.currency,
            }
        else:
            data = {
                "reference": reference,
                "status": str(transaction.status),
                "amount": transaction.amount.subunits,
                "currency": transaction.amount.currency,
                "paid_at": None if transaction.paid_at is None else transaction.paid_at.isoformat(),
            }
        return msgspec.json.encode({"event": event, "data": data})

    def sign(self, body: bytes) -> str:
        """The ``x-paystack-signature`` header for ``body``."""
        return paystack_wire.sign(self._secret_key, body)

    def lose_next_initialize_answer(self) -> None:
        """The next initialize creates its transaction but its answer is lost; the
        reference's checkout link can then never be had again (as with Paystack)."""
        self._lose_next_answer = True

    def fail_next(self, calls: int, error: Exception, *, on: Operation | None = None) -> None:
        """Make the next ``calls`` calls raise ``error``: of ``on`` only, or of any of
        ``initialize``, ``verify`` and ``refund``."""
        self._failures_left = calls
        self._failure = error
        self._failing_operation = on

    def _maybe_fail(self, operation: Operation) -> None:
        # A provider call can take seconds: never while a unit of work holds a connection.
        check_no_unit_open(f"the payment gateway's {operation}")
        if self._failing_operation not in {None, operation}:
            return
        if self._failures_left > 0 and self._failure is not None:
            self._failures_left -= 1
            raise self._failure

    def _transaction(self, reference: str) -> _Transaction:
        transaction = self._transactions.get(reference)
        if transaction is None:
            raise NotFoundError(f"transaction {reference} not found")
        return transaction
