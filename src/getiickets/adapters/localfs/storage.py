"""``LocalFileStorage``: private files in a local directory, for the embedded default.

Layout under ``root``: ``objects/<key>`` holds the bytes and ``types/<key>.json`` the
content type the app serves them with. The second tree is separate so that no key can
ever name another key's metadata (``a.pdf.json`` next to ``a.pdf`` would).

Links are HMAC-signed and expiring (``adapters/signed_urls``), served by the app's
file route: ``{base_url}/{key}?expires=...&signature=...``. The route calls
``check_signature`` and then ``open_for_serving``.

Every write is atomic: the bytes go to a temporary file in the destination directory,
are flushed to disk, and only then renamed over the key (``os.replace``), so a reader
sees the old file or the new one, never half of one, even if the process dies mid-way.
A key's type is written just before its bytes; replacing a key with a file of another
type can, for an instant, serve the old bytes under the new type (ticket keys never
change type).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from datetime import timedelta
from pathlib import Path

from anyio import to_thread

from getiickets.adapters import signed_urls
from getiickets.adapters.upload_checks import (
    DEFAULT_ALLOWED_TYPES,
    DEFAULT_MAX_BYTES,
    check_key,
    check_upload,
)
from getiickets.domain.model.errors import NotFoundError
from getiickets.ports.clock import Clock

_OBJECTS, _TYPES = "objects", "types"
_TYPE_SUFFIX = ".json"
_FORBIDDEN_IN_KEYS = ("\\", "\x00")
"""A backslash is a separator on Windows and NUL ends a C path: neither belongs in a key."""


class LocalFileStorage:
    def __init__(
        self,
        root: Path,
        signing_key: bytes,
        base_url: str,
        clock: Clock,
        *,
        allowed_types: frozenset[str] = DEFAULT_ALLOWED_TYPES,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        # Absolute once, so a later chdir cannot move the storage.
        self._root = root.absolute()
        self._signing_key = signing_key
        self._base_url = base_url
        self._clock = clock
        self._allowed_types = allowed_types
        self._max_bytes = max_bytes

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Raises ``ValueError`` for a key that is not a plain relative path (our code
        makes every key, so that is a bug), and the upload errors of ``check_upload``."""
        _check(key)
        kind = check_upload(
            data, content_type, allowed_types=self._allowed_types, max_bytes=self._max_bytes
        )
        await to_thread.run_sync(self._write, key, bytes(data), kind)

    async def get(self, key: str) -> bytes:
        data, _ = await self.open_for_serving(key)
        return data

    async def exists(self, key: str) -> bool:
        return await to_thread.run_sync(self._exists, key)

    async def signed_url(self, key: str, expires_in: timedelta) -> str:
        _check(key)
        expires = signed_urls.expiry(self._clock.now(), expires_in)
        return signed_urls.signed_url(self._base_url, self._signing_key, key, expires)

    def check_signature(self, key: str, expires: int, signature: str) -> bool:
        """Whether a link's ``expires`` and ``signature`` are genuine and not past."""
        return signed_urls.check(self._signing_key, key, expires, signature, self._clock.now())

    async def open_for_serving(self, key: str) -> tuple[bytes, str]:
        """The file's bytes and content type. ``NotFoundError`` for a missing key and for
        any key that is not a plain relative path: the route hands us untrusted text."""
        return await to_thread.run_sync(self._read, key)

    # ------------------------------------------------------------ in the worker thread

    def _write(self, key: str, data: bytes, content_type: str) -> None:
        type_record = json.dumps({"content_type": content_type}).encode()
        _atomic_write(self._path(_TYPES, key, _TYPE_SUFFIX), type_record)
        _atomic_write(self._path(_OBJECTS, key), data)

    def _read(self, key: str) -> tuple[bytes, str]:
        try:
            path = self._path(_OBJECTS, key)
            type_path = self._path(_TYPES, key, _TYPE_SUFFIX)
            data = path.read_bytes()
            content_type = json.loads(type_path.read_bytes())["content_type"]
        except (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError):
            # ValueError: a bad key names no file. The *Directory errors: a key that
            # runs through (or stops at) another key's directory names none either.
            raise NotFoundError(f"file {key} not found") from None
        return data, str(content_type)

    def _exists(self, key: str) -> bool:
        try:
            return self._path(_OBJECTS, key).is_file()
        except ValueError:
            return False

    def _path(self, tree: str, key: str, suffix: str = "") -> Path:
        """``root/tree/key+suffix``, proven to stay inside ``root/tree``."""
        _check(key)
        base = self._root / tree
        *folders, name = key.split("/")
        path = base.joinpath(*folders, name + suffix)
        # The key is already plain segments, but a symlink someone put inside the
        # storage could still lead out of it: compare real paths.
        try:
            inside = path.resolve().is_relative_to(base.resolve())
        except (OSError, RuntimeError):  # RuntimeError: a symlink loop
            inside = False
        if not inside:
            raise ValueError(f"file key {key!r} leads outside the storage")
        return path


def _check(key: str) -> None:
    check_key(key)
    if any(char in key for char in _FORBIDDEN_IN_KEYS):
        raise ValueError(f"invalid file key {key!r}: no backslashes or NUL characters")


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same directory as the target: os.replace is atomic only within one filesystem.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())  # on disk before the rename makes it visible
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
