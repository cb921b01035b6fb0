"""Aggregates for the repository contracts, valid by default, every field overridable.

Every optional field is filled by default, so a round trip proves each column is
stored and read back, not only the ones a test happened to set.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from getiickets.adapters.idempotency_records import IdempotencyRecord
from getiickets.domain.model.accounts import Role, User
from getiickets.domain.model.catalog import Event, EventStatus, TicketType
from getiickets.domain.model.money import Money
from getiickets.domain.model.notifications import Channel, MessageStatus, OutboxMessage, Template
from getiickets.domain.model.orders import Buyer, Order, OrderLine, OrderStatus
from getiickets.domain.model.payments import InboxEvent
from getiickets.domain.model.tickets import Ticket, TicketStatus

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LAGOS = timezone(timedelta(hours=1))
"""West Africa Time: aware datetimes in another zone must come back as the same instant."""

_serial = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_serial):06d}"


def ticket_type(event_id: str, **overrides: Any) -> TicketType:
    values: dict[str, Any] = {
        "id": unique("tt"),
        "event_id": event_id,
        "name": unique("Regular"),
        "price": Money(amount=500_000, currency="NGN"),
        "capacity": 100,
        "max_per_order": 6,
        "sales_start": T0 - timedelta(days=10),
        "sales_end": T0 + timedelta(days=10),
    }
    return TicketType(**(values | overrides))


def event(*, ticket_types: int = 2, **overrides: Any) -> Event:
    event_id = overrides.pop("id", unique("event"))
    values: dict[str, Any] = {
        "id": event_id,
        "slug": unique("afro-nation"),
        "organizer_id": unique("organizer"),
        "title": "Afro Nation",
        "description": "Three days of Afrobeats",
        "category": "Music",
        "city": "Lagos",
        "venue": "Eko Atlantic",
        "starts_at": datetime(2026, 12, 20, 18, 0, tzinfo=LAGOS),
        "ends_at": datetime(2026, 12, 20, 23, 30, tzinfo=LAGOS),
        "timezone": "Africa/Nairobi",  # not the default, so a forgotten column shows
        "currency": "NGN",
        "status": EventStatus.PUBLISHED,
        "image_key": f"events/{event_id}/cover.png",
        "ticket_types": [ticket_type(event_id) for _ in range(ticket_types)],
        "created_at": T0 - timedelta(days=30),
    }
    return Event(**(values | overrides))


def order(for_event: Event, *, quantities: tuple[int, ...] = (2, 1), **overrides: Any) -> Order:
    lines = [
        OrderLine(
            ticket_type_id=tt.id,
            name=tt.name,
            quantity=quantity,
            unit_price=tt.price,
            hold_id=unique("hold"),
        )
        for tt, quantity in zip(for_event.ticket_types, quantities, strict=False)
    ]
    total = sum((line.subtotal.amount for line in lines), 0)
    values: dict[str, Any] = {
        "id": unique("order"),
        "order_number": unique("GT"),
        "event_id": for_event.id,
        "buyer": Buyer(email="ada@example.ng", name="Ada Obi", phone="+2348012345678"),
        "buyer_user_id": unique("user"),
        "lines": lines,
        "total": Money(amount=total, currency="NGN"),
        "status": OrderStatus.PENDING,
        "created_at": T0,
        "expires_at": T0 + timedelta(minutes=15),
        "access_token_digest": "d" * 64,
        "payment_reference": unique("TKT"),
        "checkout_url": "https://checkout.paystack.com/3ni8kdavz62431k",
        "access_code": "3ni8kdavz62431k",
        "payment_issue": "payment_mismatch: checked by support",
    }
    return Order(**(values | overrides))


def ticket(for_order: Order, **overrides: Any) -> Ticket:
    values: dict[str, Any] = {
        "id": unique("ticket"),
        "ticket_number": unique("TK"),
        "order_id": for_order.id,
        "event_id": for_order.event_id,
        "ticket_type_id": for_order.lines[0].ticket_type_id,
        "holder_name": "Ada Obi",
        "qr_payload": "GT1.claims.signature",
        "issued_at": T0 + timedelta(minutes=5),
        "status": TicketStatus.VALID,
        "checked_in_at": None,
        "qr_key": "tickets/qr.png",
        "pdf_key": "tickets/ticket.pdf",
    }
    return Ticket(**(values | overrides))


def user(**overrides: Any) -> User:
    values: dict[str, Any] = {
        "id": unique("user"),
        "email": f"{unique('buyer')}@example.ng",
        "name": "Chidi Okeke",
        "role": Role.ORGANIZER,
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        "created_at": T0.astimezone(LAGOS),
        "phone": "+2348098765432",
    }
    return User(**(values | overrides))


def message(order_id: str | None = None, **overrides: Any) -> OutboxMessage:
    values: dict[str, Any] = {
        "id": unique("message"),
        "channel": Channel.EMAIL,
        "template": Template.TICKET_CONFIRMATION,
        "recipient": "ada@example.ng",
        "recipient_name": "Ada Obi",
        "order_id": order_id or unique("order"),
        "data": {
            "event_title": "Afro Nation",
            "total": "10000.00",
            "tickets": [{"ticket_number": "TK-1", "ticket_type": "Regular"}],
            "nested": {"seats": [1, 2, 3], "vip": False, "note": None},
        },
        "created_at": T0,
        "next_attempt_at": T0,
        "status": MessageStatus.PENDING,
        "attempts": 0,
        "last_error": None,
        "provider_message_id": None,
        "delivery_status": None,
        "sent_at": None,
    }
    return OutboxMessage(**(values | overrides))


def inbox_event(**overrides: Any) -> InboxEvent:
    reference = unique("TKT")
    values: dict[str, Any] = {
        "key": f"paystack:charge_succeeded:{reference}",
        "provider": "paystack",
        "event_type": "charge_succeeded",
        "reference": reference,
        # Not UTF-8 on purpose: the payload is kept byte for byte, signature and all.
        "payload": b'{"event":"charge.success"}\xff\x00\xfe',
        "received_at": T0,
        "processed_at": None,
        "attempts": 0,
        "next_attempt_at": None,
        "last_error": None,
    }
    return InboxEvent(**(values | overrides))


def idempotency_record(**overrides: Any) -> IdempotencyRecord:
    values: dict[str, Any] = {
        "scope": "orders.place",
        "key": unique("idem"),
        "fingerprint": "f" * 64,
        "status_code": 201,
        "body": b'{"id":"order-1"}\x00',
        "created_at": T0.astimezone(LAGOS),
    }
    return IdempotencyRecord(**(values | overrides))
