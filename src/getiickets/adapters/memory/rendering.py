"""``InMemoryTicketRenderer``: real, plain files, made with the standard library alone.

Tests and the embedded runtime need ticket files that open in any viewer without
installing qrcode or reportlab. The PNG is a blank 300x300 image that carries the
payload in a ``tEXt`` chunk named ``payload`` (it draws no QR symbol: a scanner cannot
read it, a test can); the PDF is one 400x600 point page that writes the ticket's
details and the payload in Helvetica, where a text extractor finds them.
"""

from __future__ import annotations

import struct
import textwrap
import zlib

from getiickets.domain.model.local_time import readable_time
from getiickets.ports.files import RenderedTicket, TicketDocument

QR_SIZE = 300
PAGE_WIDTH, PAGE_HEIGHT = 400, 600
PNG_PAYLOAD_KEYWORD = b"payload"
_MARGIN = 30
_HELVETICA_MEAN_WIDTH = 0.6  # em; generous for the base64 alphabet, so payloads fit


class InMemoryTicketRenderer:
    async def qr_png(self, payload: str) -> bytes:
        return blank_png(QR_SIZE, QR_SIZE, {PNG_PAYLOAD_KEYWORD: payload})

    async def pdf(self, document: TicketDocument) -> bytes:
        return ticket_pdf(document)

    async def render(self, document: TicketDocument) -> RenderedTicket:
        return RenderedTicket(
            qr_png=await self.qr_png(document.qr_payload), pdf=await self.pdf(document)
        )


# ---------------------------------------------------------------------------- PNG


def blank_png(width: int, height: int, text: dict[bytes, str]) -> bytes:
    """A white 1-bit greyscale PNG with the given text chunks."""
    row = b"\x00" + b"\xff" * ((width + 7) // 8)  # filter type 0, then all-white pixels
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    chunks = [_png_chunk(b"IHDR", header)]
    for keyword, value in text.items():
        try:
            chunks.append(_png_chunk(b"tEXt", keyword + b"\x00" + value.encode("latin-1")))
        except UnicodeEncodeError:
            # tEXt is Latin-1 only; iTXt (uncompressed, no language) carries UTF-8.
            body = keyword + b"\x00\x00\x00\x00\x00" + value.encode()
            chunks.append(_png_chunk(b"iTXt", body))
    chunks.append(_png_chunk(b"IDAT", zlib.compress(row * height, 9)))
    chunks.append(_png_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


# ---------------------------------------------------------------------------- PDF


def ticket_pdf(document: TicketDocument) -> bytes:
    place = ", ".join(part for part in (document.venue, document.city) if part)
    lines: list[tuple[float, str]] = [
        (16, title_line) for title_line in textwrap.wrap(document.event_title, 38) or [""]
    ]
    lines += [
        (11, readable_time(document.starts_at, document.timezone)),
        (11, place),
        (11, f"Holder: {document.holder_name}"),
        (11, f"Ticket: {document.ticket_type_name}"),
        (11, f"Ticket number: {document.ticket_number}"),
        (11, f"Order: {document.order_number}"),
    ]
    commands = []
    y: float = PAGE_HEIGHT - _MARGIN - 16
    for size, text in lines:
        commands.append(_text(_MARGIN, y, size, text))
        y -= size * 1.6
    # Where the QR image goes on a real ticket: a framed square, then the payload itself.
    qr_side = 200
    qr_bottom = 120
    commands.append(f"{(PAGE_WIDTH - qr_side) // 2} {qr_bottom} {qr_side} {qr_side} re S")
    usable = PAGE_WIDTH - 2 * _MARGIN
    payload_size = min(7.0, usable / (_HELVETICA_MEAN_WIDTH * max(len(document.qr_payload), 1)))
    commands.append(_text(_MARGIN, qr_bottom - 20, round(payload_size, 2), document.qr_payload))
    return _pdf_file("\n".join(commands).encode("ascii"))


def _text(x: float, y: float, size: float, text: str) -> str:
    return f"BT /F1 {size} Tf {x} {y:.1f} Td ({_pdf_string(text)}) Tj ET"


def _pdf_string(text: str) -> str:
    """A PDF literal string body in WinAnsi (cp1252), kept ASCII with octal escapes."""
    out = []
    for byte in text.encode("cp1252", errors="replace"):
        char = chr(byte)
        if char in "\\()":
            out.append("\\" + char)
        elif 32 <= byte < 127:  # noqa: PLR2004 - printable ASCII
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return "".join(out)


def _pdf_file(content: bytes) -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
            "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
        ).encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # binary comment: mark the file binary
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)
