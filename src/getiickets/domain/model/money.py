"""Money: integer minor units plus an ISO currency. Never a float.

Naira decimal strings (``"5000.00"``) exist only at the edges: ``Money.parse`` reads
them with exact rules, ``Money.major`` writes them back. Payment providers want
subunits (kobo), which is what ``amount`` already is.
"""

from __future__ import annotations

import re

import msgspec

from getiickets.domain.model.errors import InvalidMoneyError

DEFAULT_CURRENCY = "NGN"
SUPPORTED_CURRENCIES = ("NGN", "GHS", "ZAR", "KES", "USD")
"""What our payment provider settles, so what an event may sell in. ``Money`` itself
takes any ISO code: a provider's answer in another currency must still be read, to be
refused."""
# Every currency we sell in has 100 subunits.
SUBUNITS_PER_UNIT = 100
# Plain decimal notation only: digits, optionally a point and one or two digits.
# This rejects "1e3", "NaN", "inf", "-5", "+5", " 5", "5." and "1_000" by construction.
_DECIMAL = re.compile(r"(?P<units>[0-9]+)(?:\.(?P<cents>[0-9]{1,2}))?")
_CURRENCY = re.compile(r"[A-Z]{3}")
# Well above any real ticket total, far below where JSON numbers lose precision.
MAX_AMOUNT = 10**15


class Money(msgspec.Struct, frozen=True, kw_only=True):
    amount: int
    """Minor units (kobo for NGN)."""
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        if type(self.amount) is not int:  # bool is an int subclass: refuse it too
            raise InvalidMoneyError("amount must be an integer number of subunits")
        if not 0 <= self.amount <= MAX_AMOUNT:
            raise InvalidMoneyError("amount must be between 0 and 10^15 subunits")
        if not is_currency_code(self.currency):
            raise InvalidMoneyError("currency must be a three-letter ISO code")

    @classmethod
    def zero(cls, currency: str = DEFAULT_CURRENCY) -> Money:
        return cls(amount=0, currency=currency)

    @classmethod
    def parse(cls, value: object, currency: str = DEFAULT_CURRENCY) -> Money:
        """Read major units from a decimal string or an integer, exactly.

        ``"5000"``, ``"5000.5"``, ``"5000.50"`` and ``5000`` are all valid; floats (even
        ``5000.0``), more than two decimal places, negatives, exponents and
        non-numbers are not, because each of them hides a rounding or a typo.
        """
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise InvalidMoneyError("amount must be a decimal string or an integer")
        if isinstance(value, int):
            if value < 0:
                raise InvalidMoneyError("amount must not be negative")
            return cls(amount=value * SUBUNITS_PER_UNIT, currency=currency)
        match = _DECIMAL.fullmatch(value)
        if match is None:
            raise InvalidMoneyError(
                "amount must be a non-negative decimal with at most 2 decimal places"
            )
        units = int(match["units"])
        cents = int((match["cents"] or "0").ljust(2, "0"))
        if units > MAX_AMOUNT // SUBUNITS_PER_UNIT:
            raise InvalidMoneyError("amount is too large")
        return cls(amount=units * SUBUNITS_PER_UNIT + cents, currency=currency)

    @property
    def major(self) -> str:
        """The amount as a decimal string in major units, always with 2 places."""
        units, cents = divmod(self.amount, SUBUNITS_PER_UNIT)
        return f"{units}.{cents:02d}"

    @property
    def subunits(self) -> int:
        """What providers' ``amount`` fields want (kobo for NGN)."""
        return self.amount

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def times(self, quantity: int) -> Money:
        if quantity < 0:
            raise InvalidMoneyError("quantity must not be negative")
        return Money(amount=self.amount * quantity, currency=self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise InvalidMoneyError(f"cannot combine {self.currency} and {other.currency} amounts")


def is_currency_code(code: str) -> bool:
    return _CURRENCY.fullmatch(code) is not None


def is_supported_currency(code: str) -> bool:
    return code in SUPPORTED_CURRENCIES


def total(amounts: list[Money], currency: str = DEFAULT_CURRENCY) -> Money:
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result
