"""Time and randomness, as ports so tests can freeze them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class IdGenerator(Protocol):
    def new_id(self) -> str:
        """An opaque, unique identifier for a stored thing."""
        ...

    def new_uuid(self) -> UUID:
        """A random (version 4) UUID."""
        ...

    def new_secret(self) -> str:
        """A URL-safe secret with at least 256 bits of entropy (tokens)."""
        ...

    def new_code(self, length: int) -> str:
        """``length`` random characters of Crockford's base32 (no I, L, O, U), upper case."""
        ...

    def fraction(self) -> float:
        """A uniform random number in [0, 1), for jitter."""
        ...
