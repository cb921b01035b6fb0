"""``QrcodeReportlabRenderer.render``: one ticket's files from one QR encoding, off the loop.

Encoding the symbol is the largest share of a ticket's rendering; the worker renders
every ticket of a sell-out, so doing it twice (once per file) halves its rate.
"""

from __future__ import annotations

import threading

import pytest

from getiickets.adapters.rendering import QrcodeReportlabRenderer, pdf, qr, tickets
from getiickets.ports.files import RenderedTicket, TicketDocument
from tests.contract.test_ticket_renderer_contract import DOCUMENT

pytestmark = pytest.mark.contract


async def test_a_ticket_encodes_its_qr_code_once_for_both_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    encoded: list[str] = []
    real = qr.qr_symbol

    def qr_symbol(payload: str) -> qr.QrSymbol:
        encoded.append(payload)
        return real(payload)

    # Every module that could encode on the way: the ticket's, the PNG's and the PDF's.
    for module in (tickets, qr, pdf):
        monkeypatch.setattr(module, "qr_symbol", qr_symbol)

    await QrcodeReportlabRenderer().render(DOCUMENT)

    assert encoded == [DOCUMENT.qr_payload]


async def test_render_runs_off_the_event_loop_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    real = tickets.render_ticket

    def render_ticket(document: TicketDocument) -> RenderedTicket:
        threads.append(threading.get_ident())
        return real(document)

    monkeypatch.setattr(tickets, "render_ticket", render_ticket)

    await QrcodeReportlabRenderer().render(DOCUMENT)

    assert len(threads) == 1
    assert threading.get_ident() not in threads
