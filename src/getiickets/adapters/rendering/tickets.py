"""A ticket's files, drawn: its QR code as a PNG and its PDF, both from one encoding.

Imported on first use by ``QrcodeReportlabRenderer`` (see the package), and directly by
whatever draws tickets without an event loop (the bench's rendering scenario).
"""

from __future__ import annotations

from getiickets.adapters.rendering.pdf import ticket_pdf
from getiickets.adapters.rendering.qr import qr_png, qr_symbol, symbol_png
from getiickets.ports.files import RenderedTicket, TicketDocument

__all__ = ["qr_png", "render_ticket", "ticket_pdf"]


def render_ticket(document: TicketDocument) -> RenderedTicket:
    """A ticket's PNG and PDF, both drawn from one encoding of its QR code."""
    symbol = qr_symbol(document.qr_payload)
    return RenderedTicket(qr_png=symbol_png(symbol), pdf=ticket_pdf(document, symbol))
