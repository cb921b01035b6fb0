"""``Ed25519TicketSigner``: ticket codes signed with Ed25519.

A public-key signature lets an offline door scanner hold only the public key
(``public_key_bytes``) and still tell a forged ticket from a real one; a leaked
scanner then cannot mint tickets, which it could with an HMAC key.
"""

from __future__ import annotations

import hashlib
from typing import Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

PRIVATE_KEY_BYTES = 32


class Ed25519TicketSigner:
    def __init__(self, private_key_bytes: bytes) -> None:
        if len(private_key_bytes) != PRIVATE_KEY_BYTES:
            raise ValueError(f"an Ed25519 private key is {PRIVATE_KEY_BYTES} raw bytes")
        self._private_key = Ed25519PrivateKey.from_private_bytes(private_key_bytes)
        self._public_key = self._private_key.public_key()

    @classmethod
    def generate(cls) -> Self:
        """A signer with a fresh random key (tests, and the first run of a sandbox)."""
        key = Ed25519PrivateKey.generate()
        return cls(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    @classmethod
    def from_seed_text(cls, text: str) -> Self:
        """A signer whose key is derived from a configured secret (``TICKET_SIGNING_KEY``).

        SHA-256 of the text is the 32-byte seed, so any string works and the same
        setting always gives the same key: tickets stay valid across restarts. The
        text should be long and random, since the key is only as strong as it is.
        """
        if not text:
            raise ValueError("the signing key text must not be empty")
        return cls(hashlib.sha256(text.encode()).digest())

    def public_key_bytes(self) -> bytes:
        """The raw 32-byte public key, for scanners that verify offline."""
        return self._public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self._public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True
