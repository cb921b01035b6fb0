"""Money for people: each currency as its own market writes it (Babel, CLDR data)."""

from __future__ import annotations

import pytest

from getiickets.adapters.rendering.money import money_code_text, money_text
from getiickets.domain.model.money import SUPPORTED_CURRENCIES, Money


@pytest.mark.parametrize(
    ("major", "currency", "printed"),
    [
        ("10000.00", "NGN", "₦10,000.00"),
        ("5000.5", "NGN", "₦5,000.50"),
        ("0", "NGN", "₦0.00"),
        ("1234567.89", "NGN", "₦1,234,567.89"),
        ("10000.00", "GHS", "GH₵10,000.00"),
        ("10000.00", "KES", "Ksh10,000.00"),
        ("10000.00", "ZAR", "R10\N{NO-BREAK SPACE}000,00"),
        ("10000.00", "USD", "US$10,000.00"),
    ],
)
def test_money_reads_as_its_market_writes_it(major: str, currency: str, printed: str) -> None:
    assert money_text(Money.parse(major, currency)) == printed


@pytest.mark.parametrize(
    ("major", "currency", "printed"),
    [
        ("10000.00", "NGN", "NGN 10,000.00"),
        ("10000.00", "GHS", "GHS 10,000.00"),
        ("10000.00", "ZAR", "ZAR 10 000,00"),
        ("0.5", "USD", "USD 0.50"),
    ],
)
def test_money_with_its_code_stays_in_plain_letters(
    major: str, currency: str, printed: str
) -> None:
    text = money_code_text(Money.parse(major, currency))

    assert text == printed
    assert text.isascii()


@pytest.mark.parametrize("currency", SUPPORTED_CURRENCIES)
def test_every_currency_we_sell_in_has_its_own_sign(currency: str) -> None:
    # Never the bare ISO code glued to digits ("GHS10,000.00"): that is Babel saying it
    # has no symbol for this currency in the locale we chose.
    assert not money_text(Money.parse("10", currency)).startswith(currency)
