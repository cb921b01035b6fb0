"""Rows to aggregates and back, spelled out field by field.

Explicit on purpose: a renamed field fails here (and in mypy) instead of silently
writing a column that no longer exists, and the table shapes stay free to differ
from the Structs (money in two columns, lists of children in their own tables).
Loading goes through the Structs' constructors, so their ``__post_init__`` checks
run on what the database returns, as they do on what the fakes return.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from getiickets.adapters.idempotency_records import IdempotencyRecord
from getiickets.domain.model.accounts import Role, User, canonical_email
from getiickets.domain.model.catalog import Event, EventStatus, TicketType
from getiickets.domain.model.money import Money
from getiickets.domain.model.notifications import Channel, MessageStatus, OutboxMessage, Template
from getiickets.domain.model.orders import Buyer, Order, OrderLine, OrderStatus
from getiickets.domain.model.payments import InboxEvent
from getiickets.domain.model.tickets import Ticket, TicketStatus

Values = dict[str, Any]
"""Column name to value, for one row."""


def text_key(text: str) -> str:
    """What case-insensitive lookups compare: Python's lower(), as the fakes use."""
    return text.lower()


# --------------------------------------------------------------------------- users


def user_values(user: User) -> Values:
    return {
        "id": user.id,
        "email": user.email,
        "email_key": canonical_email(user.email),
        "name": user.name,
        "role": user.role.value,
        "password_hash": user.password_hash,
        "phone": user.phone,
        "created_at": user.created_at,
        "version": user.version,
    }


def user_from(row: Any, version: int) -> User:
    return User(
        id=row.id,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        password_hash=row.password_hash,
        created_at=row.created_at,
        phone=row.phone,
        version=version,
    )


# --------------------------------------------------------------------------- events


def event_values(event: Event) -> Values:
    return {
        "id": event.id,
        "slug": event.slug,
        "organizer_id": event.organizer_id,
        "title": event.title,
        "description": event.description,
        "category": event.category,
        "category_key": text_key(event.category),
        "city": event.city,
        "city_key": text_key(event.city),
        "venue": event.venue,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "timezone": event.timezone,
        "currency": event.currency,
        "status": event.status.value,
        "image_key": event.image_key,
        "created_at": event.created_at,
        "version": event.version,
    }


def ticket_type_values(event: Event) -> list[Values]:
    return [
        {
            "id": ticket_type.id,
            "event_id": event.id,
            "position": position,
            "name": ticket_type.name,
            "price_amount": ticket_type.price.amount,
            "price_currency": ticket_type.price.currency,
            "capacity": ticket_type.capacity,
            "max_per_order": ticket_type.max_per_order,
            "sales_start": ticket_type.sales_start,
            "sales_end": ticket_type.sales_end,
        }
        for position, ticket_type in enumerate(event.ticket_types)
    ]


def event_from(row: Any, ticket_type_rows: Sequence[Any], version: int) -> Event:
    """``ticket_type_rows`` in position order."""
    return Event(
        id=row.id,
        slug=row.slug,
        organizer_id=row.organizer_id,
        title=row.title,
        description=row.description,
        category=row.category,
        city=row.city,
        venue=row.venue,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        timezone=row.timezone,
        currency=row.currency,
        status=EventStatus(row.status),
        image_key=row.image_key,
        ticket_types=[
            TicketType(
                id=tt.id,
                event_id=tt.event_id,
                name=tt.name,
                price=Money(amount=tt.price_amount, currency=tt.price_currency),
                capacity=tt.capacity,
                max_per_order=tt.max_per_order,
                sales_start=tt.sales_start,
                sales_end=tt.sales_end,
            )
            for tt in ticket_type_rows
        ],
        created_at=row.created_at,
        version=version,
    )


# --------------------------------------------------------------------------- orders


def order_values(order: Order) -> Values:
    return {
        "id": order.id,
        "order_number": order.order_number,
        "event_id": order.event_id,
        "buyer_email": order.buyer.email,
        "buyer_name": order.buyer.name,
        "buyer_phone": order.buyer.phone,
        "buyer_user_id": order.buyer_user_id,
        "total_amount": order.total.amount,
        "total_currency": order.total.currency,
        "status": order.status.value,
        "created_at": order.created_at,
        "expires_at": order.expires_at,
        "access_token_digest": order.access_token_digest,
        "paid_at": order.paid_at,
        "payment_reference": order.payment_reference,
        "checkout_url": order.checkout_url,
        "access_code": order.access_code,
        "payment_issue": order.payment_issue,
        "refunded_at": order.refunded_at,
        "refund_due": order.refund_due,
        "past_references": list(order.past_references),
        "version": order.version,
    }


def order_line_values(order: Order) -> list[Values]:
    return [
        {
            "order_id": order.id,
            "position": position,
            "ticket_type_id": line.ticket_type_id,
            "name": line.name,
            "quantity": line.quantity,
            "unit_price_amount": line.unit_price.amount,
            "unit_price_currency": line.unit_price.currency,
            "hold_id": line.hold_id,
        }
        for position, line in enumerate(order.lines)
    ]


def order_from(row: Any, line_rows: Sequence[Any], version: int) -> Order:
    """``line_rows`` in position order."""
    return Order(
        id=row.id,
        order_number=row.order_number,
        event_id=row.event_id,
        buyer=Buyer(email=row.buyer_email, name=row.buyer_name, phone=row.buyer_phone),
        buyer_user_id=row.buyer_user_id,
        lines=[
            OrderLine(
                ticket_type_id=line.ticket_type_id,
                name=line.name,
                quantity=line.quantity,
                unit_price=Money(amount=line.unit_price_amount, currency=line.unit_price_currency),
                hold_id=line.hold_id,
            )
            for line in line_rows
        ],
        total=Money(amount=row.total_amount, currency=row.total_currency),
        status=OrderStatus(row.status),
        created_at=row.created_at,
        expires_at=row.expires_at,
        access_token_digest=row.access_token_digest,
        paid_at=row.paid_at,
        payment_reference=row.payment_reference,
        checkout_url=row.checkout_url,
        access_code=row.access_code,
        payment_issue=row.payment_issue,
        refunded_at=row.refunded_at,
        refund_due=bool(row.refund_due),
        past_references=list(row.past_references or []),
        version=version,
    )


# --------------------------------------------------------------------------- tickets


def ticket_values(ticket: Ticket) -> Values:
    return {
        "id": ticket.id,
        "ticket_number": ticket.ticket_number,
        "order_id": ticket.order_id,
        "event_id": ticket.event_id,
        "ticket_type_id": ticket.ticket_type_id,
        "holder_name": ticket.holder_name,
        "qr_payload": ticket.qr_payload,
        "issued_at": ticket.issued_at,
        "status": ticket.status.value,
        "checked_in_at": ticket.checked_in_at,
        "qr_key": ticket.qr_key,
        "pdf_key": ticket.pdf_key,
        "version": ticket.version,
    }


def ticket_from(row: Any, version: int) -> Ticket:
    return Ticket(
        id=row.id,
        ticket_number=row.ticket_number,
        order_id=row.order_id,
        event_id=row.event_id,
        ticket_type_id=row.ticket_type_id,
        holder_name=row.holder_name,
        qr_payload=row.qr_payload,
        issued_at=row.issued_at,
        status=TicketStatus(row.status),
        checked_in_at=row.checked_in_at,
        qr_key=row.qr_key,
        pdf_key=row.pdf_key,
        version=version,
    )


# --------------------------------------------------------------------------- outbox


def outbox_values(message: OutboxMessage) -> Values:
    return {
        "id": message.id,
        "channel": message.channel.value,
        "template": message.template.value,
        "recipient": message.recipient,
        "recipient_name": message.recipient_name,
        "order_id": message.order_id,
        # Reduced to JSON's own types here, whatever the engine's serializer: a value
        # JSON cannot hold fails now, as it does in the fake, not at some later flush.
        "data": msgspec.to_builtins(message.data),
        "created_at": message.created_at,
        "next_attempt_at": message.next_attempt_at,
        "status": message.status.value,
        "attempts": message.attempts,
        "last_error": message.last_error,
        "provider_message_id": message.provider_message_id,
        "delivery_status": message.delivery_status,
        "sent_at": message.sent_at,
        "version": message.version,
    }


def outbox_from(row: Any, version: int) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        channel=Channel(row.channel),
        template=Template(row.template),
        recipient=row.recipient,
        recipient_name=row.recipient_name,
        order_id=row.order_id,
        data=row.data,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        status=MessageStatus(row.status),
        attempts=row.attempts,
        last_error=row.last_error,
        provider_message_id=row.provider_message_id,
        delivery_status=row.delivery_status,
        sent_at=row.sent_at,
        version=version,
    )


# --------------------------------------------------------------------------- payment inbox


def inbox_values(event: InboxEvent) -> Values:
    return {
        "key": event.key,
        "provider": event.provider,
        "event_type": event.event_type,
        "reference": event.reference,
        "payload": event.payload,
        "received_at": event.received_at,
        "processed_at": event.processed_at,
        "attempts": event.attempts,
        "next_attempt_at": event.next_attempt_at,
        "last_error": event.last_error,
        "version": event.version,
    }


def inbox_from(row: Any, version: int) -> InboxEvent:
    return InboxEvent(
        key=row.key,
        provider=row.provider,
        event_type=row.event_type,
        reference=row.reference,
        payload=bytes(row.payload),
        received_at=row.received_at,
        processed_at=row.processed_at,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        version=version,
    )


# --------------------------------------------------------------------------- idempotency


def idempotency_values(record: IdempotencyRecord) -> Values:
    return {
        "scope": record.scope,
        "key": record.key,
        "fingerprint": record.fingerprint,
        "status_code": record.status_code,
        "body": record.body,
        "created_at": record.created_at,
    }


def idempotency_from(row: Any) -> IdempotencyRecord:
    return IdempotencyRecord(
        scope=row.scope,
        key=row.key,
        fingerprint=row.fingerprint,
        status_code=row.status_code,
        body=bytes(row.body),
        created_at=row.created_at,
    )
