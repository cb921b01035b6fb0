"""Event images: the bytes must decode as an image of the declared type (docs/http-api.md: "bytes
must match the type"), not merely start like one."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.e2e.story import Api, expect_problem, paid_and_free

pytestmark = pytest.mark.e2e

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def image(kind: str, size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 90)).save(buffer, format=kind)
    return buffer.getvalue()


def upload(api: Api, body: bytes, content_type: str) -> object:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free(), publish=False)
    return api.call(
        "PUT",
        f"/api/v1/events/{event['id']}/image",
        token=organizer.token,
        content=body,
        headers={"content-type": content_type},
    )


@pytest.mark.parametrize(
    ("kind", "content_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")],
)
def test_a_real_image_of_the_declared_type_is_stored(
    api: Api, kind: str, content_type: str
) -> None:
    response = upload(api, image(kind), content_type)
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    assert response.json()["image_url"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(PNG_SIGNATURE, "image/png", id="only-the-png-signature"),
        pytest.param(PNG_SIGNATURE + b"\0" * 4096, "image/png", id="signature-then-zeros"),
        pytest.param(image("PNG")[:-30], "image/png", id="truncated-png"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"JFIF" * 100, "image/jpeg", id="only-a-jpeg-header"),
        pytest.param(b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp", id="only-a-webp-header"),
        pytest.param(image("JPEG"), "image/png", id="jpeg-sent-as-png"),
        pytest.param(image("PNG"), "image/webp", id="png-sent-as-webp"),
    ],
)
def test_bytes_that_do_not_decode_as_the_declared_type_are_refused(
    api: Api, body: bytes, content_type: str
) -> None:
    expect_problem(upload(api, body, content_type), 415, "unsupported_media_type")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "content_type", ["application/octet-stream", "text/plain", "image/gif", "application/pdf"]
)
def test_other_types_are_unsupported_whatever_the_bytes(api: Api, content_type: str) -> None:
    body = b"\xff\xd8\xff\xfe" + bytes(range(256)) * 4
    expect_problem(upload(api, body, content_type), 415, "unsupported_media_type")  # type: ignore[arg-type]
