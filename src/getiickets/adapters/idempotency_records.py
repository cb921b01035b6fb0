"""The record the HTTP entrypoint keeps per ``Idempotency-Key``, as its stores hold it.

Status codes and response bodies are HTTP's, not the domain's: no use case reads them,
so the record is no port type. It lives here, between the adapters that store it (in
memory, SQLAlchemy) and the entrypoint that uses it (``entrypoints/http/idempotency``),
because adapters may not import entrypoints.
"""

from __future__ import annotations

from datetime import datetime

import msgspec


class IdempotencyRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The first response to a request sent with an ``Idempotency-Key``."""

    scope: str
    key: str
    fingerprint: str
    """Digest of the request body: the same key with another body is a conflict."""
    status_code: int
    """0 while the first request is still running."""
    body: bytes
    created_at: datetime

    @property
    def in_progress(self) -> bool:
        return self.status_code == 0
