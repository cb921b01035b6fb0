"""Ticket QR codes: exactly 300x300 pixels, error correction H, modules kept crisp.

The symbol is drawn from qrcode's module matrix at a whole number of pixels per module
(never resampled by a fractional factor, which blurs module edges and costs scans),
then centred on a white square. The leftover margin is always at least the four-module
quiet zone the QR standard asks for: the largest symbol (version 40, 177 modules) plus
eight quiet modules still fits 300 pixels at one pixel per module.
"""

from __future__ import annotations

import io

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_H
from qrcode.exceptions import DataOverflowError

QR_SIZE = 300
QUIET_ZONE_MODULES = 4
_DARK, _LIGHT = 0, 1  # pixel values of a 1-bit image


def qr_image(payload: str) -> Image.Image:
    """The payload as a 300x300 1-bit image.

    Raises ``ValueError`` when the payload is too long for a version 40-H symbol (about
    1,270 bytes); signed ticket payloads are a few hundred.
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_H, border=0)
    code.add_data(payload)
    try:
        code.make(fit=True)
    except (DataOverflowError, ValueError) as error:
        # qrcode reports this either way, depending on where the fit fails.
        raise ValueError(
            f"a {len(payload)}-character payload is too long for a QR code at level H"
        ) from error
    matrix = code.get_matrix()  # border=0: modules only; the quiet zone is added below
    modules = len(matrix)
    scale = QR_SIZE // (modules + 2 * QUIET_ZONE_MODULES)
    symbol = Image.new("1", (modules, modules), _LIGHT)
    symbol.putdata([_DARK if dark else _LIGHT for row in matrix for dark in row])
    symbol = symbol.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)
    image = Image.new("1", (QR_SIZE, QR_SIZE), _LIGHT)
    offset = (QR_SIZE - modules * scale) // 2
    image.paste(symbol, (offset, offset))
    return image


def qr_png(payload: str) -> bytes:
    buffer = io.BytesIO()
    qr_image(payload).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
