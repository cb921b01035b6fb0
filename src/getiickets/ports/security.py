"""Signatures for ticket codes, and password hashing."""

from __future__ import annotations

from typing import Protocol


class TicketSigner(Protocol):
    def sign(self, message: bytes) -> bytes: ...
    def verify(self, message: bytes, signature: bytes) -> bool:
        """True only for a signature this signer's key made over exactly ``message``."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...
    async def verify(self, password_hash: str, password: str) -> bool: ...
