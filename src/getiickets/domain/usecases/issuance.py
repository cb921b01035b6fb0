"""Turning a paid order into tickets, and telling the buyer.

``complete_sale`` runs inside the caller's unit of work, so the order becoming paid,
its tickets and the outbox messages that announce them are one transaction: either
all exist or none do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from getiickets.domain.model.notifications import Channel, OutboxMessage, Template
from getiickets.domain.model.tickets import (
    TICKET_NUMBER_CODE_LENGTH,
    QrClaims,
    Ticket,
    qr_message,
    qr_payload,
    ticket_number,
)

if TYPE_CHECKING:
    from datetime import datetime

    from getiickets.domain.model.catalog import Event
    from getiickets.domain.model.orders import Order
    from getiickets.ports.clock import IdGenerator
    from getiickets.ports.security import TicketSigner
    from getiickets.ports.unit_of_work import UnitOfWork


class TicketIssuance:
    def __init__(self, *, signer: TicketSigner, ids: IdGenerator) -> None:
        self._signer = signer
        self._ids = ids

    async def complete_sale(
        self, uow: UnitOfWork, order: Order, event: Event, now: datetime
    ) -> list[Ticket]:
        """Mark the order paid, issue one ticket per unit, and queue the notifications."""
        order.mark_paid(now)
        tickets = [
            self._ticket(order, line.ticket_type_id, now)
            for line in order.lines
            for _ in range(line.quantity)
        ]
        for ticket in tickets:
            await uow.tickets.add(ticket)
        for message in self._notifications(order, event, tickets, now):
            await uow.outbox.add(message)
        return tickets

    def _ticket(self, order: Order, ticket_type_id: str, now: datetime) -> Ticket:
        ticket_id = self._ids.new_id()
        message = qr_message(QrClaims(t=ticket_id, e=order.event_id))
        return Ticket(
            id=ticket_id,
            ticket_number=ticket_number(self._ids.new_code(TICKET_NUMBER_CODE_LENGTH)),
            order_id=order.id,
            event_id=order.event_id,
            ticket_type_id=ticket_type_id,
            holder_name=order.buyer.name,
            qr_payload=qr_payload(message, self._signer.sign(message)),
            issued_at=now,
        )

    def _notifications(
        self, order: Order, event: Event, tickets: list[Ticket], now: datetime
    ) -> list[OutboxMessage]:
        data = _confirmation_data(order, event, tickets)
        recipients = [(Channel.EMAIL, order.buyer.email)]
        if order.buyer.phone:
            recipients.append((Channel.SMS, order.buyer.phone))
        return [
            OutboxMessage(
                id=self._ids.new_id(),
                channel=channel,
                template=Template.TICKET_CONFIRMATION,
                recipient=recipient,
                recipient_name=order.buyer.name,
                order_id=order.id,
                data=data,
                created_at=now,
                next_attempt_at=now,
            )
            for channel, recipient in recipients
        ]


def _confirmation_data(order: Order, event: Event, tickets: list[Ticket]) -> dict[str, Any]:
    """A snapshot: the message says what was true when the sale completed."""
    type_names = {ticket_type.id: ticket_type.name for ticket_type in event.ticket_types}
    return {
        "order_id": order.id,
        "order_number": order.order_number,
        "buyer_name": order.buyer.name,
        "event_id": event.id,
        "event_title": event.title,
        "starts_at": event.starts_at.isoformat(),
        "timezone": event.timezone,
        "venue": event.venue,
        "city": event.city,
        "total": order.total.major,
        "currency": order.total.currency,
        "lines": [
            {
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": line.unit_price.major,
                "subtotal": line.subtotal.major,
            }
            for line in order.lines
        ],
        "tickets": [
            {
                "ticket_id": ticket.id,
                "ticket_number": ticket.ticket_number,
                "ticket_type": type_names.get(ticket.ticket_type_id, ""),
                "holder_name": ticket.holder_name,
            }
            for ticket in tickets
        ],
    }
