"""The ``TicketRenderer`` contract: what every renderer promises the issuing worker.

A 300x300 PNG, and a one-page 400x600 point PDF whose text names the event, its local
time and place, the holder, the ticket type and the ticket and order numbers. Whether
the QR code scans, and whether names outside Windows-1252 keep every letter (an
embedded font), are the real renderer's promises alone (``test_rendering_adapter.py``):
the in-memory one draws no QR code and writes Helvetica, to need nothing but the
standard library.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from PIL import Image
from pypdf import PdfReader

from getiickets.adapters.memory import InMemoryTicketRenderer
from getiickets.adapters.rendering import QrcodeReportlabRenderer
from getiickets.ports.files import TicketDocument, TicketRenderer

pytestmark = pytest.mark.contract

PAYLOAD = "GT1.eyJ0IjoidGlja2V0LTEyMyIsImUiOiJldmVudC00NTYifQ.c2lnbmF0dXJlLWJ5dGVz"
DOCUMENT = TicketDocument(
    event_title="Lagos Jazz Night",
    starts_at=datetime(2026, 12, 12, 19, 0, tzinfo=UTC),
    timezone="Africa/Lagos",
    venue="Muri Okunola Park",
    city="Lagos",
    holder_name="Ada Obi",
    ticket_type_name="VIP Table",
    ticket_number="TK-7K3F-X2QD-9M4P-ZT8W",
    order_number="GT-7K3F-X2QD",
    qr_payload=PAYLOAD,
)


@pytest.fixture(params=["memory", "qrcode-reportlab"])
def renderer(request: pytest.FixtureRequest) -> TicketRenderer:
    if request.param == "memory":
        return InMemoryTicketRenderer()
    return QrcodeReportlabRenderer()


async def test_the_qr_image_is_a_300_pixel_square_png(renderer: TicketRenderer) -> None:
    png = await renderer.qr_png(PAYLOAD)

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == (300, 300)


@pytest.mark.parametrize("payload", ["x", "GT1." + "A" * 400])
async def test_short_and_long_payloads_give_the_same_size(
    renderer: TicketRenderer, payload: str
) -> None:
    with Image.open(io.BytesIO(await renderer.qr_png(payload))) as image:
        assert image.size == (300, 300)


async def test_the_ticket_is_one_400_by_600_point_pdf_page(renderer: TicketRenderer) -> None:
    pdf = await renderer.pdf(DOCUMENT)

    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == (400.0, 600.0)


@pytest.mark.parametrize(
    "expected",
    [
        pytest.param(DOCUMENT.event_title, id="event"),
        pytest.param("12 Dec 2026", id="date"),
        pytest.param("8:00 pm WAT", id="local-time"),
        pytest.param(DOCUMENT.venue, id="venue"),
        pytest.param(DOCUMENT.city, id="city"),
        pytest.param(DOCUMENT.holder_name, id="holder"),
        pytest.param(DOCUMENT.ticket_type_name, id="ticket-type"),
        pytest.param(DOCUMENT.ticket_number, id="ticket-number"),
        pytest.param(DOCUMENT.order_number, id="order-number"),
    ],
)
async def test_the_ticket_text_names_everything_the_door_checks(
    renderer: TicketRenderer, expected: str
) -> None:
    pdf = await renderer.pdf(DOCUMENT)

    assert expected in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


async def test_each_ticket_prints_its_own_details(renderer: TicketRenderer) -> None:
    other = TicketDocument(
        event_title="Abuja Comedy Fest",
        starts_at=datetime(2027, 1, 30, 17, 30, tzinfo=UTC),
        venue="Eagle Square",
        city="Abuja",
        holder_name="Chinedu Eze",
        ticket_type_name="Regular",
        ticket_number="TK-AAAA-BBBB-CCCC-DDDD",
        order_number="GT-ZZZZ-YYYY",
        qr_payload=PAYLOAD,
    )

    text = PdfReader(io.BytesIO(await renderer.pdf(other))).pages[0].extract_text()

    assert "Chinedu Eze" in text
    assert "TK-AAAA-BBBB-CCCC-DDDD" in text
    assert DOCUMENT.holder_name not in text
    assert DOCUMENT.ticket_number not in text


async def test_render_gives_both_files_exactly_as_the_single_renders_do(
    renderer: TicketRenderer,
) -> None:
    rendered = await renderer.render(DOCUMENT)

    assert rendered.qr_png == await renderer.qr_png(DOCUMENT.qr_payload)
    assert rendered.pdf == await renderer.pdf(DOCUMENT)
