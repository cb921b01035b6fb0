"""Email and SMS senders."""

from __future__ import annotations

from typing import Protocol

import msgspec


class Attachment(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    url: str | None = None
    content: bytes | None = None
    """Raw bytes when there is no URL the provider can fetch."""


class EmailMessage(msgspec.Struct, frozen=True, kw_only=True):
    to_email: str
    to_name: str
    subject: str
    html: str
    text: str
    idempotency_key: str
    attachments: tuple[Attachment, ...] = ()


class SmsMessage(msgspec.Struct, frozen=True, kw_only=True):
    to: str
    """E.164."""
    body: str
    idempotency_key: str


class DeliveryReceipt(msgspec.Struct, frozen=True, kw_only=True):
    provider_message_id: str | None


class DeliveryError(Exception):
    """Sending failed. ``permanent``: trying again cannot help (bad number, rejected)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class ProviderNotConfiguredError(Exception):
    """No credentials for this channel: the message is skipped, with a warning."""


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> DeliveryReceipt: ...


class SmsSender(Protocol):
    async def send(self, message: SmsMessage) -> DeliveryReceipt: ...
