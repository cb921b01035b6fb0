"""Email and SMS senders."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

import msgspec

from getiickets.domain.model.local_time import DEFAULT_TIMEZONE
from getiickets.domain.model.money import Money


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


# ------------------------------------------------------------------ what the messages say


class ConfirmedLine(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    quantity: int
    unit_price: Money
    subtotal: Money


class ConfirmedTicket(msgspec.Struct, frozen=True, kw_only=True):
    ticket_number: str
    ticket_type: str
    holder_name: str
    pdf_url: str | None = None
    """A signed link to the ticket's PDF (the same file is attached to the email)."""


class TicketConfirmation(msgspec.Struct, frozen=True, kw_only=True):
    """The facts of a completed sale that the buyer is told, in the model's own types."""

    buyer_name: str
    event_title: str
    starts_at: datetime
    timezone: str = DEFAULT_TIMEZONE
    venue: str = ""
    city: str = ""
    order_number: str
    total: Money
    lines: tuple[ConfirmedLine, ...] = ()
    tickets: tuple[ConfirmedTicket, ...] = ()


class ComposedEmail(msgspec.Struct, frozen=True, kw_only=True):
    subject: str
    html: str
    text: str


class ComposedSms(msgspec.Struct, frozen=True, kw_only=True):
    body: str
    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    """Parts the network splits the body into (and the carrier bills): 1 when it fits
    160 GSM-7 characters or 70 UCS-2 ones."""


class MessageComposer(Protocol):
    """Words for people: local times, money as people write it, names as spelt."""

    def ticket_email(self, confirmation: TicketConfirmation) -> ComposedEmail: ...
    def ticket_sms(self, confirmation: TicketConfirmation) -> ComposedSms: ...
