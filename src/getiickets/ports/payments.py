"""The payment provider: checkouts, verification, refunds, and reading its webhooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import msgspec

from getiickets.domain.model.money import Money

if TYPE_CHECKING:
    from getiickets.domain.model.payments import (
        PaymentEvent,
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

    @property
    def provider(self) -> str:
        """The provider's name, kept with each payment inbox row."""
        ...

    def read_webhook(self, body: bytes, signature: str) -> PaymentEvent | None:
        """The event a webhook delivery announces, in the domain's words.

        Raises ``InvalidSignatureError`` unless ``signature`` is the provider's for
        exactly these bytes. Returns None for an authentic delivery that names no
        transaction (nothing to act on, acknowledged); an event the domain has no
        kind for is ``PaymentEventKind.OTHER``.
        """
        ...
