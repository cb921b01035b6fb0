"""``InMemoryTicketSigner`` and ``InMemoryPasswordHasher``: standard-library security.

Real enough to trust in tests and the embedded runtime, with no native dependency:
the signer is HMAC-SHA256 (symmetric, so unlike Ed25519 an offline scanner would need
the secret itself), and the hasher is PBKDF2-SHA256 with a random salt in a
self-describing ``pbkdf2_sha256$<iterations>$<salt>$<hash>`` string. Tests pass a
small ``iterations`` to stay fast; the default follows OWASP's 2023 advice.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets

_SCHEME = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 600_000
_SALT_BYTES = 16


class InMemoryTicketSigner:
    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("a signing key must not be empty")
        self._key = key

    def sign(self, message: bytes) -> bytes:
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def verify(self, message: bytes, signature: bytes) -> bool:
        return hmac.compare_digest(self.sign(message), signature)


class InMemoryPasswordHasher:
    def __init__(self, iterations: int = DEFAULT_ITERATIONS) -> None:
        if iterations < 1:
            raise ValueError("iterations must be at least 1")
        self._iterations = iterations

    async def hash(self, password: str) -> str:
        salt = secrets.token_bytes(_SALT_BYTES)
        digest = await _derive(password, salt, self._iterations)
        return f"{_SCHEME}${self._iterations}${_b64(salt)}${_b64(digest)}"

    async def verify(self, password_hash: str, password: str) -> bool:
        """False for a wrong password and for anything that is not one of our hashes."""
        try:
            scheme, iterations_text, salt_text, digest_text = password_hash.split("$")
            iterations = int(iterations_text)
            salt, expected = _unb64(salt_text), _unb64(digest_text)
        except (ValueError, binascii.Error):
            return False
        if scheme != _SCHEME or iterations < 1 or not expected:
            return False
        digest = await _derive(password, salt, iterations)
        return hmac.compare_digest(digest, expected)


async def _derive(password: str, salt: bytes, iterations: int) -> bytes:
    # Hundreds of thousands of rounds take a noticeable fraction of a second: keep them
    # off the event loop so other requests keep moving.
    return await asyncio.to_thread(
        hashlib.pbkdf2_hmac, "sha256", password.encode(), salt, iterations
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
