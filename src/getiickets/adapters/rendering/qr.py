"""Ticket QR codes: exactly 300x300 pixels, error correction H, modules kept crisp.

A payload is encoded once into a ``QrSymbol``, its module matrix, and every file of the
ticket is drawn from that: the PNG here, the vector code in the PDF. zxing-cpp encodes
(version, mode, Reed-Solomon blocks and the standard's mask choice) in about a
millisecond; the pure-Python ``qrcode`` took 13-17 ms of CPU per symbol, most of it
scoring the eight masks, which kept a worker near 10 tickets per second.

The PNG draws the symbol at a whole number of pixels per module (never resampled by a
fractional factor, which blurs module edges and costs scans), centred on a white
square. The leftover margin is always at least the four-module quiet zone the QR
standard asks for: the largest symbol (version 40, 177 modules) plus eight quiet
modules still fits 300 pixels at one pixel per module.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import zxingcpp
from PIL import Image

QR_SIZE = 300
QUIET_ZONE_MODULES = 4
_LIGHT = 255  # a light module in zxing-cpp's image; a dark one is 0
_DARK_RUN = re.compile(rb"\x00+")


@dataclass(frozen=True, slots=True)
class QrSymbol:
    """The modules of one QR code, without quiet zone: ``size`` rows of ``size`` bytes,
    top row first, 0 for a dark module and 255 for a light one."""

    size: int
    modules: bytes

    def dark_runs(self) -> Iterator[tuple[int, int, int]]:
        """``(row, first column, length)`` of each horizontal run of dark modules."""
        size = self.size
        for row in range(size):
            for run in _DARK_RUN.finditer(self.modules, row * size, (row + 1) * size):
                yield row, run.start() - row * size, run.end() - run.start()


def qr_symbol(payload: str) -> QrSymbol:
    """The payload's QR symbol at level H, in the smallest version that holds it.

    Raises ``ValueError`` when the payload is empty or too long for a version 40-H
    symbol (about 1,270 bytes); signed ticket payloads are a few hundred.
    """
    if not payload:
        raise ValueError("a QR code needs a non-empty payload")
    try:
        barcode = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level="H")
    except ValueError as error:
        raise ValueError(
            f"a {len(payload)}-character payload is too long for a QR code at level H"
        ) from error
    image = barcode.to_image(scale=1, add_quiet_zones=False)
    size = image.shape[0]
    # One byte per module, rows packed (shape (size, size), strides (size, 1)). The
    # stub leaves out the buffer protocol the image has.
    return QrSymbol(size=size, modules=bytes(memoryview(image)))  # type: ignore[arg-type]


def symbol_image(symbol: QrSymbol) -> Image.Image:
    """The symbol as a 300x300 1-bit image."""
    scale = QR_SIZE // (symbol.size + 2 * QUIET_ZONE_MODULES)
    side = symbol.size * scale
    modules = Image.frombytes("L", (symbol.size, symbol.size), symbol.modules)
    image = Image.new("L", (QR_SIZE, QR_SIZE), _LIGHT)
    offset = (QR_SIZE - side) // 2
    image.paste(modules.resize((side, side), Image.Resampling.NEAREST), (offset, offset))
    # Only 0 and 255 are present, so the conversion is exact (no dithering to do).
    return image.convert("1", dither=Image.Dither.NONE)


def symbol_png(symbol: QrSymbol) -> bytes:
    buffer = io.BytesIO()
    # zlib level 6, not optimize=True (level 9): a 300x300 1-bit code is ~1.6 kB either
    # way, and level 9 spends 0.3 ms more per ticket for about 50 bytes.
    symbol_image(symbol).save(buffer, format="PNG")
    return buffer.getvalue()


def qr_png(payload: str) -> bytes:
    return symbol_png(qr_symbol(payload))
