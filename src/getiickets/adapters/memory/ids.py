"""``InMemoryIdGenerator``: ids and secrets from a seeded generator, so runs repeat.

Deterministic on purpose: a test seeded alike sees the same ids, order numbers and
tokens every run. Never use it where a secret must be unguessable (``random`` is not a
cryptographic generator); ``adapters.system.RandomIdGenerator`` is for that.
"""

from __future__ import annotations

import base64
import random
import uuid

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648 base32, lower case
_ID_LENGTH = 26  # 130 bits, at least the 128 of a UUID
_SECRET_BYTES = 32  # 256 bits -> 43 URL-safe characters


class InMemoryIdGenerator:
    def __init__(self, seed: int = 0) -> None:
        self._random = random.Random(seed)  # noqa: S311 - reproducible on purpose, see above

    def new_id(self) -> str:
        return "".join(self._random.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))

    def new_uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self._random.getrandbits(128), version=4)

    def new_secret(self) -> str:
        raw = self._random.randbytes(_SECRET_BYTES)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def new_code(self, length: int) -> str:
        return "".join(self._random.choice(CROCKFORD_ALPHABET) for _ in range(length))

    def fraction(self) -> float:
        return self._random.random()
