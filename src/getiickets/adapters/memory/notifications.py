"""``InMemoryMailer`` and ``InMemorySmsSender``: providers that keep what they are sent.

They behave like Brevo and Twilio where the outbox worker can tell: a repeated
idempotency key returns the first receipt and sends nothing again (Brevo's
``idempotencyKey``; the worker retries timed-out attempts with the same key), a phone
number that is not E.164 is a permanent failure (Twilio error 21211), and an
unconfigured provider raises ``ProviderNotConfiguredError`` so the message is skipped.

``sent`` lists what was delivered, in order; ``configured``, ``fail_next`` and
``lose_next_answer`` are the controls fault tests use. A lost answer is a send the
provider took whose caller saw only a transient failure: the retry, from any process,
gets the first receipt (its id included), as Brevo and the Brevo adapter give it.
"""

from __future__ import annotations

import re
from typing import Generic, TypeVar

from getiickets.ports.notifications import (
    DeliveryError,
    DeliveryReceipt,
    EmailMessage,
    ProviderNotConfiguredError,
    SmsMessage,
)

_E164 = re.compile(r"\+[1-9][0-9]{7,14}")

M = TypeVar("M", EmailMessage, SmsMessage)


class _RecordingSender(Generic[M]):
    _channel = "message"

    def __init__(self, *, configured: bool = True) -> None:
        self.configured = configured
        self.sent: list[M] = []
        self._receipts: dict[str, DeliveryReceipt] = {}
        self._failures_left = 0
        self._failure: Exception | None = None
        self._answers_to_lose = 0

    def fail_next(self, calls: int, error: Exception) -> None:
        """Make the next ``calls`` sends raise ``error`` (e.g. a transient ``DeliveryError``)."""
        self._failures_left = calls
        self._failure = error

    def lose_next_answer(self, calls: int = 1) -> None:
        """The next ``calls`` sends go out, then raise a transient ``DeliveryError``."""
        self._answers_to_lose = calls

    def message_ids(self) -> list[str]:
        """The provider's id of every message delivered, in order."""
        return [
            str(receipt.provider_message_id)
            for receipt in self._receipts.values()
            if receipt.provider_message_id is not None
        ]

    def _deliver(self, message: M) -> DeliveryReceipt:
        receipt = self._receipts.get(message.idempotency_key)
        if receipt is None:
            self.sent.append(message)
            receipt = DeliveryReceipt(provider_message_id=f"{self._channel}-{len(self.sent):06d}")
            self._receipts[message.idempotency_key] = receipt
        if self._answers_to_lose > 0:
            self._answers_to_lose -= 1
            raise DeliveryError(f"{self._channel} provider: the answer was lost", permanent=False)
        return receipt

    def _before_send(self) -> None:
        if not self.configured:
            raise ProviderNotConfiguredError(f"no {self._channel} provider is configured")
        if self._failures_left > 0 and self._failure is not None:
            self._failures_left -= 1
            raise self._failure


class InMemoryMailer(_RecordingSender[EmailMessage]):
    _channel = "email"

    async def send(self, message: EmailMessage) -> DeliveryReceipt:
        self._before_send()
        return self._deliver(message)


class InMemorySmsSender(_RecordingSender[SmsMessage]):
    _channel = "sms"

    async def send(self, message: SmsMessage) -> DeliveryReceipt:
        self._before_send()
        if not _E164.fullmatch(message.to):
            raise DeliveryError(
                f"21211: the 'To' number {message.to} is not a valid phone number", permanent=True
            )
        return self._deliver(message)
