"""Tickets, their signed QR payloads, and check-in at the door.

A QR payload is ``GT1.<claims>.<signature>``, both parts base64url without padding.
The claims name the ticket and its event; the signature is made by the
``TicketSigner`` port over the exact claim bytes, so any change is detected and an
offline scanner holding the public key can verify without calling us.
"""

from __future__ import annotations

import base64
import binascii
import enum
from datetime import datetime

import msgspec

from getiickets.domain.model.errors import InvalidTicketError, WrongEventError

QR_PREFIX = "GT1"
TICKET_NUMBER_CODE_LENGTH = 16


class TicketStatus(enum.StrEnum):
    VALID = "valid"
    CHECKED_IN = "checked_in"
    VOID = "void"


class CheckInOutcome(enum.StrEnum):
    OK = "ok"
    ALREADY_CHECKED_IN = "already_checked_in"


class QrClaims(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    t: str
    """Ticket id."""
    e: str
    """Event id."""


class SignedQr(msgspec.Struct, frozen=True, kw_only=True):
    claims: QrClaims
    message: bytes
    """The exact bytes that were signed."""
    signature: bytes


def qr_message(claims: QrClaims) -> bytes:
    return msgspec.json.encode(claims)


def qr_payload(message: bytes, signature: bytes) -> str:
    return f"{QR_PREFIX}.{_b64(message)}.{_b64(signature)}"


def parse_qr_payload(payload: str) -> SignedQr:
    """Split a scanned payload; anything malformed is an invalid ticket."""
    parts = payload.strip().split(".")
    if len(parts) != 3 or parts[0] != QR_PREFIX:  # noqa: PLR2004 - prefix, claims, signature
        raise InvalidTicketError("not a getiickets ticket code")
    try:
        message = _unb64(parts[1])
        signature = _unb64(parts[2])
        claims = msgspec.json.decode(message, type=QrClaims)
    except (binascii.Error, ValueError, msgspec.ValidationError, msgspec.DecodeError) as error:
        raise InvalidTicketError("the ticket code is damaged") from error
    return SignedQr(claims=claims, message=message, signature=signature)


def ticket_number(code: str) -> str:
    """Unguessable (80 random bits) and still easy to read out: ``TK-XXXX-XXXX-XXXX-XXXX``."""
    if len(code) != TICKET_NUMBER_CODE_LENGTH:
        raise ValueError(f"ticket numbers are made of {TICKET_NUMBER_CODE_LENGTH} characters")
    return "TK-" + "-".join(code[i : i + 4] for i in range(0, TICKET_NUMBER_CODE_LENGTH, 4))


class Ticket(msgspec.Struct, kw_only=True):
    id: str
    ticket_number: str
    order_id: str
    event_id: str
    ticket_type_id: str
    holder_name: str
    qr_payload: str
    issued_at: datetime
    status: TicketStatus = TicketStatus.VALID
    checked_in_at: datetime | None = None
    qr_key: str | None = None
    """Where the rendered QR image is stored, once the worker has made it."""
    pdf_key: str | None = None
    version: int = 0

    def check_in(self, event_id: str, now: datetime) -> CheckInOutcome:
        if self.event_id != event_id:
            raise WrongEventError("this ticket is for another event")
        if self.status is TicketStatus.VOID:
            raise InvalidTicketError("this ticket has been voided")
        if self.status is TicketStatus.CHECKED_IN:
            return CheckInOutcome.ALREADY_CHECKED_IN
        self.status = TicketStatus.CHECKED_IN
        self.checked_in_at = now
        return CheckInOutcome.OK

    def void(self) -> None:
        self.status = TicketStatus.VOID


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or not text.isascii():
        raise ValueError("empty or non-ASCII base64")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # Decoding forgives stray characters and unused trailing bits, so several texts
    # decode alike; only the canonical spelling counts, or a changed code would pass.
    if _b64(data) != text:
        raise ValueError("non-canonical base64")
    return data
