"""Tickets: a signed QR payload that survives a round trip and betrays any change."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from getiickets.adapters.memory.security import InMemoryTicketSigner
from getiickets.domain.model.errors import InvalidTicketError, WrongEventError
from getiickets.domain.model.tickets import (
    CheckInOutcome,
    QrClaims,
    Ticket,
    TicketStatus,
    parse_qr_payload,
    qr_message,
    qr_payload,
    ticket_number,
)

NOW = datetime(2026, 3, 1, 19, 0, tzinfo=UTC)
SIGNER = InMemoryTicketSigner(b"unit-test-ticket-key")
CLAIMS = QrClaims(t="ticket-123", e="event-456")


def signed_payload(claims: QrClaims = CLAIMS, signer: InMemoryTicketSigner = SIGNER) -> str:
    message = qr_message(claims)
    return qr_payload(message, signer.sign(message))


VALID = signed_payload()


def is_accepted(payload: str) -> bool:
    """What a scanner does: parse, then check the signature over the exact bytes."""
    try:
        signed = parse_qr_payload(payload)
    except InvalidTicketError:
        return False
    return SIGNER.verify(signed.message, signed.signature)


def a_ticket(status: TicketStatus = TicketStatus.VALID) -> Ticket:
    return Ticket(
        id="ticket-123",
        ticket_number="TK-AAAA-BBBB-CCCC-DDDD",
        order_id="order-1",
        event_id="event-456",
        ticket_type_id="regular",
        holder_name="Ada",
        qr_payload=VALID,
        issued_at=NOW - timedelta(days=1),
        status=status,
    )


def test_given_a_signed_payload_when_parsed_then_the_claims_and_signature_come_back() -> None:
    signed = parse_qr_payload(VALID)

    assert signed.claims == CLAIMS
    assert signed.message == qr_message(CLAIMS)
    assert SIGNER.verify(signed.message, signed.signature)


def test_a_payload_is_gt1_then_two_base64url_parts_without_padding() -> None:
    prefix, claims, signature = VALID.split(".")

    assert prefix == "GT1"
    allowed = set(string.ascii_letters + string.digits + "-_")
    assert set(claims) <= allowed
    assert set(signature) <= allowed


def test_given_whitespace_around_a_scanned_payload_then_it_still_parses() -> None:
    assert parse_qr_payload(f"  {VALID}\n").claims == CLAIMS


def test_given_a_payload_signed_with_another_key_then_the_signature_is_refused() -> None:
    forged = signed_payload(signer=InMemoryTicketSigner(b"someone-elses-key"))

    assert not is_accepted(forged)


def test_given_claims_swapped_for_another_ticket_then_the_signature_is_refused() -> None:
    _, _, signature = VALID.split(".")
    other_claims = signed_payload(QrClaims(t="ticket-999", e="event-456")).split(".")[1]

    assert not is_accepted(f"GT1.{other_claims}.{signature}")


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "GT1",
        "GT1..",
        "GT2." + VALID.removeprefix("GT1."),
        VALID + ".extra",
        "GT1.!!!!.AAAA",
        "GT1.e30.AAAA",  # "{}": claims missing
        "GT1.bm90LWpzb24.AAAA",  # "not-json"
        "GT1.eyJ0IjoiYSIsImUiOiJiIiwieCI6ImMifQ.AAAA",  # an unknown extra claim
        "GT1.eyJ0IjoxLCJlIjoyfQ.AAAA",  # claims of the wrong type
    ],
)
def test_given_a_malformed_payload_when_parsed_then_it_is_an_invalid_ticket(payload: str) -> None:
    with pytest.raises(InvalidTicketError):
        parse_qr_payload(payload)


@settings(max_examples=500)  # ~100 positions: give every one several tries
@given(
    position=st.integers(min_value=0, max_value=len(VALID) - 1),
    replacement=st.characters(codec="utf-8"),
)
def test_any_single_character_change_to_a_valid_payload_is_rejected(
    position: int, replacement: str
) -> None:
    changed = VALID[:position] + replacement + VALID[position + 1 :]
    if changed == VALID:
        return  # replaced a character by itself: nothing changed

    assert not is_accepted(changed)


@given(position=st.integers(min_value=0, max_value=len(VALID) - 1))
def test_any_single_character_removed_from_a_valid_payload_is_rejected(position: int) -> None:
    assert not is_accepted(VALID[:position] + VALID[position + 1 :])


def test_ticket_numbers_are_four_groups_of_four() -> None:
    assert ticket_number("ABCDEFGHJKMNPQRS") == "TK-ABCD-EFGH-JKMN-PQRS"
    with pytest.raises(ValueError, match="16 characters"):
        ticket_number("ABC")


def test_given_a_valid_ticket_when_checked_in_then_ok_and_the_time_is_kept() -> None:
    ticket = a_ticket()

    outcome = ticket.check_in("event-456", NOW)

    assert outcome is CheckInOutcome.OK
    assert ticket.status is TicketStatus.CHECKED_IN
    assert ticket.checked_in_at == NOW


def test_given_a_checked_in_ticket_when_scanned_again_then_already_checked_in() -> None:
    ticket = a_ticket()
    ticket.check_in("event-456", NOW)

    outcome = ticket.check_in("event-456", NOW + timedelta(minutes=5))

    assert outcome is CheckInOutcome.ALREADY_CHECKED_IN
    assert ticket.checked_in_at == NOW  # the first entry is what counts


def test_given_a_ticket_for_another_event_when_checked_in_then_wrong_event() -> None:
    ticket = a_ticket()

    with pytest.raises(WrongEventError):
        ticket.check_in("another-event", NOW)

    assert ticket.status is TicketStatus.VALID


def test_given_a_void_ticket_when_checked_in_then_it_is_invalid() -> None:
    ticket = a_ticket()
    ticket.void()

    with pytest.raises(InvalidTicketError):
        ticket.check_in("event-456", NOW)

    assert ticket.status is TicketStatus.VOID
    assert ticket.checked_in_at is None
