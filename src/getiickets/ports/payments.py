"""The payment provider (Paystack in production)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import msgspec

from getiickets.domain.model.money import Money

if TYPE_CHECKING:
    from getiickets.domain.model.payments import (
        PaymentInitialization,
        PaymentVerification,
        RefundReceipt,
    )


class PaymentRequest(msgspec.Struct, frozen=True, kw_only=True):
    reference: str
    email: str
    amount: Money
    callback_url: str
    metadata: dict[str, str] = msgspec.field(default_factory=dict)


class PaymentGateway(Protocol):
    """Errors: ``PaymentProviderUnavailableError`` after retries, ``PaymentProviderError``
    for a refusal, ``NotFoundError`` from ``verify`` for an unknown reference, and
    ``CheckoutUnavailableError`` from ``initialize`` for a reference the provider has but
    whose checkout link it will not give again (a lost answer)."""

    async def initialize(self, request: PaymentRequest) -> PaymentInitialization:
        """Start a transaction; again with the same reference returns the same checkout."""
        ...

    async def verify(self, reference: str) -> PaymentVerification: ...

    async def refund(self, reference: str, amount: Money | None = None) -> RefundReceipt:
        """Refund all (``amount`` None) or part of a successful transaction.

        Idempotent: a transaction already refunded answers with its existing refund.
        """
        ...

    def is_authentic_webhook(self, body: bytes, signature: str) -> bool:
        """Whether ``signature`` is the provider's signature of exactly these bytes."""
        ...
