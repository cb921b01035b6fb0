"""Stored files and the ticket documents rendered into them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

import msgspec

from getiickets.domain.model.local_time import DEFAULT_TIMEZONE


class FileStorage(Protocol):
    """Private objects, reached only through short-lived signed URLs.

    ``put`` raises ``UnsupportedMediaTypeError`` for a content type outside the
    storage's allow-list and ``PayloadTooLargeError`` past its size limit, before
    anything is stored.
    """

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...
    async def get(self, key: str) -> bytes:
        """Raises ``NotFoundError`` for a missing key."""
        ...

    async def exists(self, key: str) -> bool: ...
    async def signed_url(self, key: str, expires_in: timedelta) -> str: ...


class TicketDocument(msgspec.Struct, frozen=True, kw_only=True):
    event_title: str
    starts_at: datetime
    timezone: str = DEFAULT_TIMEZONE
    """IANA zone the time is printed in (the event's)."""
    venue: str
    city: str
    holder_name: str
    ticket_type_name: str
    ticket_number: str
    order_number: str
    qr_payload: str


class RenderedTicket(msgspec.Struct, frozen=True, kw_only=True):
    qr_png: bytes
    pdf: bytes


class TicketRenderer(Protocol):
    async def qr_png(self, payload: str) -> bytes:
        """A 300x300 PNG, error correction H, encoding exactly ``payload``."""
        ...

    async def pdf(self, document: TicketDocument) -> bytes:
        """A 400x600 point ticket with the event, holder, number and QR code."""
        ...

    async def render(self, document: TicketDocument) -> RenderedTicket:
        """Both files of one ticket, byte for byte what ``qr_png(document.qr_payload)``
        and ``pdf(document)`` give, for the price of one: the QR code is encoded once."""
        ...
