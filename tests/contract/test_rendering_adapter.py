"""``QrcodeReportlabRenderer`` beyond the shared contract: its QR codes scan.

Every code is read back with zxing-cpp's decoder, both from the PNG and from the PDF;
``test_qr_symbol.py`` checks the symbols against an encoder independent of zxing-cpp.
"""

from __future__ import annotations

import io
import threading
import unicodedata
from datetime import UTC, datetime

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from getiickets.adapters.rendering import QrcodeReportlabRenderer, tickets
from getiickets.adapters.rendering.pdf import printable
from getiickets.ports.files import TicketDocument

pytestmark = pytest.mark.contract

PAGE_SCALE = 3  # pixels per point when a test renders a PDF page: 216 dpi

SIGNED = (
    "GT1.eyJ0IjoiMDFKSDhYM1ZLUTJaN0I0TjZNOFBRUlNUVVYiLCJlIjoiMDFKSDhYM1ZLUTJaN0I0TjZNOFBRUlNUVVcifQ"
    ".Zm9yZ2VyeS1wcm9vZi1lZDI1NTE5LXNpZ25hdHVyZS1ieXRlcy1mb3ItdGhlLXRpY2tldC0xMjM0NTY3ODkwYWJjZGVm"
)
PAYLOADS = [
    pytest.param(SIGNED, id="signed-ticket"),
    pytest.param("x", id="one-character"),
    pytest.param("0123456789" * 8, id="digits-only"),
    pytest.param("ABC123" + "abc-_" * 20 + "XYZ789", id="mixed-modes"),
    pytest.param("GT1." + "Qk" * 500, id="long"),
    pytest.param("Adébáyọ̀ ₦5,000", id="non-ascii"),
]
DOCUMENT = TicketDocument(
    event_title="Lagos Jazz Night",
    starts_at=datetime(2026, 12, 12, 19, 0, tzinfo=UTC),
    venue="Muri Okunola Park",
    city="Lagos",
    holder_name="Ada Obi",
    ticket_type_name="VIP Table",
    ticket_number="TK-7K3F-X2QD-9M4P-ZT8W",
    order_number="GT-7K3F-X2QD",
    qr_payload=SIGNED,
)


def _document(**changes: object) -> TicketDocument:
    fields = {name: getattr(DOCUMENT, name) for name in DOCUMENT.__struct_fields__}
    return TicketDocument(**{**fields, **changes})  # type: ignore[arg-type]


def _decode(image: Image.Image) -> zxingcpp.Barcode:
    (barcode,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return barcode


def _page_image(pdf: bytes) -> Image.Image:
    """The PDF's page as a viewer shows it, at PAGE_SCALE pixels per point."""
    document = pdfium.PdfDocument(pdf)
    try:
        return document[0].render(scale=PAGE_SCALE).to_pil()
    finally:
        document.close()


def _page_text(pdf: bytes) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


# ------------------------------------------------------------------- QR PNG


@pytest.mark.parametrize("payload", PAYLOADS)
async def test_the_qr_png_scans_back_to_exactly_the_payload_at_level_h(payload: str) -> None:
    png = await QrcodeReportlabRenderer().qr_png(payload)

    with Image.open(io.BytesIO(png)) as image:
        barcode = _decode(image)
    assert barcode.text == payload
    assert barcode.ec_level == "H"


@pytest.mark.parametrize("payload", PAYLOADS)
async def test_the_qr_modules_are_crisp_whole_pixel_squares_with_a_quiet_zone(
    payload: str,
) -> None:
    with Image.open(io.BytesIO(await QrcodeReportlabRenderer().qr_png(payload))) as png:
        image = png.convert("L")
    assert {value for _, value in image.getcolors() or []} == {0, 255}  # no grey: no smoothing
    left, top, right, bottom = image.point(lambda v: 255 - v).getbbox() or (0, 0, 0, 0)
    side = right - left
    assert side == bottom - top
    # The top-left finder pattern starts with a run of seven dark modules.
    run = 0
    while image.getpixel((left + run, top)) == 0:
        run += 1
    module, remainder = divmod(run, 7)
    assert module >= 1
    assert remainder == 0
    assert side % module == 0
    quiet = min(left, top, 300 - right, 300 - bottom)
    assert quiet >= 4 * module
    assert abs(left - (300 - right)) <= 1  # centred


async def test_the_same_payload_gives_the_same_png() -> None:
    renderer = QrcodeReportlabRenderer()

    assert await renderer.qr_png(SIGNED) == await renderer.qr_png(SIGNED)


async def test_a_payload_too_long_for_any_qr_code_is_an_error() -> None:
    with pytest.raises(ValueError, match="too long for a QR code"):
        await QrcodeReportlabRenderer().qr_png("x" * 4000)


# ------------------------------------------------------------------- PDF


@pytest.mark.parametrize("payload", PAYLOADS)
async def test_the_qr_code_on_the_pdf_page_scans_back_to_the_payload(payload: str) -> None:
    pdf = await QrcodeReportlabRenderer().pdf(_document(qr_payload=payload))

    barcode = _decode(_page_image(pdf))
    assert barcode.text == payload
    assert barcode.ec_level == "H"


async def test_the_qr_code_is_drawn_as_vector_modules_not_an_image() -> None:
    """Crisp at any zoom or printer resolution, and no image to encode per ticket."""
    pdf = await QrcodeReportlabRenderer().pdf(DOCUMENT)

    assert len(PdfReader(io.BytesIO(pdf)).pages[0].images) == 0


async def test_the_qr_code_is_drawn_large_and_whole_on_the_page_with_its_quiet_zone() -> None:
    pdf = await QrcodeReportlabRenderer().pdf(DOCUMENT)

    page = _page_image(pdf).convert("L")
    barcode = _decode(page)
    modules = 17 + 4 * int(barcode.extra["Version"])
    corners = barcode.position
    left, top = corners.top_left.x, corners.top_left.y
    right, bottom = corners.bottom_right.x, corners.bottom_right.y
    assert abs((right - left) - (bottom - top)) <= 2
    quiet = 4 * (right - left) / modules  # pixels
    box = (left - quiet, top - quiet, right + quiet, bottom + quiet)
    # Points: about 7 cm with its margin, scannable from paper or a screen.
    assert (box[2] - box[0]) / PAGE_SCALE >= 200
    assert box[0] >= 0
    assert box[1] >= 0
    assert box[2] <= page.width
    assert box[3] <= page.height
    # Nothing is printed in the quiet zone (a pixel of slack for the modules' edges).
    margin = page.crop(tuple(round(edge) for edge in box))
    inset = round(quiet) - 1
    margin.paste(255, (inset, inset, margin.width - inset, margin.height - inset))
    darkest, _ = margin.getextrema()
    assert darkest >= 200


async def test_the_same_ticket_gives_the_same_pdf_bytes() -> None:
    """Two workers racing to render one ticket store identical files."""
    renderer = QrcodeReportlabRenderer()

    assert await renderer.pdf(DOCUMENT) == await renderer.pdf(DOCUMENT)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


async def test_the_time_is_printed_in_the_events_own_zone() -> None:
    # 19:00 UTC is 8 pm in Lagos; the ticket used to say "19:00 UTC".
    lagos = await QrcodeReportlabRenderer().pdf(_document(timezone="Africa/Lagos"))
    nairobi = await QrcodeReportlabRenderer().pdf(_document(timezone="Africa/Nairobi"))

    assert "Sat 12 Dec 2026, 8:00 pm WAT" in _page_text(lagos)
    assert "Sat 12 Dec 2026, 10:00 pm EAT" in _page_text(nairobi)
    assert "UTC" not in _page_text(lagos)


NAMES = [
    pytest.param("Adaeze Ọbị", id="igbo"),
    pytest.param("Adébáyọ̀ Ṣeun Ọláńrewájú", id="yoruba-tones"),
    pytest.param("Ẹ̀kọ́ Ìgbàlà", id="yoruba-combining"),
    pytest.param("Chịnụ Ṅkem", id="igbo-dots"),
    pytest.param("Ɓala Ɗanƙwalli", id="hausa-hooks"),
    pytest.param("Ɛfua Ɔpɔku", id="akan-open-vowels"),
]


@pytest.mark.parametrize("name", NAMES)
async def test_names_keep_every_letter(name: str) -> None:
    pdf = await QrcodeReportlabRenderer().pdf(
        _document(holder_name=name, event_title=f"{name} Live", venue=f"{name} Hall")
    )

    text = _nfc(_page_text(pdf))
    assert _nfc(name) in text.splitlines()  # the holder field: the name and nothing else
    flowing = " ".join(text.split())  # a long title wraps onto a second line
    assert _nfc(f"{name} Live") in flowing
    assert _nfc(f"{name} Hall") in flowing


async def test_the_font_is_embedded_so_every_viewer_draws_the_same_letters() -> None:
    reader = PdfReader(io.BytesIO(await QrcodeReportlabRenderer().pdf(DOCUMENT)))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    embedded = [
        font.get_object()
        for font in fonts.values()
        if "DejaVuSans" in str(font.get_object()["/BaseFont"])
    ]

    assert embedded
    for font in embedded:
        assert "/FontFile2" in font["/FontDescriptor"]  # a TrueType program, embedded


@pytest.mark.parametrize(
    ("given", "printed"),
    [
        ("Zoë O'Brien", "Zoë O'Brien"),
        ("Adaeze Ọbị", "Adaeze Ọbị"),
        ("two\nlines\tand tab", "two lines and tab"),
        ("Price ₦5,000", "Price ₦5,000"),
        ("Ada 漢", "Ada ?"),  # outside the font: a visible placeholder, not a box
    ],
)
def test_printable_text(given: str, printed: str) -> None:
    assert printable(given) == printed


async def test_long_details_are_shortened_to_fit_not_dropped() -> None:
    long_title = "The Annual Lagos International Jazz and Highlife Music Festival " * 3
    long_name = "Oluwaseun Adeyemi-Okonkwo Chukwuemeka Babatunde Olumide"
    pdf = await QrcodeReportlabRenderer().pdf(
        _document(event_title=long_title, holder_name=long_name)
    )

    reader = PdfReader(io.BytesIO(pdf))
    text = reader.pages[0].extract_text()
    assert len(reader.pages) == 1
    assert "The Annual Lagos International Jazz" in text
    assert "\N{HORIZONTAL ELLIPSIS}" in text
    assert "Oluwaseun Adeyemi" in text
    assert DOCUMENT.ticket_number in text
    assert DOCUMENT.order_number in text
    assert _decode(_page_image(pdf)).text == SIGNED


# ------------------------------------------------------------------- threads


async def test_rendering_runs_off_the_event_loop_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    real_qr_png, real_ticket_pdf = tickets.qr_png, tickets.ticket_pdf

    def qr_png(payload: str) -> bytes:
        threads.append(threading.get_ident())
        return real_qr_png(payload)

    def ticket_pdf(document: TicketDocument) -> bytes:
        threads.append(threading.get_ident())
        return real_ticket_pdf(document)

    monkeypatch.setattr(tickets, "qr_png", qr_png)
    monkeypatch.setattr(tickets, "ticket_pdf", ticket_pdf)
    renderer = QrcodeReportlabRenderer()

    await renderer.qr_png(SIGNED)
    await renderer.pdf(DOCUMENT)

    assert len(threads) == 2
    assert threading.get_ident() not in threads
