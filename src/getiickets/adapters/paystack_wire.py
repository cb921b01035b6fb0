"""Paystack's wire format where the real adapter and the in-memory fake must agree.

``PaystackGateway`` speaks it to Paystack; ``InMemoryPaymentGateway`` imitates a
Paystack account and signs its webhooks the same way. One reading of it, here, so the
fake cannot drift from the adapter; the payment gateway contract suite proves the pair
against the Paystack simulator's real deliveries.

Webhooks (providers.md section 1): ``{"event": ..., "data": {...}}`` signed with
HMAC-SHA512 of the raw body under the secret key, as lowercase hex in
``x-paystack-signature``. Charge events name the transaction in ``data.reference``,
refund events in ``data.transaction_reference``. ``data.metadata`` is whatever the
merchant sent, and Paystack sends ``""``, ``0`` or ``null`` for none: it is never read.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

import msgspec

from getiickets.domain.model.errors import InvalidSignatureError
from getiickets.domain.model.payments import PaymentEvent, PaymentEventKind, PaymentStatus

logger = logging.getLogger(__name__)

PROVIDER = "paystack"
EVENT_KINDS = {
    "charge.success": PaymentEventKind.CHARGE_SUCCEEDED,
    "charge.failed": PaymentEventKind.CHARGE_FAILED,
    "refund.processed": PaymentEventKind.REFUND_PROCESSED,
}
"""Paystack's event names for what the domain acts on; any other is ``OTHER``."""


class _Envelope(msgspec.Struct, kw_only=True):
    event: str
    data: dict[str, Any] = msgspec.field(default_factory=dict)


def sign(secret_key: str, body: bytes) -> str:
    """The ``x-paystack-signature`` header for ``body``."""
    return hmac.new(secret_key.encode(), body, hashlib.sha512).hexdigest()


def read_webhook(secret_key: str, body: bytes, signature: str) -> PaymentEvent | None:
    """The event in a webhook delivery: ``InvalidSignatureError`` unless ``signature``
    is Paystack's for exactly these bytes; None for an authentic body that names no
    transaction (unreadable, or without a reference): acknowledged, nothing to do."""
    # compare_digest refuses non-ASCII text with TypeError: such a header is forged.
    if not (
        signature and signature.isascii() and hmac.compare_digest(sign(secret_key, body), signature)
    ):
        raise InvalidSignatureError
    try:
        envelope = msgspec.json.decode(body, type=_Envelope)
    # msgspec raises UnicodeDecodeError (not DecodeError) for text that is not UTF-8.
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        logger.warning("authentic webhook with an unreadable body ignored")
        return None
    reference = _reference_of(envelope)
    if reference is None:
        logger.info("webhook %s without a reference acknowledged", envelope.event)
        return None
    kind = EVENT_KINDS.get(envelope.event, PaymentEventKind.OTHER)
    return PaymentEvent(kind=kind, reference=reference)


def payment_status(status: str) -> PaymentStatus:
    """Paystack's transaction status, folded to what matters to an order."""
    # Paystack also says "ongoing", "processing", "queued": money still moving.
    try:
        return PaymentStatus(status)
    except ValueError:
        return PaymentStatus.PENDING


def _reference_of(envelope: _Envelope) -> str | None:
    for field in ("reference", "transaction_reference"):
        value = envelope.data.get(field)
        if isinstance(value, str) and value:
            return value
    return None
