"""The words of the ticket email and SMS: local time, money as people write it, names
as they are spelt, and SMS that fit one segment when they can."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from getiickets.adapters.rendering.messages import BabelMessageComposer
from getiickets.adapters.rendering.sms import segments
from getiickets.domain.model.money import Money
from getiickets.domain.usecases.notifications import confirmation_of
from getiickets.ports.notifications import ConfirmedLine, ConfirmedTicket, TicketConfirmation
from getiickets.sandbox.twilio import segments as twilio_counts

WHEN = "Thu 31 Dec 2026, 7:00 pm WAT"
COMPOSER = BabelMessageComposer()


def a_confirmation(**changes: object) -> TicketConfirmation:
    fields: dict[str, object] = {
        "buyer_name": "Ada Obi",
        "event_title": "Lagos Jazz Night",
        "starts_at": datetime(2026, 12, 31, 18, 0, tzinfo=UTC),
        "timezone": "Africa/Lagos",
        "venue": "Muri Okunola Park",
        "city": "Lagos",
        "order_number": "GT-7K3F-X2QD",
        "total": Money.parse("10000.00"),
        "lines": (
            ConfirmedLine(
                name="Regular",
                quantity=2,
                unit_price=Money.parse("5000"),
                subtotal=Money.parse("10000"),
            ),
        ),
        "tickets": tuple(
            ConfirmedTicket(
                ticket_number=f"TK-AAAA-BBBB-CCCC-000{n}",
                ticket_type="Regular",
                holder_name="Ada Obi",
                pdf_url=f"https://files.example/tickets/{n}.pdf?signature=a&expires=1",
            )
            for n in (1, 2)
        ),
    }
    fields.update(changes)
    return TicketConfirmation(**fields)  # type: ignore[arg-type]


# ------------------------------------------------------------------ SMS


def test_an_sms_with_plain_letters_is_one_gsm7_segment_with_everything_in_it() -> None:
    sms = COMPOSER.ticket_sms(a_confirmation())

    assert (sms.encoding, sms.segments) == ("GSM-7", 1)
    assert len(sms.body) <= 160
    for fact in ("Ada Obi", "Lagos Jazz Night", WHEN, "NGN 10,000.00", "GT-7K3F-X2QD"):
        assert fact in sms.body


def test_a_long_title_gives_way_so_the_sms_stays_one_segment() -> None:
    title = "The Annual Lagos International Jazz and Highlife Music Festival, Night Two"
    sms = COMPOSER.ticket_sms(a_confirmation(event_title=title))

    assert (sms.encoding, sms.segments) == ("GSM-7", 1)
    for fact in ("Ada Obi", WHEN, "NGN 10,000.00", "GT-7K3F-X2QD"):
        assert fact in sms.body


def test_curly_quotes_and_dashes_in_a_title_do_not_force_ucs2() -> None:
    title = "Fela\N{RIGHT SINGLE QUOTATION MARK}s \N{LEFT DOUBLE QUOTATION MARK}Shrine\N{RIGHT DOUBLE QUOTATION MARK} \N{EN DASH} Live"
    sms = COMPOSER.ticket_sms(a_confirmation(event_title=title))

    assert (sms.encoding, sms.segments) == ("GSM-7", 1)
    assert 'Fela\'s "Shrine" - Live' in sms.body


def test_a_title_outside_gsm7_is_left_out_rather_than_doubling_the_cost() -> None:
    sms = COMPOSER.ticket_sms(a_confirmation(event_title="Ọjà Ọba Carnival"))

    assert (sms.encoding, sms.segments) == ("GSM-7", 1)
    assert "Ọ" not in sms.body
    assert WHEN in sms.body


@pytest.mark.parametrize("name", ["Adaeze Ọbị", "Adébáyọ̀ Ṣeun", "Ɓala Ɗanƙwalli", "Ɛfua Ɔpɔku"])
def test_a_name_outside_gsm7_keeps_its_letters_and_the_segments_are_counted(name: str) -> None:
    sms = COMPOSER.ticket_sms(a_confirmation(buyer_name=name))

    assert sms.body.startswith(name)  # never "Adaeze Obi"
    assert sms.encoding == "UCS-2"
    units = len(sms.body.encode("utf-16-le")) // 2
    assert sms.segments == (1 if units <= 70 else math.ceil(units / 67))
    assert sms.segments == twilio_counts(sms.body)  # what the network will count
    assert WHEN in sms.body
    assert "NGN 10,000.00" in sms.body


def test_a_free_order_says_free() -> None:
    sms = COMPOSER.ticket_sms(a_confirmation(total=Money.zero(), lines=()))

    assert "free" in sms.body
    assert "0.00" not in sms.body


@pytest.mark.parametrize(
    ("body", "count"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two septets
        ("€" * 81, 2),
        ("ọ" * 70, 1),
        ("ọ" * 71, 2),
        ("ọ" * 134, 2),
        ("ọ" * 135, 3),
    ],
)
def test_segments_are_counted_like_the_network_does(body: str, count: int) -> None:
    assert segments(body) == count == twilio_counts(body)


# ------------------------------------------------------------------ email


def test_the_email_says_when_where_who_and_how_much_in_both_parts() -> None:
    email = COMPOSER.ticket_email(a_confirmation(buyer_name="Adaeze Ọbị"))

    assert email.subject == f"Your tickets for Lagos Jazz Night, {WHEN}"
    for part in (email.text, email.html):
        assert "Adaeze Ọbị" in part
        assert WHEN in part
        assert "Muri Okunola Park, Lagos" in part
        assert "GT-7K3F-X2QD" in part
        assert "₦5,000.00" in part  # unit price
        assert "₦10,000.00" in part  # subtotal and total
        for n in (1, 2):
            assert f"TK-AAAA-BBBB-CCCC-000{n}" in part
    for n in (1, 2):
        assert f"https://files.example/tickets/{n}.pdf?signature=a&expires=1" in email.text
        assert f'href="https://files.example/tickets/{n}.pdf?signature=a&amp;expires=1"' in (
            email.html
        )


def test_the_html_is_built_for_mail_clients() -> None:
    html = COMPOSER.ticket_email(a_confirmation()).html

    assert html.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in html
    assert 'role="presentation"' in html
    assert "<style" not in html  # clients strip style blocks: inline styles only
    assert "display:flex" not in html
    assert "<script" not in html


@pytest.mark.parametrize(
    ("currency", "total"),
    [("GHS", "GH₵10,000.00"), ("KES", "Ksh10,000.00"), ("USD", "US$10,000.00")],
)
def test_the_email_writes_each_currency_its_own_way(currency: str, total: str) -> None:
    email = COMPOSER.ticket_email(a_confirmation(total=Money.parse("10000", currency), lines=()))

    assert f"Total: {total}" in email.text
    assert total in email.html


def test_what_people_typed_is_escaped_in_the_html() -> None:
    html = COMPOSER.ticket_email(
        a_confirmation(event_title="<script>alert(1)</script>", buyer_name="Tom & Jerry")
    ).html

    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "Tom &amp; Jerry" in html


def test_an_outbox_row_written_before_time_zones_reads_as_a_lagos_event() -> None:
    old_row = {
        "order_number": "GT-7K3F-X2QD",
        "buyer_name": "Ada Obi",
        "event_title": "Lagos Jazz Night",
        "starts_at": "2026-12-31T18:00:00+00:00",
        "venue": "Muri Okunola Park",
        "city": "Lagos",
        "total": "10000.00",
        "currency": "NGN",
        "tickets": [{"ticket_number": "TK-1", "ticket_type": "Regular", "holder_name": "Ada"}],
    }

    confirmation = confirmation_of(old_row, {"TK-1": "https://files.example/1.pdf"})

    assert confirmation.timezone == "Africa/Lagos"
    assert confirmation.lines == ()
    assert confirmation.tickets[0].pdf_url == "https://files.example/1.pdf"
    assert WHEN in COMPOSER.ticket_email(confirmation).text
