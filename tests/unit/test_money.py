"""Money: integer kobo inside, exact decimal strings at the edge, never a float."""

from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from getiickets.domain.model.errors import InvalidMoneyError
from getiickets.domain.model.money import MAX_AMOUNT, SUPPORTED_CURRENCIES, Money, total
from getiickets.entrypoints.http.schemas import Currency

amounts = st.integers(min_value=0, max_value=MAX_AMOUNT)


@pytest.mark.parametrize(
    ("raw", "kobo"),
    [
        ("5000", 500_000),
        ("5000.5", 500_050),
        ("5000.50", 500_050),
        ("5000.05", 500_005),
        ("0", 0),
        ("0.01", 1),
        (5000, 500_000),
        (0, 0),
    ],
)
def test_given_a_plain_decimal_or_integer_when_parsed_then_it_is_exact_kobo(
    raw: object, kobo: int
) -> None:
    money = Money.parse(raw)

    assert money == Money(amount=kobo, currency="NGN")
    assert type(money.amount) is int


@pytest.mark.parametrize(
    "raw",
    [
        "1e3",
        "NaN",
        "nan",
        "inf",
        "Infinity",
        "-1",
        "+1",
        "1.234",
        " 5",
        "5 ",
        "5.",
        ".5",
        "1_000",
        "1,000",
        "",
        "\u0665",  # an Arabic-Indic five: str.isdigit() says yes, money says no
        5.0,
        5000.5,
        True,
        False,
        None,
        -1,
        b"5000",
        [5000],
    ],
)
def test_given_anything_but_a_plain_non_negative_decimal_when_parsed_then_it_is_refused(
    raw: object,
) -> None:
    with pytest.raises(InvalidMoneyError):
        Money.parse(raw)


def test_given_an_amount_beyond_the_limit_when_parsed_then_it_is_refused() -> None:
    with pytest.raises(InvalidMoneyError):
        Money.parse(str(MAX_AMOUNT // 100 + 1))


def test_given_a_currency_when_parsed_then_the_money_carries_it() -> None:
    assert Money.parse("12.30", currency="USD") == Money(amount=1230, currency="USD")


@pytest.mark.parametrize("currency", ["ngn", "NG", "NGNN", "N1N", ""])
def test_given_a_malformed_currency_when_money_is_made_then_it_is_refused(currency: str) -> None:
    with pytest.raises(InvalidMoneyError):
        Money(amount=100, currency=currency)


@pytest.mark.parametrize("amount", [1.0, True, -1, MAX_AMOUNT + 1])
def test_given_a_non_integer_or_out_of_range_amount_when_money_is_made_then_it_is_refused(
    amount: object,
) -> None:
    with pytest.raises(InvalidMoneyError):
        Money(amount=amount)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kobo", "major"),
    [(0, "0.00"), (1, "0.01"), (50, "0.50"), (500_000, "5000.00"), (500_050, "5000.50")],
)
def test_major_is_a_decimal_string_with_two_places(kobo: int, major: str) -> None:
    assert Money(amount=kobo).major == major


def test_subunits_are_what_paystack_is_sent() -> None:
    assert Money.parse("5000.00").subunits == 500_000


@given(amounts)
def test_any_amount_written_as_major_reads_back_exactly(amount: int) -> None:
    money = Money(amount=amount)

    assert Money.parse(money.major) == money


@given(st.one_of(st.text(max_size=20), st.integers(), st.floats(), st.booleans(), st.none()))
def test_parse_returns_an_integer_amount_or_refuses(raw: object) -> None:
    try:
        money = Money.parse(raw)
    except InvalidMoneyError:
        return
    assert type(money.amount) is int
    assert 0 <= money.amount <= MAX_AMOUNT


@given(amounts, amounts)
def test_addition_is_exact(first: int, second: int) -> None:
    if first + second > MAX_AMOUNT:
        with pytest.raises(InvalidMoneyError):
            Money(amount=first) + Money(amount=second)
        return
    assert (Money(amount=first) + Money(amount=second)).amount == first + second


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=1000))
def test_times_is_exact(amount: int, quantity: int) -> None:
    assert Money(amount=amount).times(quantity) == Money(amount=amount * quantity)


def test_given_two_currencies_when_added_then_it_is_refused() -> None:
    with pytest.raises(InvalidMoneyError):
        Money(amount=1, currency="NGN") + Money(amount=1, currency="USD")


def test_given_a_negative_quantity_when_multiplied_then_it_is_refused() -> None:
    with pytest.raises(InvalidMoneyError):
        Money(amount=100).times(-1)


def test_total_of_nothing_is_zero_in_the_currency_asked_for() -> None:
    assert total([], "GHS") == Money.zero("GHS")


def test_total_adds_every_amount() -> None:
    amounts_ = [Money.parse("5000"), Money.parse("0.50"), Money.parse("12.05")]

    assert total(amounts_) == Money(amount=501_255)


def test_the_api_schema_offers_exactly_the_currencies_the_model_accepts() -> None:
    assert get_args(Currency) == SUPPORTED_CURRENCIES
