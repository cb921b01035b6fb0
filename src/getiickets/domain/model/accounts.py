"""Accounts and sessions: buyers and organizers."""

from __future__ import annotations

import enum
import re
from datetime import datetime, timedelta

import msgspec

from getiickets.domain.model.errors import ValidationError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
"""Long enough for any passphrase, short enough that hashing it is no denial of service."""
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")


class Role(enum.StrEnum):
    BUYER = "buyer"
    ORGANIZER = "organizer"


SESSION_TTL: dict[Role, timedelta] = {
    Role.ORGANIZER: timedelta(seconds=7200),
    Role.BUYER: timedelta(seconds=28800),
}


class User(msgspec.Struct, kw_only=True):
    id: str
    email: str
    name: str
    role: Role
    password_hash: str
    created_at: datetime
    phone: str | None = None
    version: int = 0

    @property
    def is_organizer(self) -> bool:
        return self.role is Role.ORGANIZER


class Session(msgspec.Struct, frozen=True, kw_only=True):
    """A login. Stored under the digest of its token, never the token itself."""

    key: str
    user_id: str
    role: Role
    created_at: datetime
    expires_at: datetime

    @property
    def ttl(self) -> timedelta:
        return self.expires_at - self.created_at

    def is_live(self, now: datetime) -> bool:
        return now < self.expires_at


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who is asking: the authenticated user behind a request."""

    user_id: str
    role: Role

    @property
    def is_organizer(self) -> bool:
        return self.role is Role.ORGANIZER


def canonical_email(email: str) -> str:
    """The one form emails are stored, looked up and compared in, whatever their case.

    ``lower()`` rather than ``casefold()``, to match SQL's ``lower(email)``."""
    return email.strip().lower()


def normalize_email(email: str, field: str = "email") -> str:
    cleaned = canonical_email(email)
    if not _EMAIL.fullmatch(cleaned):
        raise ValidationError("a valid email address is required", field=field)
    return cleaned


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError("password is too long", field="password")


def normalize_phone(phone: str | None, field: str = "phone") -> str | None:
    """E.164 (``+2348012345678``); local Nigerian ``0801...`` numbers are read as +234."""
    if phone is None or not phone.strip():
        return None
    digits = re.sub(r"[\s().-]", "", phone)
    if digits.startswith("0") and len(digits) == 11:  # noqa: PLR2004 - Nigerian local format
        digits = "+234" + digits[1:]
    if not _E164.fullmatch(digits):
        raise ValidationError(
            "phone must be an international number like +2348012345678", field=field
        )
    return digits
