"""What every ``FileStorage`` checks before it stores anything.

Shared by the storages so they refuse exactly the same keys and files. The declared content
type must be on the allow-list, the bytes must start the way that type's files start
(a client's ``Content-Type`` is only a claim: a script sent as ``image/png`` is
refused), and the size must be within the limit.
"""

from __future__ import annotations

from collections.abc import Callable

from getiickets.domain.model.errors import PayloadTooLargeError, UnsupportedMediaTypeError
from getiickets.domain.model.media import MAX_IMAGE_BYTES, media_type

DEFAULT_ALLOWED_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "application/pdf"})
DEFAULT_MAX_BYTES = MAX_IMAGE_BYTES

_SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "image/png": lambda data: data.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda data: data.startswith(b"\xff\xd8\xff"),
    "image/webp": lambda data: data[:4] == b"RIFF" and data[8:12] == b"WEBP",
    "application/pdf": lambda data: data.startswith(b"%PDF-"),
}


def check_key(key: str) -> None:
    """Keys are relative paths of plain segments (``tickets/<id>/qr.png``).

    Our own code makes every key, so a bad one is a bug; refusing it everywhere keeps a
    local-filesystem storage from ever writing outside its directory.
    """
    segments = key.split("/")
    forbidden = "\\" in key or "\x00" in key
    if forbidden or not key or key.startswith("/") or any(s in {"", ".", ".."} for s in segments):
        raise ValueError(
            f"invalid file key {key!r}: use a relative path like 'tickets/<id>/qr.png'"
        )


def check_upload(
    data: bytes, content_type: str, *, allowed_types: frozenset[str], max_bytes: int
) -> str:
    """Raise unless the file may be stored; returns the normalised media type."""
    kind = media_type(content_type)
    if kind not in allowed_types:
        raise UnsupportedMediaTypeError(f"files of type {kind or 'unknown'} are not accepted")
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"the file is larger than {max_bytes} bytes")
    looks_right = _SIGNATURES.get(kind)
    # Types with no known signature (allowed by configuration) are taken at their word.
    if looks_right is not None and not looks_right(data):
        raise UnsupportedMediaTypeError(f"the file's bytes are not {kind}")
    return kind
