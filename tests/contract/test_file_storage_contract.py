"""The ``FileStorage`` contract: one suite, every adapter, the same assertions.

Each backend comes with a ``fetch`` driver that follows a signed URL the way its
reader would: the in-memory and local storages through ``check_signature`` (what the
app's file route does), S3 with a plain HTTP GET of the presigned URL from moto's
server. What moto cannot check (signatures, expiry, ACLs) is covered by
``test_s3_adapter.py``.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import httpx
import pytest

from getiickets.adapters.localfs import LocalFileStorage
from getiickets.adapters.memory import InMemoryClock, InMemoryFileStorage
from getiickets.adapters.s3 import S3Client, S3FileStorage, create_s3_client
from getiickets.domain.model.errors import (
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from getiickets.ports.files import FileStorage
from tests.conftest import service_missing

pytestmark = pytest.mark.contract

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BASE_URL = "http://testserver/files"
SIGNING_KEY = b"contract-test-file-signing-key"
MAX_BYTES = 64 * 1024
S3_REGION = "us-east-2"  # AWS_REGION's default; outside us-east-1 buckets need a location
S3_BUCKET = "getiickets-contract"

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n" + b"1 0 obj << >> endobj\n" * 40 + b"%%EOF\n"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64

Fetch = Callable[[str], Awaitable[tuple[bytes, str]]]
"""Follow a signed URL: the bytes and the content type served, ``NotFoundError`` when
the link names no file, ``PermissionError`` when the link itself is refused."""


@dataclass
class Backend:
    storage: FileStorage
    fetch: Fetch


@dataclass(frozen=True)
class MotoS3:
    endpoint_url: str
    client: S3Client
    """The adapter's client, made once: building a boto3 client takes a tenth of a second."""
    admin: Any
    """A plain boto3 client for what the adapter never does (buckets)."""


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    """moto's S3 server on a free local port, for the whole run."""
    try:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - only S3 runs pay for it
    except ImportError as error:
        service_missing("moto S3 server", f"moto[server] is not installed: {error}")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    # start() waits forever if the server thread dies before it listens; bound the wait.
    starter = threading.Thread(target=server.start, daemon=True)
    starter.start()
    starter.join(timeout=15)
    if starter.is_alive():
        service_missing("moto S3 server", "it did not start listening within 15 s")
    host, port = server.get_host_and_port()
    endpoint_url = f"http://{host}:{port}"
    admin = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=S3_REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client = create_s3_client(S3_REGION, "testing", "testing", endpoint_url=endpoint_url)
    yield MotoS3(endpoint_url=endpoint_url, client=client, admin=admin)
    admin.close()
    server.stop()


@pytest.fixture
def s3_bucket(moto_s3: MotoS3) -> MotoS3:
    """An empty bucket: moto forgets everything, then the bucket is made again."""
    try:
        httpx.post(f"{moto_s3.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
    except httpx.HTTPError as error:
        service_missing("moto S3 server", f"reset failed: {error}")
    moto_s3.admin.create_bucket(
        Bucket=S3_BUCKET, CreateBucketConfiguration={"LocationConstraint": S3_REGION}
    )
    return moto_s3


def _signed_link(url: str) -> tuple[str, int, str]:
    """The key, ``expires`` and ``signature`` of a link made by ``adapters/signed_urls``."""
    parts = urlsplit(url)
    base_path = urlsplit(BASE_URL).path
    assert url.startswith(BASE_URL + "/")
    key = unquote(parts.path.removeprefix(base_path + "/"))
    query = parse_qs(parts.query, strict_parsing=True)
    return key, int(query["expires"][0]), query["signature"][0]


def _memory() -> Backend:
    storage = InMemoryFileStorage(InMemoryClock(START), SIGNING_KEY, BASE_URL, max_bytes=MAX_BYTES)

    async def fetch(url: str) -> tuple[bytes, str]:
        key, expires, signature = _signed_link(url)
        if not storage.check_signature(key, expires, signature):
            raise PermissionError(url)
        return await storage.get(key), storage.content_type(key)

    return Backend(storage, fetch)


def _localfs(root: Path) -> Backend:
    storage = LocalFileStorage(
        root, SIGNING_KEY, BASE_URL, InMemoryClock(START), max_bytes=MAX_BYTES
    )

    async def fetch(url: str) -> tuple[bytes, str]:
        key, expires, signature = _signed_link(url)
        if not storage.check_signature(key, expires, signature):
            raise PermissionError(url)
        return await storage.open_for_serving(key)

    return Backend(storage, fetch)


def _s3(moto: MotoS3) -> Backend:
    storage = S3FileStorage(moto.client, S3_BUCKET, max_bytes=MAX_BYTES)

    async def fetch(url: str) -> tuple[bytes, str]:
        # moto quirk (5.2): for a missing key it compares any "content-type=" in a
        # presigned URL (it also matches our response-content-type) with the request's
        # Content-Type header and answers 403 SignatureDoesNotMatch instead of 404
        # NoSuchKey. Real S3 ignores this header on a GET; sending it lets moto answer
        # as S3 does.
        served_as = parse_qs(urlsplit(url).query).get("response-content-type", [])
        headers = {"Content-Type": served_as[0]} if served_as else {}
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(url, headers=headers)
        if response.status_code == 404:
            raise NotFoundError(url)
        if response.status_code == 403:
            raise PermissionError(url)
        response.raise_for_status()
        return response.content, response.headers["content-type"]

    return Backend(storage, fetch)


@pytest.fixture(params=["memory", "localfs", pytest.param("s3-moto", marks=pytest.mark.s3)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "memory":
        yield _memory()
    elif request.param == "localfs":
        yield _localfs(tmp_path / "files")
    else:
        yield _s3(request.getfixturevalue("s3_bucket"))


FILES = [
    pytest.param("tickets/ord-1/TK-AAAA-BBBB-CCCC-DDDD-qr.png", PNG, "image/png", id="png"),
    pytest.param("tickets/ord-1/TK-AAAA-BBBB-CCCC-DDDD.pdf", PDF, "application/pdf", id="pdf"),
    # No extension: the type served must come from what was stored, not from the name.
    pytest.param("events/ev-1/image-k2v8", WEBP, "image/webp", id="no-extension"),
]


@pytest.mark.parametrize(("key", "data", "content_type"), FILES)
async def test_what_is_put_is_got_back(
    backend: Backend, key: str, data: bytes, content_type: str
) -> None:
    await backend.storage.put(key, data, content_type)

    assert await backend.storage.get(key) == data


async def test_a_key_exists_once_something_is_put_under_it(backend: Backend) -> None:
    key = "tickets/ord-1/TK-1.pdf"
    assert not await backend.storage.exists(key)

    await backend.storage.put(key, PDF, "application/pdf")

    assert await backend.storage.exists(key)
    assert not await backend.storage.exists("tickets/ord-1/TK-2.pdf")


async def test_putting_again_replaces_the_file(backend: Backend) -> None:
    key = "tickets/ord-1/TK-1-qr.png"
    await backend.storage.put(key, PNG, "image/png")

    await backend.storage.put(key, PNG + b"second render", "image/png")

    assert await backend.storage.get(key) == PNG + b"second render"


async def test_a_missing_key_is_not_found(backend: Backend) -> None:
    with pytest.raises(NotFoundError):
        await backend.storage.get("tickets/ord-404/TK-1.pdf")


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        pytest.param(b"<html><script>alert(1)</script></html>", "text/html", id="not-allowed"),
        pytest.param(b"<svg onload=alert(1)>", "image/svg+xml", id="svg"),
        pytest.param(b"", "", id="no-type"),
        pytest.param(b"<script>alert(1)</script>", "image/png", id="bytes-are-not-png"),
        pytest.param(PNG, "application/pdf", id="png-sent-as-pdf"),
    ],
)
async def test_a_refused_type_stores_nothing(
    backend: Backend, data: bytes, content_type: str
) -> None:
    key = "events/ev-1/upload"

    with pytest.raises(UnsupportedMediaTypeError):
        await backend.storage.put(key, data, content_type)

    assert not await backend.storage.exists(key)
    with pytest.raises(NotFoundError):
        await backend.storage.get(key)


async def test_a_file_over_the_size_limit_stores_nothing(backend: Backend) -> None:
    key = "tickets/ord-1/TK-1.pdf"
    too_large = PDF + b"0" * (MAX_BYTES + 1 - len(PDF))

    with pytest.raises(PayloadTooLargeError):
        await backend.storage.put(key, too_large, "application/pdf")

    assert not await backend.storage.exists(key)


async def test_a_file_of_exactly_the_size_limit_is_stored(backend: Backend) -> None:
    key = "tickets/ord-1/TK-1.pdf"
    at_limit = PDF + b"0" * (MAX_BYTES - len(PDF))

    await backend.storage.put(key, at_limit, "application/pdf")

    assert await backend.storage.get(key) == at_limit


async def test_the_content_type_is_stored_normalised(backend: Backend) -> None:
    key = "events/ev-1/image-x"
    await backend.storage.put(key, PNG, "Image/PNG; charset=binary")

    data, served_as = await backend.fetch(await backend.storage.signed_url(key, timedelta(hours=1)))

    assert (data, served_as) == (PNG, "image/png")


@pytest.mark.parametrize(
    "key",
    ["../escape.png", "/tickets/abs.png", "tickets//double.png", "tickets/./x.png", ""],
)
async def test_a_key_that_is_not_a_plain_relative_path_is_refused(
    backend: Backend, key: str
) -> None:
    with pytest.raises(ValueError, match="invalid file key"):
        await backend.storage.put(key, PNG, "image/png")


@pytest.mark.parametrize(("key", "data", "content_type"), FILES)
async def test_a_signed_url_serves_the_file_with_its_type(
    backend: Backend, key: str, data: bytes, content_type: str
) -> None:
    await backend.storage.put(key, data, content_type)

    url = await backend.storage.signed_url(key, timedelta(days=7))

    assert await backend.fetch(url) == (data, content_type)


async def test_a_signed_url_can_be_followed_again(backend: Backend) -> None:
    key = "tickets/ord-1/TK-1.pdf"
    await backend.storage.put(key, PDF, "application/pdf")
    url = await backend.storage.signed_url(key, timedelta(minutes=10))

    first = await backend.fetch(url)

    assert await backend.fetch(url) == first == (PDF, "application/pdf")


async def test_a_signed_url_to_a_missing_file_finds_nothing(backend: Backend) -> None:
    url = await backend.storage.signed_url("tickets/ord-404/TK-1.pdf", timedelta(minutes=10))

    with pytest.raises(NotFoundError):
        await backend.fetch(url)


@pytest.mark.parametrize("expires_in", [timedelta(0), timedelta(seconds=-5)])
async def test_a_signed_url_must_expire_in_the_future(
    backend: Backend, expires_in: timedelta
) -> None:
    with pytest.raises(ValueError, match="expire in the future"):
        await backend.storage.signed_url("tickets/ord-1/TK-1.pdf", expires_in)
