"""Ticket files: each ticket's QR image and PDF, rendered once and stored.

The worker renders what is missing; a request that needs the files now (the ticket
page, the email's links) renders them on the spot. Keys are derived from the ticket,
so a repeated or racing render overwrites the same objects with the same content.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from getiickets.domain.model.errors import ConflictError, NotFoundError
from getiickets.ports.files import TicketDocument

if TYPE_CHECKING:
    from getiickets.domain.model.tickets import Ticket
    from getiickets.ports.files import FileStorage, TicketRenderer
    from getiickets.ports.unit_of_work import UnitOfWorkFactory


def qr_key(ticket: Ticket) -> str:
    return f"tickets/{ticket.order_id}/{ticket.ticket_number}-qr.png"


def pdf_key(ticket: Ticket) -> str:
    return f"tickets/{ticket.order_id}/{ticket.ticket_number}.pdf"


class TicketFiles:
    """Renders each ticket's QR image and PDF once, and stores them."""

    def __init__(
        self, *, uow: UnitOfWorkFactory, renderer: TicketRenderer, files: FileStorage
    ) -> None:
        self._uow = uow
        self._renderer = renderer
        self._files = files

    async def render_missing(self, limit: int = 50) -> int:
        """Worker: render files for tickets that have none yet; returns how many."""
        async with self._uow() as uow:
            tickets = await uow.tickets.without_files(limit)
        for ticket in tickets:
            await self.render(ticket)
        return len(tickets)

    async def for_order(self, order_id: str) -> list[Ticket]:
        """The order's tickets, every one with its files stored."""
        async with self._uow() as uow:
            tickets = await uow.tickets.for_order(order_id)
        return [
            ticket if ticket.qr_key and ticket.pdf_key else await self.render(ticket)
            for ticket in tickets
        ]

    async def render(self, ticket: Ticket) -> Ticket:
        """Render and store one ticket's files now; returns it with their keys."""
        async with self._uow() as uow:
            order = await uow.orders.get(ticket.order_id)
            event = await uow.events.get(ticket.event_id)
        if order is None or event is None:
            raise NotFoundError("the ticket's order or event is gone")
        document = TicketDocument(
            event_title=event.title,
            starts_at=event.starts_at,
            timezone=event.timezone,
            venue=event.venue,
            city=event.city,
            holder_name=ticket.holder_name,
            ticket_type_name=event.ticket_type(ticket.ticket_type_id).name,
            ticket_number=ticket.ticket_number,
            order_number=order.order_number,
            qr_payload=ticket.qr_payload,
        )
        rendered = await self._renderer.render(document)  # one QR encoding for both files
        # Keys are derived from the ticket, so a repeated render overwrites the same
        # objects with the same content: safe for two workers to race.
        await self._files.put(qr_key(ticket), rendered.qr_png, "image/png")
        await self._files.put(pdf_key(ticket), rendered.pdf, "application/pdf")
        async with self._uow() as uow:
            current = await uow.tickets.get(ticket.id)
            if current is None:
                raise NotFoundError("ticket is gone")
            if current.qr_key is None or current.pdf_key is None:
                current.qr_key, current.pdf_key = qr_key(ticket), pdf_key(ticket)
                # SQL repositories check the version on save, the fakes on commit.
                try:
                    await uow.tickets.save(current)
                    await uow.commit()
                except ConflictError:
                    # Someone else saved the ticket meanwhile (a racing render records
                    # the same keys). The files are stored either way, so the keys
                    # are good; the worker records them if the other writer did not.
                    return current
            return current
