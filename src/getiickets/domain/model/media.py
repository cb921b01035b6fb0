"""Files as the app takes them in: what a declared type means, and how big an image may be."""

from __future__ import annotations

MAX_IMAGE_BYTES = 5 * 1024 * 1024
"""docs/http-api.md: an event image is at most 5 MiB. The largest file the app stores, so
the storages' own limit and the image route's body limit are this one."""


def media_type(content_type: str) -> str:
    """``"Image/PNG; charset=x"`` -> ``"image/png"``: parameters and case do not matter."""
    return content_type.split(";", 1)[0].strip().lower()
