"""Money as people write it, with Babel (CLDR data) rather than by hand.

Each currency is written the way its own market writes it: ``₦10,000.00`` (en_NG),
``GH₵10,000.00`` (en_GH), ``Ksh10,000.00`` (en_KE), ``R10 000,00`` (en_ZA: space
groups, decimal comma). US dollars are written for our readers, who are in Africa:
en_NG's ``US$10,000.00`` says which dollar, where en_US's bare ``$`` would not. JSON
never sees these strings: the API keeps decimal strings (``"10000.00"``).
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency

from getiickets.domain.model.money import SUBUNITS_PER_UNIT, Money

_HOME_LOCALE = {"NGN": "en_NG", "GHS": "en_GH", "KES": "en_KE", "ZAR": "en_ZA", "USD": "en_NG"}
_FALLBACK_LOCALE = "en_NG"
_CODE_FIRST = "¤¤ #,##0.00"
"""``NGN 10,000.00``: the ISO code instead of the symbol, for texts that cannot carry ₦."""


def money_text(money: Money) -> str:
    """``₦10,000.00``: the currency's symbol and its home market's number format."""
    return format_currency(_decimal(money), money.currency, locale=_locale(money.currency))


def money_code_text(money: Money) -> str:
    """``NGN 10,000.00``: letters and digits only, so an SMS stays in the GSM-7 alphabet
    (which has no ₦, GH₵ or no-break space)."""
    text = format_currency(
        _decimal(money),
        money.currency,
        format=_CODE_FIRST,
        locale=_locale(money.currency),
        currency_digits=False,
    )
    return text.replace("\N{NO-BREAK SPACE}", " ").replace("\N{NARROW NO-BREAK SPACE}", " ")


def _decimal(money: Money) -> Decimal:
    return Decimal(money.amount) / SUBUNITS_PER_UNIT


def _locale(currency: str) -> str:
    return _HOME_LOCALE.get(currency, _FALLBACK_LOCALE)
