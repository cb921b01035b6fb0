"""Event images are decoded before they are stored: the bytes must be an image of the
declared type, not merely start like one (a PNG signature alone passed the storages'
byte check). Pillow does the decoding, on a worker thread so the event loop stays free.

Pillow is imported there, with the first image checked: organizers upload a few images
in an event's life, and an API process that never sees one need not keep Pillow resident.
"""

from __future__ import annotations

import io

import anyio.to_thread

from getiickets.domain.model.errors import UnsupportedMediaTypeError
from getiickets.domain.model.media import media_type

_PILLOW_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
MAX_PIXELS = 50_000_000
"""Well above any poster (8000 x 6000), well below what a 5 MiB decompression bomb claims."""


async def check_image(data: bytes, content_type: str) -> None:
    """Raise ``UnsupportedMediaTypeError`` unless ``data`` decodes as ``content_type``.

    Types that are not images are left to the use case, which refuses them itself.
    """
    declared = media_type(content_type)
    pillow_format = _PILLOW_FORMATS.get(declared)
    if pillow_format is not None:
        await anyio.to_thread.run_sync(_decode, data, pillow_format, declared)


def _decode(data: bytes, pillow_format: str, declared: str) -> None:
    from PIL import Image  # noqa: PLC0415 - on first use, see above

    try:
        with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
            if image.width * image.height > MAX_PIXELS:
                raise UnsupportedMediaTypeError(f"the {declared} image has too many pixels")
            image.load()
    except UnsupportedMediaTypeError:
        raise
    # Pillow reports damaged input in many ways (OSError, SyntaxError, ValueError,
    # DecompressionBombError...); for hostile bytes every one of them means "not an image".
    except Exception as error:
        raise UnsupportedMediaTypeError(f"the body is not a valid {declared} image") from error
