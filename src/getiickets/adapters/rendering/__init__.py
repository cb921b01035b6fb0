"""``QrcodeReportlabRenderer``: ticket QR images (zxing-cpp + Pillow) and PDFs (reportlab).

These libraries are synchronous and CPU-bound, so each rendering runs in a worker
thread, off the event loop.
"""

from __future__ import annotations

from anyio import to_thread

from getiickets.adapters.rendering.pdf import ticket_pdf
from getiickets.adapters.rendering.qr import qr_png
from getiickets.ports.files import TicketDocument

__all__ = ["QrcodeReportlabRenderer"]


class QrcodeReportlabRenderer:
    async def qr_png(self, payload: str) -> bytes:
        return await to_thread.run_sync(qr_png, payload)

    async def pdf(self, document: TicketDocument) -> bytes:
        return await to_thread.run_sync(ticket_pdf, document)
