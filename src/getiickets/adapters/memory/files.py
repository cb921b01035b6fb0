"""``InMemoryFileStorage``: private files in a dict, reached through signed links.

It refuses what the real storages refuse (``upload_checks``) and signs links the way
the local-filesystem storage does (``signed_urls``), so a test can follow a link
through ``check_signature`` exactly as the file-serving route would.
"""

from __future__ import annotations

from datetime import timedelta

from getiickets.adapters import signed_urls
from getiickets.adapters.upload_checks import (
    DEFAULT_ALLOWED_TYPES,
    DEFAULT_MAX_BYTES,
    check_key,
    check_upload,
)
from getiickets.domain.model.errors import NotFoundError
from getiickets.ports.clock import Clock


class InMemoryFileStorage:
    def __init__(
        self,
        clock: Clock,
        signing_key: bytes,
        base_url: str,
        allowed_types: frozenset[str] = DEFAULT_ALLOWED_TYPES,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self._clock = clock
        self._signing_key = signing_key
        self._base_url = base_url
        self._allowed_types = allowed_types
        self._max_bytes = max_bytes
        self._files: dict[str, tuple[bytes, str]] = {}

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        kind = check_upload(
            data, content_type, allowed_types=self._allowed_types, max_bytes=self._max_bytes
        )
        self._files[key] = (bytes(data), kind)

    async def get(self, key: str) -> bytes:
        return self._file(key)[0]

    async def exists(self, key: str) -> bool:
        return key in self._files

    async def signed_url(self, key: str, expires_in: timedelta) -> str:
        check_key(key)
        expires = signed_urls.expiry(self._clock.now(), expires_in)
        return signed_urls.signed_url(self._base_url, self._signing_key, key, expires)

    def check_signature(self, key: str, expires: int, signature: str) -> bool:
        """Whether a link's ``expires`` and ``signature`` are genuine and not past."""
        return signed_urls.check(self._signing_key, key, expires, signature, self._clock.now())

    async def open_for_serving(self, key: str) -> tuple[bytes, str]:
        """The file's bytes and media type, for the app's signed-link route."""
        return self._file(key)

    def content_type(self, key: str) -> str:
        """The stored file's media type, for serving it."""
        return self._file(key)[1]

    def _file(self, key: str) -> tuple[bytes, str]:
        try:
            return self._files[key]
        except KeyError:
            raise NotFoundError(f"file {key} not found") from None
