"""Events and ticket types: slugs, sales windows, per-order limits and publishing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from getiickets.domain.model.catalog import (
    MAX_SLUG_LENGTH,
    Event,
    EventStatus,
    TicketType,
    slugify,
    unique_slug,
)
from getiickets.domain.model.errors import (
    ForbiddenError,
    InvalidStateError,
    NotFoundError,
    SalesClosedError,
    TooManyTicketsError,
    ValidationError,
)
from getiickets.domain.model.money import Money

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def a_ticket_type(**changes: object) -> TicketType:
    fields: dict[str, object] = {
        "id": "regular",
        "event_id": "event-1",
        "name": "Regular",
        "price": Money.parse("5000"),
        "capacity": 50,
    }
    fields.update(changes)
    return TicketType(**fields)  # type: ignore[arg-type]


def an_event(**changes: object) -> Event:
    fields: dict[str, object] = {
        "id": "event-1",
        "slug": "afro-nation",
        "organizer_id": "organizer-1",
        "title": "Afro Nation",
        "starts_at": NOW + timedelta(days=30),
    }
    fields.update(changes)
    return Event(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Afro Nation 2026!", "afro-nation-2026"),
        ("  Lagos   Jazz -- Night  ", "lagos-jazz-night"),
        ("Café Olé", "cafe-ole"),
        ("Ọjà Ọba", "oja-oba"),  # Yoruba dots below fall away, the letters stay
        ("!!!", "event"),
        ("漢字", "event"),
    ],
)
def test_slugify_makes_lower_case_ascii_words_joined_by_hyphens(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_a_long_title_makes_a_slug_of_at_most_the_limit_with_no_trailing_hyphen() -> None:
    slug = slugify("word " * 40)

    assert len(slug) <= MAX_SLUG_LENGTH
    assert not slug.endswith("-")


def test_a_unique_slug_is_the_slug_plus_a_suffix_and_stays_within_the_limit() -> None:
    assert unique_slug("Afro Nation", "x7k2qd") == "afro-nation-x7k2qd"
    assert len(unique_slug("word " * 40, "x7k2qd")) <= MAX_SLUG_LENGTH
    assert unique_slug("word " * 40, "x7k2qd").endswith("-x7k2qd")


def test_a_ticket_type_with_no_window_is_always_on_sale() -> None:
    assert a_ticket_type().on_sale_at(NOW)


def test_a_sales_window_includes_its_start_and_excludes_its_end() -> None:
    start, end = NOW, NOW + timedelta(days=1)
    ticket_type = a_ticket_type(sales_start=start, sales_end=end)

    assert not ticket_type.on_sale_at(start - timedelta(microseconds=1))
    assert ticket_type.on_sale_at(start)
    assert ticket_type.on_sale_at(end - timedelta(microseconds=1))
    assert not ticket_type.on_sale_at(end)


def test_a_sales_window_must_end_after_it_starts() -> None:
    with pytest.raises(ValidationError) as raised:
        a_ticket_type(sales_start=NOW, sales_end=NOW)

    assert raised.value.field == "sales_end"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"capacity": -1}, "capacity"),
        ({"max_per_order": 0}, "max_per_order"),
    ],
)
def test_a_ticket_type_refuses_broken_fields(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        a_ticket_type(**changes)

    assert raised.value.field == field


def test_max_per_order_allows_up_to_the_limit_and_no_more() -> None:
    ticket_type = a_ticket_type(max_per_order=4)

    ticket_type.check_quantity(1)
    ticket_type.check_quantity(4)
    with pytest.raises(TooManyTicketsError):
        ticket_type.check_quantity(5)
    with pytest.raises(ValidationError):
        ticket_type.check_quantity(0)


def test_max_per_order_defaults_to_ten() -> None:
    ticket_type = a_ticket_type()

    ticket_type.check_quantity(10)
    with pytest.raises(TooManyTicketsError):
        ticket_type.check_quantity(11)


def test_a_ticket_type_is_free_when_its_price_is_zero() -> None:
    assert a_ticket_type(price=Money.zero()).is_free
    assert not a_ticket_type().is_free


def test_given_a_draft_with_a_ticket_type_when_published_then_it_is_published() -> None:
    event = an_event()
    event.add_ticket_type(a_ticket_type())

    event.publish()

    assert event.status is EventStatus.PUBLISHED


def test_given_a_draft_without_ticket_types_when_published_then_it_is_refused() -> None:
    event = an_event()

    with pytest.raises(InvalidStateError):
        event.publish()

    assert event.status is EventStatus.DRAFT


def test_publishing_twice_is_harmless() -> None:
    event = an_event(ticket_types=[a_ticket_type()])
    event.publish()

    event.publish()

    assert event.status is EventStatus.PUBLISHED


def test_a_cancelled_event_cannot_be_published_or_take_ticket_types() -> None:
    event = an_event(ticket_types=[a_ticket_type()])
    event.cancel()

    with pytest.raises(InvalidStateError):
        event.publish()
    with pytest.raises(InvalidStateError):
        event.add_ticket_type(a_ticket_type(id="vip", name="VIP"))
    assert event.status is EventStatus.CANCELLED


def test_a_ticket_type_must_be_priced_in_the_events_currency() -> None:
    event = an_event()

    with pytest.raises(ValidationError) as raised:
        event.add_ticket_type(a_ticket_type(price=Money(amount=100, currency="USD")))

    assert raised.value.field == "price"
    assert event.ticket_types == []


def test_ticket_type_names_are_unique_within_an_event() -> None:
    event = an_event(ticket_types=[a_ticket_type()])

    with pytest.raises(ValidationError) as raised:
        event.add_ticket_type(a_ticket_type(id="regular-2"))

    assert raised.value.field == "name"
    assert len(event.ticket_types) == 1


def test_an_event_finds_its_ticket_types_by_id() -> None:
    event = an_event(ticket_types=[a_ticket_type()])

    assert event.ticket_type("regular").name == "Regular"
    with pytest.raises(NotFoundError):
        event.ticket_type("vip")


def test_only_the_organizer_owns_the_event() -> None:
    event = an_event()

    event.check_owner("organizer-1")
    with pytest.raises(ForbiddenError):
        event.check_owner("organizer-2")


def test_an_event_needs_a_title_and_must_end_after_it_starts() -> None:
    with pytest.raises(ValidationError) as no_title:
        an_event(title=" ")
    with pytest.raises(ValidationError) as ends_first:
        an_event(ends_at=NOW + timedelta(days=29))

    assert no_title.value.field == "title"
    assert ends_first.value.field == "ends_at"


def test_given_a_draft_event_then_nothing_is_on_sale() -> None:
    ticket_type = a_ticket_type()
    event = an_event(ticket_types=[ticket_type])

    with pytest.raises(SalesClosedError):
        event.check_on_sale(ticket_type, NOW)


def test_given_a_published_event_then_sales_follow_the_ticket_types_window() -> None:
    ticket_type = a_ticket_type(sales_end=NOW)
    event = an_event(ticket_types=[ticket_type])
    event.publish()

    event.check_on_sale(ticket_type, NOW - timedelta(seconds=1))
    with pytest.raises(SalesClosedError):
        event.check_on_sale(ticket_type, NOW)


@pytest.mark.parametrize("currency", ["NGN", "GHS", "ZAR", "KES", "USD"])
def test_events_sell_in_the_currencies_paystack_settles(currency: str) -> None:
    assert an_event(currency=currency).currency == currency


@pytest.mark.parametrize("currency", ["EUR", "GBP", "XOF", "ABC"])
def test_an_event_in_a_currency_paystack_does_not_settle_is_refused(currency: str) -> None:
    # Any three capital letters used to pass, so an event could sell in "ABC" and no
    # payment for it could ever be initialized.
    with pytest.raises(ValidationError) as raised:
        an_event(currency=currency)

    assert raised.value.field == "currency"


def test_an_event_happens_in_lagos_unless_told_otherwise() -> None:
    assert an_event().timezone == "Africa/Lagos"
    assert an_event(timezone="Africa/Accra").timezone == "Africa/Accra"


@pytest.mark.parametrize(
    "zone", ["WAT", "Africa/Lagoss", "africa/lagos", "localtime", "../etc/passwd", "", "+01:00"]
)
def test_an_event_in_a_zone_that_is_not_an_iana_name_is_refused(zone: str) -> None:
    with pytest.raises(ValidationError) as raised:
        an_event(timezone=zone)

    assert raised.value.field == "timezone"
