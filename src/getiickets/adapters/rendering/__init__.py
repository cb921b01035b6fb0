"""``QrcodeReportlabRenderer``: ticket QR images (zxing-cpp + Pillow) and PDFs (reportlab);
``BabelMessageComposer``: the words of the emails and SMS that carry them.

These libraries are synchronous and CPU-bound, so each rendering runs in a worker
thread, off the event loop.
"""

from __future__ import annotations

from anyio import to_thread

from getiickets.adapters.rendering.messages import BabelMessageComposer
from getiickets.adapters.rendering.pdf import ticket_pdf
from getiickets.adapters.rendering.qr import qr_png, qr_symbol, symbol_png
from getiickets.ports.files import RenderedTicket, TicketDocument

__all__ = ["BabelMessageComposer", "QrcodeReportlabRenderer", "render_ticket"]


class QrcodeReportlabRenderer:
    async def qr_png(self, payload: str) -> bytes:
        return await to_thread.run_sync(qr_png, payload)

    async def pdf(self, document: TicketDocument) -> bytes:
        return await to_thread.run_sync(ticket_pdf, document)

    async def render(self, document: TicketDocument) -> RenderedTicket:
        return await to_thread.run_sync(render_ticket, document)


def render_ticket(document: TicketDocument) -> RenderedTicket:
    """A ticket's PNG and PDF, both drawn from one encoding of its QR code."""
    symbol = qr_symbol(document.qr_payload)
    return RenderedTicket(qr_png=symbol_png(symbol), pdf=ticket_pdf(document, symbol))
