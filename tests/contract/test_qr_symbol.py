"""The ticket QR symbol is the standard one, by a second encoder's reckoning.

zxing-cpp both encodes the symbols and, in ``test_rendering_adapter.py``, decodes them
back; a bug shared by its two halves would pass there. Here the pure-Python ``qrcode``
library, written independently, encodes the same payload at the version and mask the
symbol declares: every module must come out the same. (Which of the eight masks to
pick is scored slightly differently by the two libraries; any mask is standard.)
"""

from __future__ import annotations

import itertools

import pytest
import qrcode
from qrcode.constants import ERROR_CORRECT_H

from getiickets.adapters.rendering.qr import QrSymbol, qr_symbol

pytestmark = pytest.mark.contract

SIGNED = (
    "GT1.eyJ0IjoiMDFKSDhYM1ZLUTJaN0I0TjZNOFBRUlNUVVYiLCJlIjoiMDFKSDhYM1ZLUTJaN0I0TjZNOFBRUlNUVVcifQ"
    ".Zm9yZ2VyeS1wcm9vZi1lZDI1NTE5LXNpZ25hdHVyZS1ieXRlcy1mb3ItdGhlLXRpY2tldC0xMjM0NTY3ODkwYWJjZGVm"
)
FORMAT_MASK = 0b101010000010010  # XORed onto the format bits by the standard
LEVEL_H = 0b10


def _dark(symbol: QrSymbol, row: int, column: int) -> bool:
    return symbol.modules[row * symbol.size + column] == 0


def _format(symbol: QrSymbol) -> tuple[int, int]:
    """(error correction bits, mask number) from the format bits beside the top-left
    finder pattern."""
    cells = [(8, column) for column in (0, 1, 2, 3, 4, 5, 7, 8)]
    cells += [(row, 8) for row in (7, 5, 4, 3, 2, 1, 0)]
    bits = 0
    for row, column in cells:
        bits = bits << 1 | _dark(symbol, row, column)
    bits ^= FORMAT_MASK
    return bits >> 13, (bits >> 10) & 0b111


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(SIGNED, id="signed-ticket"),
        pytest.param("x", id="one-character"),
        pytest.param("0123456789" * 8, id="digits-only"),
        pytest.param("ABC123" + "abc-_" * 20 + "XYZ789", id="mixed-modes"),
        pytest.param("GT1." + "Qk" * 500, id="long"),
    ],
)
def test_an_independent_encoder_draws_the_same_modules(payload: str) -> None:
    symbol = qr_symbol(payload)
    level, mask = _format(symbol)
    version, remainder = divmod(symbol.size - 17, 4)

    reference = qrcode.QRCode(
        version=version, error_correction=ERROR_CORRECT_H, border=0, mask_pattern=mask
    )
    reference.add_data(payload)
    reference.make(fit=False)

    assert remainder == 0
    assert level == LEVEL_H
    expected = reference.get_matrix()
    actual = [
        [_dark(symbol, row, column) for column in range(symbol.size)] for row in range(symbol.size)
    ]
    assert actual == expected


def test_the_smallest_version_that_holds_the_payload_is_used() -> None:
    reference = qrcode.QRCode(error_correction=ERROR_CORRECT_H, border=0)
    reference.add_data(SIGNED)
    reference.make(fit=True)

    assert qr_symbol(SIGNED).size == 17 + 4 * reference.version


def test_dark_runs_cover_exactly_the_dark_modules() -> None:
    symbol = qr_symbol(SIGNED)

    covered = {
        (row, column)
        for row, first, length in symbol.dark_runs()
        for column in range(first, first + length)
    }
    dark = {
        (row, column)
        for row in range(symbol.size)
        for column in range(symbol.size)
        if _dark(symbol, row, column)
    }
    assert covered == dark
    runs = list(symbol.dark_runs())
    # Merged: no run ends where the next one on its row starts.
    assert all(
        (row, first + length) != (next_row, next_first)
        for (row, first, length), (next_row, next_first, _) in itertools.pairwise(runs)
    )


def test_an_empty_payload_is_an_error() -> None:
    with pytest.raises(ValueError, match="non-empty payload"):
        qr_symbol("")
