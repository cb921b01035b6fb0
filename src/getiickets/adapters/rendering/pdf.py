"""Ticket PDFs: one 400x600 point page drawn with reportlab, with a scannable QR code.

Names and titles keep every letter: the text is set in DejaVu Sans, shipped with the
package (``fonts/``, with its licence) and embedded in each PDF, which covers Latin
Extended, IPA letters and combining marks (Yoruba ẹ ọ ṣ with their tones, Igbo ị ụ ṅ,
Hausa ɓ ɗ ƙ, Akan ɛ ɔ) and the naira sign. The standard PDF fonts this replaced know
Windows-1252 only, and printed "Adaeze Ọbị" as "Adaeze Obi". Codes (ticket and order
numbers, ASCII by construction) stay in Courier, which every viewer has.

The time is the event's local time (``Thu 31 Dec 2026, 7:00 pm WAT``).
"""

from __future__ import annotations

import functools
import io
import unicodedata
from importlib import resources

from reportlab.lib.colors import Color, black
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from getiickets.adapters.rendering.qr import QUIET_ZONE_MODULES, QrSymbol, qr_symbol
from getiickets.domain.model.local_time import readable_time
from getiickets.ports.files import TicketDocument

PAGE_WIDTH, PAGE_HEIGHT = 400, 600
QR_SIDE = 220
"""Points (7.8 cm): large enough for a phone camera at arm's length, on paper or screen."""
QR_BOTTOM = 176
MARGIN = 28
_TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN
_COLUMN_GAP = 12
_COLUMN_WIDTH = (_TEXT_WIDTH - _COLUMN_GAP) / 2
_GREY = Color(0.42, 0.42, 0.42)
_REGULAR, _BOLD, _MONO = "DejaVuSans", "DejaVuSans-Bold", "Courier-Bold"
_FONT_FILES = {_REGULAR: "DejaVuSans.ttf", _BOLD: "DejaVuSans-Bold.ttf"}
_ELLIPSIS = "\N{HORIZONTAL ELLIPSIS}"
_PLACEHOLDER = "?"


@functools.cache
def _fonts() -> frozenset[int]:
    """Register the shipped fonts with reportlab once (on first use, not at import);
    returns the code points both of them can draw."""
    drawable: set[int] | None = None
    for name, file_name in _FONT_FILES.items():
        data = (resources.files("getiickets.adapters.rendering") / "fonts" / file_name).read_bytes()
        font = TTFont(name, io.BytesIO(data))
        pdfmetrics.registerFont(font)
        covered = set(font.face.charToGlyph)
        drawable = covered if drawable is None else drawable & covered
    return frozenset(drawable or ())


def ticket_pdf(document: TicketDocument, symbol: QrSymbol | None = None) -> bytes:
    """``symbol``: the QR symbol of ``document.qr_payload``, if the caller has it."""
    _fonts()
    buffer = io.BytesIO()
    # invariant=1 pins the creation date and document id: a ticket renders to the same
    # bytes every time, so re-rendering it (two workers racing) stores identical files.
    pdf = Canvas(buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=1, pageCompression=1)
    pdf.setTitle(printable(f"{document.event_title} - {document.ticket_number}"))
    pdf.setAuthor("getiickets")
    _frame(pdf)
    _event(pdf, document)
    _qr_code(pdf, document, symbol or qr_symbol(document.qr_payload))
    _holder(pdf, document)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def printable(text: str) -> str:
    """``text`` on one line, NFC-composed, with what the font cannot draw made visible.

    Every letter the shipped font has is kept, combining marks included; a character it
    lacks falls back to its base letter (NFKD), else to ``?``, never to an empty box.
    """
    drawable = _fonts()
    out = []
    for char in unicodedata.normalize("NFC", text):
        if unicodedata.category(char).startswith("C") or char.isspace():
            out.append(" ")  # a newline or tab would be drawn as a box, not a break
        elif ord(char) in drawable:
            out.append(char)
        elif unicodedata.combining(char):
            continue  # a mark the font lacks: the letter alone still reads right
        else:
            base = "".join(
                part
                for part in unicodedata.normalize("NFKD", char)
                if ord(part) in drawable and not unicodedata.combining(part)
            )
            out.append(base or _PLACEHOLDER)
    return "".join(out)


def _frame(pdf: Canvas) -> None:
    pdf.setStrokeColor(_GREY)
    pdf.setLineWidth(0.8)
    pdf.roundRect(12, 12, PAGE_WIDTH - 24, PAGE_HEIGHT - 24, radius=10)
    pdf.setFillColor(_GREY)
    pdf.setFont(_BOLD, 9)
    pdf.drawString(MARGIN, PAGE_HEIGHT - 44, "GETIICKETS")
    pdf.drawRightString(PAGE_WIDTH - MARGIN, PAGE_HEIGHT - 44, "ADMIT ONE")
    pdf.line(MARGIN, PAGE_HEIGHT - 52, PAGE_WIDTH - MARGIN, PAGE_HEIGHT - 52)
    pdf.setFont(_REGULAR, 8)
    pdf.drawCentredString(
        PAGE_WIDTH / 2, 36, "Show this code at the entrance. Each ticket admits one person once."
    )


def _event(pdf: Canvas, document: TicketDocument) -> None:
    size, lines = _title_lines(printable(document.event_title))
    y = PAGE_HEIGHT - 60.0
    pdf.setFillColor(black)
    pdf.setFont(_BOLD, size)
    for line in lines:
        y -= size * 1.15
        pdf.drawString(MARGIN, y, line)
    y -= 22
    pdf.setFont(_BOLD, 12)
    pdf.drawString(MARGIN, y, readable_time(document.starts_at, document.timezone))
    place = ", ".join(part for part in (document.venue, document.city) if part.strip())
    pdf.setFont(_REGULAR, 11)
    for line in _wrap(printable(place), _REGULAR, 11, _TEXT_WIDTH, max_lines=2):
        y -= 15
        pdf.drawString(MARGIN, y, line)


def _title_lines(title: str) -> tuple[float, list[str]]:
    """The largest size from 20 to 14 points at which the title takes two lines at most;
    a title longer than three lines at 14 points is cut short."""
    for size in (20, 18, 16, 14):
        lines = simpleSplit(title, _BOLD, size, _TEXT_WIDTH)
        if len(lines) <= 2:  # noqa: PLR2004 - two lines keep the title clear of the QR code
            return size, lines or [""]
    return 14, _wrap(title, _BOLD, 14, _TEXT_WIDTH, max_lines=3)


def _qr_code(pdf: Canvas, document: TicketDocument, symbol: QrSymbol) -> None:
    # Vector modules, the quiet zone included in the QR_SIDE square: crisp at any zoom
    # or printer resolution, and no image to encode per ticket.
    module = QR_SIDE / (symbol.size + 2 * QUIET_ZONE_MODULES)
    corner = QUIET_ZONE_MODULES * module
    pdf.setFillColor(black)
    pdf.saveState()
    pdf.translate((PAGE_WIDTH - QR_SIDE) / 2 + corner, QR_BOTTOM + corner)
    pdf.scale(module, module)  # one unit per module from here, origin bottom-left
    # One path of whole-module rectangles, one run of dark modules each, filled once:
    # abutting shapes filled one by one leave hairline seams in anti-aliasing viewers.
    top = symbol.size - 1
    runs = [f"{column} {top - row} {length} 1 re" for row, column, length in symbol.dark_runs()]
    pdf.addLiteral("\n".join([*runs, "f"]))
    pdf.restoreState()
    pdf.setFont(_MONO, 12)
    # Printed in full under the code, so the door can look a ticket up by hand.
    pdf.drawCentredString(PAGE_WIDTH / 2, QR_BOTTOM - 18, _ascii(document.ticket_number))


def _holder(pdf: Canvas, document: TicketDocument) -> None:
    top = QR_BOTTOM - 34
    pdf.setStrokeColor(_GREY)
    pdf.line(MARGIN, top, PAGE_WIDTH - MARGIN, top)
    right = MARGIN + _COLUMN_WIDTH + _COLUMN_GAP
    _field(pdf, MARGIN, top - 16, "HOLDER", document.holder_name, font=_BOLD)
    _field(pdf, right, top - 16, "TICKET TYPE", document.ticket_type_name, font=_BOLD)
    _field(pdf, MARGIN, top - 52, "ORDER", document.order_number, font=_MONO)


def _field(pdf: Canvas, x: float, y: float, label: str, value: str, *, font: str) -> None:
    pdf.setFillColor(_GREY)
    pdf.setFont(_REGULAR, 7)
    pdf.drawString(x, y, label)
    shown = _ascii(value) if font == _MONO else printable(value)
    text, size = _fit(shown, font, 12, 8, _COLUMN_WIDTH)
    pdf.setFillColor(black)
    pdf.setFont(font, size)
    pdf.drawString(x, y - 15, text)


def _fit(text: str, font: str, size: float, smallest: float, width: float) -> tuple[str, float]:
    """Shrink ``text`` down to ``smallest`` points to fit ``width``, then cut it short."""
    while size > smallest and _width(text, font, size) > width:
        size -= 0.5
    return _cut(text, font, size, width), size


def _wrap(text: str, font: str, size: float, width: float, *, max_lines: int) -> list[str]:
    lines = simpleSplit(text, font, size, width) or [""]
    if len(lines) > max_lines:
        rest = " ".join(lines[max_lines - 1 :])
        lines = [*lines[: max_lines - 1], _cut(rest + _ELLIPSIS, font, size, width)]
    return lines


def _cut(text: str, font: str, size: float, width: float) -> str:
    if _width(text, font, size) <= width:
        return text
    while text and _width(text + _ELLIPSIS, font, size) > width:
        text = text[:-1]
    return text.rstrip() + _ELLIPSIS


def _ascii(code: str) -> str:
    """Courier has Windows-1252 only; our codes are ASCII, but never draw a box."""
    return "".join(char if char.isascii() and char.isprintable() else _PLACEHOLDER for char in code)


def _width(text: str, font: str, size: float) -> float:
    return float(stringWidth(text, font, size))
