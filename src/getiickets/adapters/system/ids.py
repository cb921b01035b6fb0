"""``RandomIdGenerator``: ids, tokens and codes from the operating system's CSPRNG.

Everything comes from ``secrets``: ticket numbers, order access tokens and session
tokens must be unguessable, and jitter costs nothing extra to take from the same place.
"""

from __future__ import annotations

import os
import secrets
import uuid

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Each random byte becomes the letter of its low five bits: 32 letters divide 256
# bytes evenly, so every letter is equally likely, from one call to the CSPRNG per code
# (``secrets.choice`` per letter was eight calls, a tenth of an order's id work).
_BYTE_TO_LETTER = bytes.maketrans(bytes(range(256)), CROCKFORD_ALPHABET.encode() * 8)
_SECRET_BYTES = 32  # 256 bits


class RandomIdGenerator:
    def __init__(self) -> None:
        self._random = secrets.SystemRandom()

    def new_id(self) -> str:
        # What ``uuid.uuid4().hex`` returns, without building a UUID object around 16
        # random bytes (a third of the cost; an order takes two ids or more).
        raw = bytearray(os.urandom(16))
        raw[6] = raw[6] & 0x0F | 0x40  # version 4
        raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
        return raw.hex()

    def new_uuid(self) -> uuid.UUID:
        return uuid.uuid4()

    def new_secret(self) -> str:
        return secrets.token_urlsafe(_SECRET_BYTES)

    def new_code(self, length: int) -> str:
        return secrets.token_bytes(length).translate(_BYTE_TO_LETTER).decode("ascii")

    def fraction(self) -> float:
        return self._random.random()
