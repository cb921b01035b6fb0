"""``QrcodeReportlabRenderer``: ticket QR images (zxing-cpp + Pillow) and PDFs (reportlab);
``BabelMessageComposer``: the words of the emails and SMS that carry them.

These libraries are synchronous and CPU-bound, so each rendering runs in a worker
thread, off the event loop.

They are imported when first used, not with this package: every API process builds
these adapters, but only the worker draws tickets and writes messages (an API process
draws one only for a download that came before the worker), and reportlab, zxing-cpp,
Pillow and Babel would stay resident in each API process for nothing. The first ticket
a process draws pays the import (a fifth of a second), in the worker thread.
"""

from __future__ import annotations

from anyio import to_thread

from getiickets.adapters.rendering.messages import BabelMessageComposer
from getiickets.ports.files import RenderedTicket, TicketDocument

__all__ = ["BabelMessageComposer", "QrcodeReportlabRenderer"]


class QrcodeReportlabRenderer:
    async def qr_png(self, payload: str) -> bytes:
        return await to_thread.run_sync(_qr_png, payload)

    async def pdf(self, document: TicketDocument) -> bytes:
        return await to_thread.run_sync(_ticket_pdf, document)

    async def render(self, document: TicketDocument) -> RenderedTicket:
        return await to_thread.run_sync(_render_ticket, document)


# In the worker thread: the first call imports the drawing libraries there, off the loop.


def _qr_png(payload: str) -> bytes:
    from getiickets.adapters.rendering import tickets  # noqa: PLC0415 - on first use

    return tickets.qr_png(payload)


def _ticket_pdf(document: TicketDocument) -> bytes:
    from getiickets.adapters.rendering import tickets  # noqa: PLC0415 - on first use

    return tickets.ticket_pdf(document)


def _render_ticket(document: TicketDocument) -> RenderedTicket:
    from getiickets.adapters.rendering import tickets  # noqa: PLC0415 - on first use

    return tickets.render_ticket(document)
