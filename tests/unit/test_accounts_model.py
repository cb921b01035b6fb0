"""Accounts: normalised emails, password rules, E.164 phones and session lifetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from getiickets.domain.model.accounts import (
    MAX_PASSWORD_LENGTH,
    SESSION_TTL,
    Actor,
    Role,
    Session,
    canonical_email,
    check_password_rules,
    normalize_email,
    normalize_phone,
)
from getiickets.domain.model.errors import ValidationError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("ada@example.com", "ada@example.com"),
        ("  Ada@Example.COM ", "ada@example.com"),
        ("ADA.LOVELACE+tix@Mail.Example.ng", "ada.lovelace+tix@mail.example.ng"),
    ],
)
def test_emails_are_trimmed_and_lower_cased(raw: str, normalised: str) -> None:
    assert normalize_email(raw) == normalised
    assert canonical_email(raw) == normalised


def test_the_canonical_form_of_any_text_is_lower_case_like_sqls_lower() -> None:
    # Log-in looks up whatever was typed; only registration validates the address.
    assert canonical_email("  Not An Email ") == "not an email"
    assert canonical_email("STRASSE@Example.COM") == "strasse@example.com"


@pytest.mark.parametrize(
    "raw", ["", "ada", "ada@", "@example.com", "ada@example", "ada lovelace@example.com", "a@b@c.d"]
)
def test_malformed_emails_are_refused_with_the_field_named(raw: str) -> None:
    with pytest.raises(ValidationError) as raised:
        normalize_email(raw, field="buyer.email")

    assert raised.value.field == "buyer.email"


def test_a_password_needs_at_least_eight_characters() -> None:
    check_password_rules("12345678")
    with pytest.raises(ValidationError) as raised:
        check_password_rules("1234567")

    assert raised.value.field == "password"


def test_a_password_has_a_length_limit_so_hashing_it_cannot_be_abused() -> None:
    check_password_rules("x" * MAX_PASSWORD_LENGTH)
    with pytest.raises(ValidationError):
        check_password_rules("x" * (MAX_PASSWORD_LENGTH + 1))


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+2348012345678", "+2348012345678"),
        ("08012345678", "+2348012345678"),
        ("0801 234 5678", "+2348012345678"),
        ("0801-234-5678", "+2348012345678"),
        ("+44 (20) 7946.0958", "+442079460958"),
        ("+14155552671", "+14155552671"),
    ],
)
def test_phones_become_e164_and_nigerian_local_numbers_get_234(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_no_phone_is_none(raw: str | None) -> None:
    assert normalize_phone(raw) is None


@pytest.mark.parametrize(
    "raw", ["8012345678", "0801234567", "+0123456789", "+234", "+2348012345678901", "phone"]
)
def test_phones_that_are_not_e164_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError) as raised:
        normalize_phone(raw, field="buyer.phone")

    assert raised.value.field == "buyer.phone"


def test_organizer_sessions_last_two_hours_and_buyer_sessions_eight() -> None:
    assert SESSION_TTL[Role.ORGANIZER] == timedelta(seconds=7200)
    assert SESSION_TTL[Role.BUYER] == timedelta(seconds=28800)


def test_a_session_is_live_until_its_expiry_and_not_at_it() -> None:
    session = Session(
        key="digest",
        user_id="user-1",
        role=Role.ORGANIZER,
        created_at=NOW,
        expires_at=NOW + SESSION_TTL[Role.ORGANIZER],
    )

    assert session.ttl == timedelta(seconds=7200)
    assert session.is_live(NOW + timedelta(seconds=7199))
    assert not session.is_live(NOW + timedelta(seconds=7200))


def test_an_actor_knows_whether_it_is_an_organizer() -> None:
    assert Actor(user_id="u", role=Role.ORGANIZER).is_organizer
    assert not Actor(user_id="u", role=Role.BUYER).is_organizer
