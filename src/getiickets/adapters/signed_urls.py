"""Short-lived signed links to private files, for storages that have no presigning of
their own (the in-memory and local-filesystem ones; S3 presigns itself).

A link is ``{base_url}/{key}?expires={unix seconds}&signature={hex}``, where the
signature is HMAC-SHA256 under the storage's signing key of ``key``, a newline and
``expires``. The newline matters: without a separator, the link for key ``ticket1``
expiring at ``23`` would also sign key ``ticket`` expiring at ``123``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from urllib.parse import quote


def expiry(now: datetime, expires_in: timedelta) -> int:
    """The unix second a link made at ``now`` stops working (rounded up, never early)."""
    if expires_in <= timedelta(0):
        raise ValueError("a signed URL must expire in the future")
    deadline = now + expires_in
    whole = int(deadline.timestamp())
    return whole if whole == deadline.timestamp() else whole + 1


def signature(signing_key: bytes, key: str, expires: int) -> str:
    message = f"{key}\n{expires}".encode()
    return hmac.new(signing_key, message, hashlib.sha256).hexdigest()


def signed_url(base_url: str, signing_key: bytes, key: str, expires: int) -> str:
    path = quote(key, safe="/")
    return (
        f"{base_url.rstrip('/')}/{path}"
        f"?expires={expires}&signature={signature(signing_key, key, expires)}"
    )


def check(signing_key: bytes, key: str, expires: int, given: str, now: datetime) -> bool:
    """True only for an unexpired link this key signed for exactly ``key`` and ``expires``."""
    if now.timestamp() >= expires:
        return False
    # compare_digest refuses non-ASCII text with TypeError: such a signature is forged.
    return given.isascii() and hmac.compare_digest(signature(signing_key, key, expires), given)
